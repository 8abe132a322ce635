namespace DynRec.Data.Synthetic;

/// <summary>
/// The planted ground truth. Users and videos have latent factors built from
/// observable attributes, so a model can learn them from shared features and
/// not only from per-id statistics: a user's factor is the sum of factors of
/// four attributes (written as onehot_feat0..3) plus individual noise; a
/// video's is its author's factor plus its first tag's plus noise. Each tab t
/// has its own projections, so the
/// same user-video pair scores differently per tab:
///   S = u_d' P_t v (shared), L = u_d' Q_t v (long view), K = u_d' R_t v (like),
/// each scaled to unit variance; u_d = u + (d / days) w drifts over the days,
/// so recent clicks say more about the user than old ones.
/// Per-tab main effects of the video's first tag (g), its author (h) and the
/// user's first attribute (e) add signal that is easy to learn given the tab:
///   logit click     = c_t + 0.5 b_u + 0.6 b_v + 1.1 S + 0.9 g_t + 0.6 h_t + 0.6 e_t
///   logit long_view = l_t + 0.3 b_u + 0.5 b_v + 0.7 S + 0.8 L + 0.5 g_t + 0.4 h_t - 0.35 ln(duration / 20 s)
///   logit like|click= k_t + 0.4 b_v + 0.5 S + 0.9 K + 0.6 g_t + 0.6 e_t;  P(like) = P(click) P(like|click)
/// The three tasks share S (correlated) and differ by L and K (distinct).
/// </summary>
internal sealed class SyntheticWorld
{
    public const int Dim = 8;
    public const int Tabs = 5;
    private static readonly double[] ClickBias = { -0.3, -0.9, 0.2, -1.2, -0.6 };
    private static readonly double[] LongBias = { -0.8, -0.2, -1.0, -0.5, -1.4 };
    private static readonly double[] LikeBias = { -1.2, -1.8, -0.9, -2.0, -1.5 };
    /// <summary>Share of each kept tab (0, 1, 2, 4, 6) in the log, before per-user variation.</summary>
    private static readonly double[] TabShare = { 0.40, 0.25, 0.17, 0.11, 0.07 };

    public readonly int Users, Videos, Authors, Days;
    public readonly double[] UserFactor, UserDrift, UserBias, UserActivity;
    /// <summary>Cumulative tab distribution per user, [Users * Tabs].</summary>
    public readonly double[] UserTabCdf;
    public readonly double[] VideoFactor, VideoBias, VideoPopularity, VideoDurationMs;
    public readonly int[] VideoAuthor;
    /// <summary>First tag of each video (0..Tags-1).</summary>
    public readonly int[] VideoTag;
    /// <summary>User attributes [Users * Attributes], attribute c in 0..AttributeCardinality[c]-1.</summary>
    public readonly int[] UserAttribute;
    public const int Tags = 12;
    public static readonly int[] AttributeCardinality = { 4, 5, 6, 8 };
    public readonly double[] AuthorFactor;
    /// <summary>Per-tab projections P, Q, R: [Tabs * Dim * Dim] each.</summary>
    private readonly double[] _p, _q, _r;
    /// <summary>Per-tab effects of tag [Tabs * Tags], author [Tabs * Authors], user attribute 0 [Tabs * card0].</summary>
    private readonly double[] _tagTab, _authorTab, _attributeTab;
    private readonly double _sScale, _lScale, _kScale;

    public SyntheticWorld(SyntheticConfig config)
    {
        var rng = new Rng(config.Seed, 1);
        Users = config.Users;
        Videos = config.Videos;
        Authors = config.Authors;
        Days = config.Days;

        AuthorFactor = Gaussian(rng, Authors * Dim, 1.0);
        var tagFactor = Gaussian(rng, Tags * Dim, 1.0);
        VideoAuthor = new int[Videos];
        VideoTag = new int[Videos];
        VideoFactor = new double[Videos * Dim];
        VideoBias = new double[Videos];
        VideoPopularity = new double[Videos];
        VideoDurationMs = new double[Videos];
        for (var v = 0; v < Videos; v++)
        {
            var a = rng.Below(Authors);
            var tag = rng.Below(Tags);
            VideoAuthor[v] = a;
            VideoTag[v] = tag;
            for (var k = 0; k < Dim; k++)
                VideoFactor[v * Dim + k] = 0.6 * AuthorFactor[a * Dim + k] + 0.6 * tagFactor[tag * Dim + k] + 0.25 * rng.Normal();
            VideoBias[v] = 0.6 * rng.Normal();
            VideoPopularity[v] = Math.Exp(1.0 * rng.Normal() + 0.5 * VideoBias[v]);
            VideoDurationMs[v] = Math.Round(Math.Clamp(Math.Exp(Math.Log(20000) + 0.8 * rng.Normal()), 2000, 600000));
        }

        var attributes = AttributeCardinality.Length;
        var attributeFactor = AttributeCardinality.Select(c => Gaussian(rng, c * Dim, 1.0)).ToArray();
        UserAttribute = new int[Users * attributes];
        UserFactor = new double[Users * Dim];
        for (var u = 0; u < Users; u++)
        {
            for (var c = 0; c < attributes; c++) UserAttribute[u * attributes + c] = rng.Below(AttributeCardinality[c]);
            for (var k = 0; k < Dim; k++)
            {
                var sum = 0.0;
                for (var c = 0; c < attributes; c++) sum += attributeFactor[c][UserAttribute[u * attributes + c] * Dim + k];
                UserFactor[u * Dim + k] = 0.85 * sum / Math.Sqrt(attributes) + 0.25 * rng.Normal();
            }
        }
        UserDrift = Gaussian(rng, Users * Dim, 0.3);
        UserBias = Gaussian(rng, Users, 0.6);
        UserActivity = new double[Users];
        UserTabCdf = new double[Users * Tabs];
        for (var u = 0; u < Users; u++)
        {
            UserActivity[u] = Math.Exp(0.9 * rng.Normal());
            var weights = new double[Tabs];
            for (var t = 0; t < Tabs; t++) weights[t] = TabShare[t] * Math.Exp(0.7 * rng.Normal());
            var sum = weights.Sum();
            var acc = 0.0;
            for (var t = 0; t < Tabs; t++) UserTabCdf[u * Tabs + t] = acc += weights[t] / sum;
            UserTabCdf[u * Tabs + Tabs - 1] = 1.0;
        }

        _tagTab = Gaussian(rng, Tabs * Tags, 1.0);
        _authorTab = Gaussian(rng, Tabs * Authors, 1.0);
        _attributeTab = Gaussian(rng, Tabs * AttributeCardinality[0], 1.0);
        _p = Projections(rng, identity: 0.5, noise: 1.0);
        _q = Projections(rng, identity: 0.3, noise: 1.0);
        _r = Projections(rng, identity: 0.3, noise: 1.0);
        // Scale each bilinear term to unit standard deviation over random (user, video, tab, day).
        double s2 = 0, l2 = 0, k2 = 0;
        const int samples = 4096;
        for (var i = 0; i < samples; i++)
        {
            int u = rng.Below(Users), v = rng.Below(Videos), t = rng.Below(Tabs), d = rng.Below(Days);
            var (s, l, k) = Raw(u, v, t, d);
            s2 += s * s; l2 += l * l; k2 += k * k;
        }
        _sScale = 1 / Math.Sqrt(s2 / samples + 1e-12);
        _lScale = 1 / Math.Sqrt(l2 / samples + 1e-12);
        _kScale = 1 / Math.Sqrt(k2 / samples + 1e-12);
    }

    /// <summary>The kept-tab index of a user's row (by the user's tab preferences).</summary>
    public int DrawTab(int user, Rng rng)
    {
        var x = rng.Uniform();
        for (var t = 0; t < Tabs - 1; t++)
            if (x < UserTabCdf[user * Tabs + t]) return t;
        return Tabs - 1;
    }

    public double TabProbability(int user, int tab) =>
        UserTabCdf[user * Tabs + tab] - (tab == 0 ? 0 : UserTabCdf[user * Tabs + tab - 1]);

    /// <summary>True P(click), P(long_view), P(like) of user u shown video v in tab t on day d.</summary>
    public (double Click, double LongView, double Like) Probabilities(int u, int v, int t, int d)
    {
        var (s, l, k) = Raw(u, v, t, d);
        s *= _sScale; l *= _lScale; k *= _kScale;
        var g = _tagTab[t * Tags + VideoTag[v]];
        var h = _authorTab[t * Authors + VideoAuthor[v]];
        var e = _attributeTab[t * AttributeCardinality[0] + UserAttribute[u * AttributeCardinality.Length]];
        var click = Sigmoid(ClickBias[t] + 0.5 * UserBias[u] + 0.6 * VideoBias[v] + 1.1 * s + 0.9 * g + 0.6 * h + 0.6 * e);
        var longView = Sigmoid(LongBias[t] + 0.3 * UserBias[u] + 0.5 * VideoBias[v] + 0.7 * s + 0.8 * l + 0.5 * g + 0.4 * h
                               - 0.35 * Math.Log(VideoDurationMs[v] / 20000.0));
        var likeGivenClick = Sigmoid(LikeBias[t] + 0.4 * VideoBias[v] + 0.5 * s + 0.9 * k + 0.6 * g + 0.6 * e);
        return (click, longView, click * likeGivenClick);
    }

    private (double S, double L, double K) Raw(int u, int v, int t, int d)
    {
        Span<double> ud = stackalloc double[Dim];
        var drift = Days > 1 ? d / (double)(Days - 1) : 0;
        for (var k = 0; k < Dim; k++) ud[k] = UserFactor[u * Dim + k] + drift * UserDrift[u * Dim + k];
        var vf = VideoFactor.AsSpan(v * Dim, Dim);
        return (Bilinear(ud, _p, t, vf), Bilinear(ud, _q, t, vf), Bilinear(ud, _r, t, vf));
    }

    private static double Bilinear(ReadOnlySpan<double> x, double[] m, int t, ReadOnlySpan<double> y)
    {
        var acc = 0.0;
        var off = t * Dim * Dim;
        for (var i = 0; i < Dim; i++)
        {
            var row = 0.0;
            for (var j = 0; j < Dim; j++) row += m[off + i * Dim + j] * y[j];
            acc += x[i] * row;
        }
        return acc;
    }

    private static double[] Projections(Rng rng, double identity, double noise)
    {
        var m = new double[Tabs * Dim * Dim];
        for (var t = 0; t < Tabs; t++)
        for (var i = 0; i < Dim; i++)
        for (var j = 0; j < Dim; j++)
            m[(t * Dim + i) * Dim + j] = (i == j ? identity : 0) + noise * rng.Normal() / Math.Sqrt(Dim);
        return m;
    }

    private static double[] Gaussian(Rng rng, int n, double scale)
    {
        var a = new double[n];
        for (var i = 0; i < n; i++) a[i] = scale * rng.Normal();
        return a;
    }

    public static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));
}

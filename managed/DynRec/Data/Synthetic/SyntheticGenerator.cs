using DynRec.Data.KuaiRand;

namespace DynRec.Data.Synthetic;

/// <summary>
/// Writes a synthetic data set in KuaiRand's raw format (same file names and
/// columns, and the release's quirks: -124 in is_live_streamer, empty one-hot
/// cells, quoted multi-value tags, empty tags, rows of tabs outside the kept
/// set, two log files), plus oracle_test.csv with every test row's true
/// probabilities. Rows are streamed (memory is O(users + videos), not O(rows));
/// the same config gives identical bytes.
/// </summary>
public static class SyntheticGenerator
{
    public const int Version = 4;
    public const string MarkerFileName = "synthetic.json";
    private static readonly int[] DroppedTabs = { 3, 5, 7, 8, 9, 10, 11, 12, 13, 14 };

    /// <summary>True when <paramref name="folder"/> holds a finished set of exactly this config.</summary>
    public static bool IsComplete(string folder, SyntheticConfig config)
    {
        var marker = Path.Combine(folder, MarkerFileName);
        return File.Exists(marker) && File.ReadAllText(marker).Trim() == config.Describe();
    }

    /// <summary>The log files' names: days split in two halves, named by their first and last dates like the release.</summary>
    public static string[] LogFileNames(SyntheticConfig config)
    {
        var half = config.Days / 2;
        string Name(int first, int last) =>
            $"log_standard_{Day(config, first):M_dd}_to_{Day(config, last):M_dd}_synthetic.csv";
        return new[] { Name(0, half - 1), Name(half, config.Days - 1) };
    }

    private static DateOnly Day(SyntheticConfig c, int d) => c.StartDate.AddDays(d);

    public static void Generate(string folder, SyntheticConfig config)
    {
        config.Validate();
        Directory.CreateDirectory(folder);
        var marker = Path.Combine(folder, MarkerFileName);
        if (File.Exists(marker)) File.Delete(marker);  // the set is incomplete until the marker is back
        var world = new SyntheticWorld(config);
        WriteUsers(Path.Combine(folder, "user_features_synthetic.csv"), world, config);
        WriteVideos(Path.Combine(folder, "video_features_basic_synthetic.csv"), world, config);
        WriteStatistics(Path.Combine(folder, "video_features_statistic_synthetic.csv"), world, config);
        WriteLogs(folder, world, config);
        var temp = marker + ".tmp";
        File.WriteAllText(temp, config.Describe() + "\n");
        File.Move(temp, marker, overwrite: true);
    }

    private static void WriteLogs(string folder, SyntheticWorld world, SyntheticConfig config)
    {
        var rng = new Rng(config.Seed, 2);
        var users = new AliasTable(world.UserActivity);
        var videos = new AliasTable(world.VideoPopularity);
        var names = LogFileNames(config);
        var half = config.Days / 2;
        using var oracle = new CsvLineWriter(Path.Combine(folder, KuaiRandSources.OracleFileName));
        oracle.Header(OracleFile.Header.Concat(new[] { "p_is_click_tab_blind", "p_long_view_tab_blind", "p_is_like_tab_blind" }));
        for (var file = 0; file < 2; file++)
        {
            using var log = new CsvLineWriter(Path.Combine(folder, names[file]));
            log.Header(KuaiRandColumns.Log);
            for (var d = file == 0 ? 0 : half; d < (file == 0 ? half : config.Days); d++)
                WriteDay(log, d == config.Days - 1 ? oracle : null, world, config, d, rng, users, videos);
            log.Commit();
        }
        oracle.Commit();
    }

    private static void WriteDay(CsvLineWriter log, CsvLineWriter? oracle, SyntheticWorld world, SyntheticConfig config,
        int d, Rng rng, AliasTable users, AliasTable videos)
    {
        var rows = config.Rows / config.Days + (d < config.Rows % config.Days ? 1 : 0);
        var date = Day(config, d);
        var dateInt = date.Year * 10000 + date.Month * 100 + date.Day;
        // Midnight in Beijing (UTC+8), in Unix milliseconds.
        var dayStartMs = new DateTimeOffset(date.ToDateTime(TimeOnly.MinValue), TimeSpan.FromHours(8)).ToUnixTimeMilliseconds();
        for (long i = 0; i < rows; i++)
        {
            var offset = (long)((i + rng.Uniform()) * 86_400_000.0 / rows);
            var u = users.Draw(rng);
            var dropped = rng.Chance(0.03);
            var tab = world.DrawTab(u, rng);
            var rawTab = dropped ? DroppedTabs[rng.Below(DroppedTabs.Length)] : KuaiRandColumns.KeptTabs[tab];
            var isRand = rng.Chance(0.03);
            var v = isRand ? rng.Below(world.Videos) : videos.Draw(rng);
            var (pClick, pLong, pLike) = world.Probabilities(u, v, tab, d);
            var click = rng.Uniform() < pClick;
            var likeGivenClick = pClick > 0 ? pLike / pClick : 0;
            var like = click && rng.Uniform() < likeGivenClick;
            var longView = rng.Uniform() < pLong;
            var duration = (long)world.VideoDurationMs[v];
            var threshold = Math.Min(duration, 18_000);
            var playTime = longView
                ? (long)Math.Max(threshold, duration * (0.6 + 0.8 * rng.Uniform()))
                : (long)(threshold * 0.95 * rng.Uniform());
            var follow = click && rng.Chance(0.02);
            var comment = click && rng.Chance(0.03);
            var forward = click && rng.Chance(0.01);
            var hate = !click && rng.Chance(0.002);
            var profileEnter = click && rng.Chance(0.05);
            log.Int(u).Int(v).Int(dateInt).Int(offset / 3_600_000 * 100 + offset / 60_000 % 60).Int(dayStartMs + offset)
                .Int(click ? 1 : 0).Int(like ? 1 : 0).Int(follow ? 1 : 0).Int(comment ? 1 : 0).Int(forward ? 1 : 0)
                .Int(hate ? 1 : 0).Int(longView ? 1 : 0).Int(playTime).Int(duration)
                .Int(profileEnter ? rng.Below(30_000) : 0).Int(comment ? rng.Below(60_000) : 0).Int(profileEnter ? 1 : 0)
                .Int(isRand ? 1 : 0).Int(rawTab).End();
            if (oracle != null && !dropped)
            {
                // Best predictor that ignores the tab: the tab mixture of this user.
                double bc = 0, bl = 0, bk = 0;
                for (var t = 0; t < SyntheticWorld.Tabs; t++)
                {
                    var w = world.TabProbability(u, t);
                    var (c, l, k) = world.Probabilities(u, v, t, d);
                    bc += w * c; bl += w * l; bk += w * k;
                }
                oracle.Int(u).Int(v).Int(rawTab).Float((float)pClick).Float((float)pLong).Float((float)pLike)
                    .Float((float)bc).Float((float)bl).Float((float)bk).End();
            }
        }
    }

    private static readonly string[] FollowRanges = { "0", "(0,10]", "(10,50]", "(50,100]", "(100,150]", "(150,250]", "(250,500]", "500+" };
    private static readonly string[] FansRanges = { "0", "[1,10)", "[10,100)", "[100,1k)", "[1k,5k)", "[5k,1w)", "[1w,10w)" };
    private static readonly string[] FriendRanges = { "0", "[1,5)", "[5,30)", "[30,60)", "[60,120)", "[120,250)", "250+" };
    private static readonly string[] RegisterRanges = { "15-30", "31-60", "61-90", "91-180", "181-365", "366-730", "730+" };
    private static readonly int[] OneHotCardinality = { 4, 5, 6, 8, 2, 3, 5, 4, 8, 2, 50, 100, 7, 3, 10, 6, 2, 4 };

    private static void WriteUsers(string path, SyntheticWorld world, SyntheticConfig config)
    {
        var rng = new Rng(config.Seed, 3);
        var activityRank = Ranks(world.UserActivity);
        using var w = new CsvLineWriter(path);
        w.Header(KuaiRandColumns.User);
        for (var u = 0; u < world.Users; u++)
        {
            var q = activityRank[u] / (double)world.Users;
            var degree = rng.Chance(0.02) ? "UNKNOWN"
                : q > 0.75 ? "full_active" : q > 0.5 ? "high_active" : q > 0.25 ? "middle_active" : "low_active";
            var follow = (long)Math.Exp(3 + 1.5 * rng.Normal());
            var fans = rng.Chance(0.3) ? 0 : (long)Math.Exp(2 + 2 * rng.Normal());
            var friends = rng.Chance(0.2) ? 0 : (long)Math.Exp(2 + 1.2 * rng.Normal());
            var register = 15 + (long)(2000 * rng.Uniform() * rng.Uniform());
            w.Int(u).Text(degree).Int(rng.Chance(0.05) ? 1 : 0).Int(rng.Chance(0.1) ? 1 : -124).Int(rng.Chance(0.3) ? 1 : 0)
                .Int(follow).Text(FollowRanges[Bucket(follow, 0, 10, 50, 100, 150, 250, 500)])
                .Int(fans).Text(FansRanges[Bucket(fans, 0, 9, 99, 999, 4999, 9999)])
                .Int(friends).Text(FriendRanges[Bucket(friends, 0, 4, 29, 59, 119, 249)])
                .Int(register).Text(RegisterRanges[Bucket(register, 30, 60, 90, 180, 365, 730)]);
            for (var f = 0; f < OneHotCardinality.Length; f++)
            {
                if (rng.Chance(0.02)) { w.Empty(); continue; }  // the release leaves some one-hot cells empty
                // The first four are the attributes the user's taste is built from; the rest are noise.
                var value = f < SyntheticWorld.AttributeCardinality.Length
                    ? world.UserAttribute[u * SyntheticWorld.AttributeCardinality.Length + f]
                    : rng.Below(OneHotCardinality[f]);
                w.Int(value);
            }
            w.End();
        }
        w.Commit();
    }

    private static readonly string[] UploadTypes = { "ShortImport", "LongImport", "ShortCamera", "LongPicture", "Kmovie", "PictureSet", "ShareFromOtherApp" };

    private static void WriteVideos(string path, SyntheticWorld world, SyntheticConfig config)
    {
        var rng = new Rng(config.Seed, 4);
        using var w = new CsvLineWriter(path);
        w.Header(KuaiRandColumns.VideoBasic);
        for (var v = 0; v < world.Videos; v++)
        {
            // The first tag is part of the video's latent factor; a second tag is noise.
            var first = world.VideoTag[v] + 1;
            var tag = rng.Chance(0.03) ? "" : rng.Chance(0.5) ? $"{first}" : $"{first},{20 + rng.Below(60)}";
            var upload = config.StartDate.AddDays(-1 - rng.Below(60));
            var portrait = rng.Chance(0.8);
            w.Int(v).Int(world.VideoAuthor[v]).Text(rng.Chance(0.05) ? "AD" : "NORMAL").Text($"{upload:yyyy-MM-dd}")
                .Text(UploadTypes[rng.Below(UploadTypes.Length)]).Text(rng.Chance(0.02) ? "friend" : "public");
            if (rng.Chance(0.01)) w.Empty(); else w.Fixed(world.VideoDurationMs[v], 1);
            w.Int(portrait ? 720 : 1280).Int(portrait ? 1280 : 720).Int(rng.Below(100_000)).Int(rng.Below(10)).Text(tag).End();
        }
        w.Commit();
    }

    private static void WriteStatistics(string path, SyntheticWorld world, SyntheticConfig config)
    {
        var rng = new Rng(config.Seed, 5);
        var totalPopularity = world.VideoPopularity.Sum();
        using var w = new CsvLineWriter(path);
        w.Header(KuaiRandColumns.VideoStatistic);
        for (var v = 0; v < world.Videos; v++)
        {
            // Platform-wide counts: exposure follows popularity, engagement follows the video's bias.
            var shows = 1000 + (long)(50.0 * config.Rows * world.VideoPopularity[v] / totalPopularity * Math.Exp(0.3 * rng.Normal()));
            var engage = WorldSigmoid(world.VideoBias[v]);
            w.Int(v);
            for (var c = 1; c < KuaiRandColumns.VideoStatistic.Length; c++)
            {
                var name = KuaiRandColumns.VideoStatistic[c];
                if (name == "play_progress") { w.Fixed(Math.Clamp(0.3 + 0.4 * engage + 0.05 * rng.Normal(), 0, 1), 4); continue; }
                var rate = name switch
                {
                    "counts" or "show_cnt" => 1.0,
                    "show_user_num" => 0.8,
                    "play_cnt" or "play_user_num" => 0.5 * engage + 0.2,
                    "play_duration" => world.VideoDurationMs[v] * 0.4,
                    "complete_play_cnt" or "complete_play_user_num" or "valid_play_cnt" or "valid_play_user_num"
                        or "long_time_play_cnt" or "long_time_play_user_num" => 0.3 * engage,
                    "like_cnt" or "like_user_num" or "click_like_cnt" => 0.05 * engage,
                    _ => 0.005 * engage,
                };
                w.Int((long)(shows * rate * Math.Exp(0.2 * rng.Normal())));
            }
            w.End();
        }
        w.Commit();
    }

    private static double WorldSigmoid(double z) => SyntheticWorld.Sigmoid(z);

    private static int Bucket(long value, params long[] upperBounds)
    {
        var b = 0;
        while (b < upperBounds.Length && value > upperBounds[b]) b++;
        return b;
    }

    private static int[] Ranks(double[] values)
    {
        var order = Enumerable.Range(0, values.Length).OrderBy(i => values[i]).ThenBy(i => i).ToArray();
        var rank = new int[values.Length];
        for (var r = 0; r < order.Length; r++) rank[order[r]] = r;
        return rank;
    }
}

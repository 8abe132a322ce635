using System.Diagnostics;

namespace DynRec.Data.KuaiRand;

/// <summary>
/// FunRec's KuaiRand preprocessing, from raw files to a <see cref="DataSplit"/>:
/// tabs {0,1,2,4,6} -> scenarios 0..4 (other rows dropped); test = the last
/// date, train = the rest; categoricals label-encoded 1..n on TRAIN rows
/// (0 = padding/unknown); is_live_streamer -124 -> 0; one-hot missing -> max+1;
/// first tag; video_duration and statistics in 10 train-quantile buckets;
/// the last L clicked videos of the user on strictly earlier dates, most
/// recent first. Tasks is_click, long_view, is_like.
/// </summary>
public static class KuaiRandPreprocessor
{
    public static DataSplit Load(KuaiRandSources sources, LoadOptions options)
    {
        var log = options.Log;
        var clock = Stopwatch.StartNew();
        var raw = new RawLog();
        foreach (var file in sources.Logs) raw.Read(file);
        log?.Invoke($"parsed {raw.RowsRead:N0} log rows ({raw.Count:N0} kept) in {clock.Elapsed.TotalSeconds:F2}s");

        var users = FeatureTable.Read(sources.UserFeatures, "user_id", KuaiRandColumns.User,
            KuaiRandColumns.UserCategoricals.Select(c => (c, c switch
            {
                "is_live_streamer" => FeatureTable.CategoricalKind.LiveStreamer,
                _ when c.StartsWith("onehot_feat", StringComparison.Ordinal) => FeatureTable.CategoricalKind.OneHot,
                _ => FeatureTable.CategoricalKind.Plain,
            })).ToArray(), Array.Empty<string>(), Array.Empty<string>(), unescape: true);
        var videos = FeatureTable.Read(sources.VideoBasic, "video_id", KuaiRandColumns.VideoBasic,
            KuaiRandColumns.VideoCategoricals.Select(c => (c, c == "tag" ? FeatureTable.CategoricalKind.FirstTag : FeatureTable.CategoricalKind.Plain)).ToArray(),
            new[] { "video_duration" }, new[] { "author_id" }, unescape: true);
        var statColumns = sources.VideoStatistic is null ? Array.Empty<string>() : options.StatisticColumns.ToArray();
        var stats = sources.VideoStatistic is null ? null : FeatureTable.Read(sources.VideoStatistic, "video_id",
            new[] { "video_id" }, Array.Empty<(string, FeatureTable.CategoricalKind)>(), statColumns, Array.Empty<string>(), unescape: true);

        var split = Encode(sources, raw, users, videos, stats, statColumns, options);
        log?.Invoke($"preprocessed into {split.Train.Rows:N0} train + {split.Test.Rows:N0} test rows in {clock.Elapsed.TotalSeconds:F2}s");
        return split;
    }

    private static DataSplit Encode(KuaiRandSources sources, RawLog raw, FeatureTable users, FeatureTable videos,
        FeatureTable? stats, string[] statColumns, LoadOptions options)
    {
        var n = raw.Count;
        if (n == 0) throw new DataFormatException(sources.Logs[0], 0, "tab", "no row has a kept tab (0, 1, 2, 4, 6)");
        var dates = raw.Date.ToArray();
        var testDate = 0;
        foreach (var d in dates) testDate = Math.Max(testDate, d);
        var isTest = new bool[n];
        int nTest = 0;
        for (var r = 0; r < n; r++)
            if (dates[r] == testDate) { isTest[r] = true; nTest++; }
        var nTrain = n - nTest;
        if (nTrain == 0)
            throw new DataFormatException(sources.Logs[^1], 0, "date", $"every row is on date {testDate}; a train/test split needs at least two dates");

        // Rows of each split, in file order.
        var trainRows = new int[nTrain];
        var testRows = new int[nTest];
        for (int r = 0, a = 0, b = 0; r < n; r++)
            if (isTest[r]) testRows[b++] = r; else trainRows[a++] = r;

        var userDense = raw.User.Span;
        var videoDense = raw.Video.Span;

        // Entities seen on train rows define the vocabularies.
        var trainUser = new bool[raw.Users.Count];
        var trainVideo = new bool[raw.Videos.Count];
        foreach (var r in trainRows)
        {
            trainUser[userDense[r]] = true;
            trainVideo[videoDense[r]] = true;
        }
        var userId = LabelEncode(raw.Users.Count, raw.Users.Raw, trainUser, out var userVocab);
        var videoId = LabelEncode(raw.Videos.Count, raw.Videos.Raw, trainVideo, out var videoVocab);

        // Side-table rows of each dense user/video, and which table rows train rows touch.
        var userRow = new int[raw.Users.Count];
        var usedUserRow = new bool[users.Rows];
        for (var u = 0; u < userRow.Length; u++)
        {
            userRow[u] = users.RowOf(raw.Users.Raw(u));
            if (userRow[u] >= 0 && trainUser[u]) usedUserRow[userRow[u]] = true;
        }
        var videoRow = new int[raw.Videos.Count];
        var usedVideoRow = new bool[videos.Rows];
        for (var v = 0; v < videoRow.Length; v++)
        {
            videoRow[v] = videos.RowOf(raw.Videos.Raw(v));
            if (videoRow[v] >= 0 && trainVideo[v]) usedVideoRow[videoRow[v]] = true;
        }

        // author_id: a categorical of the video table, vocabulary from train videos.
        var authorRaw = videos.Integers["author_id"];
        var authorInterner = new IdInterner();
        var authorDenseOfRow = new int[videos.Rows];
        for (var r = 0; r < videos.Rows; r++) authorDenseOfRow[r] = authorInterner.Intern(authorRaw[r]);
        var trainAuthor = new bool[authorInterner.Count];
        for (var r = 0; r < videos.Rows; r++)
            if (usedVideoRow[r]) trainAuthor[authorDenseOfRow[r]] = true;
        var authorId = LabelEncode(authorInterner.Count, authorInterner.Raw, trainAuthor, out var authorVocab);
        var authorOfVideoRow = new int[videos.Rows];
        for (var r = 0; r < videos.Rows; r++) authorOfVideoRow[r] = authorId[authorDenseOfRow[r]];

        var fields = new List<SparseField>();
        var train = new List<int[]>();
        var test = new List<int[]>();

        void AddRowField(SparseField field, Func<int, int> idOfRow)
        {
            fields.Add(field);
            var a = new int[nTrain];
            for (var i = 0; i < nTrain; i++) a[i] = idOfRow(trainRows[i]);
            var b = new int[nTest];
            for (var i = 0; i < nTest; i++) b[i] = idOfRow(testRows[i]);
            train.Add(a);
            test.Add(b);
        }

        var hourMin = raw.HourMin.Span.ToArray();
        var scenario = raw.Scenario.Span.ToArray();
        var isRand = raw.IsRand.Span.ToArray();
        var uDense = userDense.ToArray();
        var vDense = videoDense.ToArray();

        AddRowField(new SparseField("user_id", userVocab, FieldGroup.User | FieldGroup.Persona), r => userId[uDense[r]]);
        AddRowField(new SparseField("video_id", videoVocab, FieldGroup.Item | FieldGroup.Persona), r => videoId[vDense[r]]);
        AddRowField(new SparseField("author_id", authorVocab, FieldGroup.Item | FieldGroup.Persona),
            r => videoRow[vDense[r]] is var vr and >= 0 ? authorOfVideoRow[vr] : 0);
        AddRowField(new SparseField("tab", KuaiRandColumns.KeptTabs.Length + 1, FieldGroup.Scenario), r => scenario[r] + 1);
        AddRowField(new SparseField("hour", 25, FieldGroup.Context), r => hourMin[r] / 100 + 1);
        AddRowField(new SparseField("is_rand", 3, FieldGroup.Context), r => isRand[r] + 1);

        foreach (var name in KuaiRandColumns.UserCategoricals)
        {
            var (ids, vocab) = users.Categoricals[name].Encode(usedUserRow);
            AddRowField(new SparseField(name, vocab, FieldGroup.User), r => userRow[uDense[r]] is var ur and >= 0 ? ids[ur] : 0);
        }
        foreach (var name in KuaiRandColumns.VideoCategoricals)
        {
            var (ids, vocab) = videos.Categoricals[name].Encode(usedVideoRow);
            AddRowField(new SparseField(name, vocab, FieldGroup.Item), r => videoRow[vDense[r]] is var vr and >= 0 ? ids[vr] : 0);
        }
        {
            var ids = videos.Numerics["video_duration"].Bucketize(usedVideoRow);
            AddRowField(new SparseField("video_duration", NumericColumn.Buckets + 1, FieldGroup.Item),
                r => videoRow[vDense[r]] is var vr and >= 0 ? ids[vr] : 0);
        }
        if (stats != null)
        {
            var statRow = new int[raw.Videos.Count];
            var usedStatRow = new bool[stats.Rows];
            for (var v = 0; v < statRow.Length; v++)
            {
                statRow[v] = stats.RowOf(raw.Videos.Raw(v));
                if (statRow[v] >= 0 && trainVideo[v]) usedStatRow[statRow[v]] = true;
            }
            foreach (var name in statColumns)
            {
                var ids = stats.Numerics[name].Bucketize(usedStatRow);
                AddRowField(new SparseField(name, NumericColumn.Buckets + 1, FieldGroup.Item),
                    r => statRow[vDense[r]] is var sr and >= 0 ? ids[sr] : 0);
            }
        }

        var len = options.SequenceLength;
        var schema = new FeatureSchema(fields, len > 0 ? new SequenceField("recent_clicked_videos", "video_id", len) : null,
            KuaiRandColumns.Tasks, "tab", KuaiRandColumns.KeptTabs.Length);

        int[]? trainSeq = null, testSeq = null;
        if (len > 0)
        {
            var encodedVideo = new int[n];
            for (var r = 0; r < n; r++) encodedVideo[r] = videoId[vDense[r]];
            var position = new int[n];
            for (var i = 0; i < nTrain; i++) position[trainRows[i]] = i;
            for (var i = 0; i < nTest; i++) position[testRows[i]] = i;
            trainSeq = new int[(long)nTrain * len];
            testSeq = new int[(long)nTest * len];
            RecentClicks.Fill(uDense, raw.Users.Count, dates, raw.TimeMs.Span, raw.Click.Span, encodedVideo, len,
                (r, seq) => seq.CopyTo((isTest[r] ? testSeq : trainSeq).AsSpan(position[r] * len, len)));
        }

        Dataset Build(int[] rows, List<int[]> sparse, int[]? seq)
        {
            float[] Label(Span<byte> src)
            {
                var a = new float[rows.Length];
                for (var i = 0; i < rows.Length; i++) a[i] = src[rows[i]];
                return a;
            }
            var labels = new[] { Label(raw.Click.Span), Label(raw.LongView.Span), Label(raw.Like.Span) };
            var sc = new int[rows.Length];
            var uid = new int[rows.Length];
            var dt = new int[rows.Length];
            for (var i = 0; i < rows.Length; i++)
            {
                var r = rows[i];
                sc[i] = scenario[r];
                uid[i] = userId[uDense[r]];
                dt[i] = dates[r];
            }
            return new Dataset(schema, rows.Length, sparse.ToArray(), labels, sc, uid, dt, seq, null);
        }

        var testSet = Build(testRows, test, testSeq);
        if (sources.Oracle != null)
        {
            var testUsers = testRows.Select(r => raw.Users.Raw(uDense[r])).ToArray();
            var testVideos = testRows.Select(r => raw.Videos.Raw(vDense[r])).ToArray();
            var oracle = OracleFile.Read(sources.Oracle, testUsers, testVideos);
            testSet = new Dataset(schema, testSet.Rows, testSet.Sparse, testSet.Labels, testSet.Scenario, testSet.UserIds,
                testSet.Dates, testSet.Sequence, oracle);
        }
        var info = new DataInfo(sources.Folder, raw.RowsRead, raw.RowsDropped, raw.Users.Count, raw.Videos.Count,
            DistinctAuthors(vDense, videoRow, authorDenseOfRow), testDate);
        return new DataSplit(schema, Build(trainRows, train, trainSeq), testSet, info);
    }

    /// <summary>Ids 1..n for the entities marked in <paramref name="inTrain"/>, in order of raw id; others 0.</summary>
    private static int[] LabelEncode(int count, Func<int, long> rawOf, bool[] inTrain, out int vocabularySize)
    {
        var vocab = Enumerable.Range(0, count).Where(i => inTrain[i]).OrderBy(rawOf).ToArray();
        var ids = new int[count];
        for (var i = 0; i < vocab.Length; i++) ids[vocab[i]] = i + 1;
        vocabularySize = vocab.Length + 1;
        return ids;
    }

    private static int DistinctAuthors(int[] videoDense, int[] videoRow, int[] authorDenseOfRow)
    {
        var seen = new HashSet<int>();
        var videoSeen = new bool[videoRow.Length];
        foreach (var v in videoDense)
        {
            if (videoSeen[v]) continue;
            videoSeen[v] = true;
            if (videoRow[v] >= 0) seen.Add(authorDenseOfRow[videoRow[v]]);
        }
        return seen.Count;
    }
}

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
/// With <see cref="LoadOptions.Encoding"/> (learned on other data, e.g. a
/// checkpoint's encoding.json) every vocabulary, bucket edge and one-hot fill
/// comes from it instead of this data's train rows, so the schema and the ids
/// are the ones the model was trained with (values it never saw are 0).
/// </summary>
public static class KuaiRandPreprocessor
{
    public static DataSplit Load(KuaiRandSources sources, LoadOptions options)
    {
        var log = options.Log;
        var clock = Stopwatch.StartNew();
        var raw = new RawLog();
        foreach (var file in sources.Logs) raw.Read(file, log);
        log?.Invoke($"parsed {raw.RowsRead:N0} log rows ({raw.Count:N0} kept) in {clock.Elapsed.TotalSeconds:F2}s");

        var tables = SideTables.Read(sources, options.StatisticColumns, options.Encoding);

        log?.Invoke($"read the side tables ({tables.Users.Rows:N0} users, {tables.Videos.Rows:N0} videos) at {clock.Elapsed.TotalSeconds:F2}s");
        var split = Encode(sources, raw, tables.Users, tables.Videos, tables.Statistics, tables.StatisticColumns, options, clock);
        log?.Invoke($"preprocessed into {split.Train.Rows:N0} train + {split.Test.Rows:N0} test rows in {clock.Elapsed.TotalSeconds:F2}s");
        return split;
    }

    private static DataSplit Encode(KuaiRandSources sources, RawLog raw, FeatureTable users, FeatureTable videos,
        FeatureTable? stats, string[] statColumns, LoadOptions options, Stopwatch clock)
    {
        void Phase(string what) => options.Log?.Invoke($"{what} at {clock.Elapsed.TotalSeconds:F2}s");
        var fitted = options.Encoding;
        var categories = new Dictionary<string, string[]>();
        var bucketEdges = new Dictionary<string, double[]>();
        (int[] Ids, int Vocab) Categorical(string name, CategoricalColumn column, bool[] used)
        {
            var (ids, vocab, values) = column.Encode(used, fitted?.CategoriesOf(name));
            categories[name] = values;
            return (ids, vocab);
        }
        int[] Buckets(string name, NumericColumn column, bool[] used)
        {
            var edges = fitted?.EdgesOf(name);
            if (edges != null && edges.Length != NumericColumn.Buckets - 1)
                throw new InvalidDataException($"the feature encoding's '{name}' has {edges.Length} bucket edges, expected {NumericColumn.Buckets - 1}");
            var (ids, learned) = column.Bucketize(used, edges);
            bucketEdges[name] = learned;
            return ids;
        }
        int[] Ids(string name, IdInterner interner, bool[] inTrain, out int vocabularySize)
        {
            var ids = IdVocabulary.Encode(interner, inTrain, fitted, name, out vocabularySize);
            categories[name] = fitted?.CategoriesOf(name) ?? IdVocabulary.VocabularyOf(ids, interner);
            return ids;
        }

        var n = raw.Count;
        // Memory: the log stays in its chunked columns (22 bytes a row), read in place by every step
        // below; only entity-sized tables, the (user, date) groups and the clicked rows' sort keys are
        // built beside it, and the last step packs the splits' records while releasing the log chunk by
        // chunk (SplitPacker), so the peak is ~the log plus its clicks, never the log plus the records.
        if (n == 0) throw new DataFormatException(sources.Logs[0], 0, "tab", "no row has a kept tab (0, 1, 2, 4, 6)");
        var testDate = 0;
        for (var r = 0; r < n; r++) testDate = Math.Max(testDate, raw.Date[r]);
        int nTest = 0;
        for (var r = 0; r < n; r++)
            if (raw.Date[r] == testDate) nTest++;
        var nTrain = n - nTest;
        bool IsTest(int r) => raw.Date[r] == testDate;
        var testLabeled = CheckImpressionLogs(raw, testDate, nTest);
        if (nTrain == 0)
            throw new DataFormatException(sources.Logs[^1], 0, "date", $"every row is on date {testDate}; a train/test split needs at least two dates");

        // Entities seen on train rows define the vocabularies.
        var trainUser = new bool[raw.Users.Count];
        var trainVideo = new bool[raw.Videos.Count];
        for (var r = 0; r < n; r++)
        {
            if (IsTest(r)) continue;
            trainUser[raw.User[r]] = true;
            trainVideo[raw.Video[r]] = true;
        }
        var userId = Ids("user_id", raw.Users, trainUser, out var userVocab);
        var videoId = Ids("video_id", raw.Videos, trainVideo, out var videoVocab);

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
        var authorId = Ids("author_id", authorInterner, trainAuthor, out var authorVocab);
        var authorOfVideoRow = new int[videos.Rows];
        for (var r = 0; r < videos.Rows; r++) authorOfVideoRow[r] = authorId[authorDenseOfRow[r]];

        var userIds = new List<(SparseField Field, int[] IdOfEntity)>();
        var itemIds = new List<(SparseField Field, int[] IdOfEntity)>();
        int[] Gather(int[] idOfTableRow, int[] tableRowOfEntity) =>
            tableRowOfEntity.Select(tr => tr >= 0 ? idOfTableRow[tr] : 0).ToArray();

        userIds.Add((new SparseField("user_id", userVocab, FieldGroup.User | FieldGroup.Persona), userId));
        foreach (var name in KuaiRandColumns.UserCategoricals)
        {
            var (ids, vocab) = Categorical(name, users.Categoricals[name], usedUserRow);
            userIds.Add((new SparseField(name, vocab, FieldGroup.User), Gather(ids, userRow)));
        }

        itemIds.Add((new SparseField("video_id", videoVocab, FieldGroup.Item | FieldGroup.Persona), videoId));
        itemIds.Add((new SparseField("author_id", authorVocab, FieldGroup.Item | FieldGroup.Persona), Gather(authorOfVideoRow, videoRow)));
        foreach (var name in KuaiRandColumns.VideoCategoricals)
        {
            var (ids, vocab) = Categorical(name, videos.Categoricals[name], usedVideoRow);
            itemIds.Add((new SparseField(name, vocab, FieldGroup.Item), Gather(ids, videoRow)));
        }
        itemIds.Add((new SparseField("video_duration", NumericColumn.Buckets + 1, FieldGroup.Item),
            Gather(Buckets("video_duration", videos.Numerics["video_duration"], usedVideoRow), videoRow)));
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
                itemIds.Add((new SparseField(name, NumericColumn.Buckets + 1, FieldGroup.Item),
                    Gather(Buckets(name, stats.Numerics[name], usedStatRow), statRow)));
        }

        // Context fields: the tab (the scenario field), the hour of hourmin, is_rand.
        var contextFields = new[]
        {
            new SparseField("tab", KuaiRandColumns.KeptTabs.Length + 1, FieldGroup.Scenario),
            new SparseField("hour", 25, FieldGroup.Context),
            new SparseField("is_rand", 3, FieldGroup.Context),
        };
        var len = options.SequenceLength;
        var schema = new FeatureSchema(userIds.Select(x => x.Field).Concat(itemIds.Select(x => x.Field)).Concat(contextFields).ToArray(),
            len > 0 ? new SequenceField("recent_clicked_videos", "video_id", len) : null,
            KuaiRandColumns.Tasks, "tab", KuaiRandColumns.KeptTabs.Length);

        var userTable = RowMajor(userIds.Select(x => x.IdOfEntity).ToArray(), raw.Users.Count);
        var itemTable = RowMajor(itemIds.Select(x => x.IdOfEntity).ToArray(), raw.Videos.Count);

        float[][]? oracle = null;
        if (sources.Oracle != null)
        {
            var testRows = Enumerable.Range(0, n).Where(IsTest).ToArray();
            var testUsers = testRows.Select(r => raw.Users.Raw(raw.User[r])).ToArray();
            var testVideos = testRows.Select(r => raw.Videos.Raw(raw.Video[r])).ToArray();
            oracle = OracleFile.Read(sources.Oracle, testUsers, testVideos);
        }
        var info = new DataInfo(sources.Folder, raw.RowsRead, raw.RowsDropped, raw.Users.Count, raw.Videos.Count,
            DistinctAuthors(raw.Video, videoRow, authorDenseOfRow), testDate);

        Phase("encoded the vocabularies and entity features");
        UserDateGroups? groups = null;
        var sequences = Array.Empty<int>();
        if (len > 0)
        {
            groups = UserDateGroups.Build(new RawClickLog(raw));
            sequences = RecentClicks.Build(new RawClickLog(raw), groups, videoId, len);
            Phase($"built {groups.Count:N0} (user, date) click sequences");
        }
        var packed = SplitPacker.Pack(raw, groups, testDate, nTest, contextFields.Select(f => f.VocabularySize).ToArray());

        var fu = userIds.Count;
        var fi = itemIds.Count;
        var keys = new EntityKeys(raw.Users.RawValues(), raw.Videos.RawValues(), KuaiRandColumns.KeptTabs.Select(t => (long)t).ToArray());
        var train = new Dataset(schema, fu, fi, packed.Train, userTable, itemTable, sequences, null, keys, packed.TrainTimes);
        var test = new Dataset(schema, fu, fi, packed.Test, userTable, itemTable, sequences, oracle, keys, packed.TestTimes, testLabeled);
        return new DataSplit(schema, train, test,
            info, fitted ?? new FeatureEncoding(categories, bucketEdges, users.MissingFill, DataFormat.KuaiRand));
    }

    /// <summary>
    /// Impression logs (files without feedback columns) hold the rows to score: all on the last date, which
    /// then has no labeled rows. Returns whether the test rows (the last date) are labeled.
    /// </summary>
    private static bool CheckImpressionLogs(RawLog raw, int testDate, int nTest)
    {
        var unlabeledTest = 0;
        foreach (var f in raw.Files.Where(f => !f.Labeled))
            for (var r = f.FirstRow; r < f.FirstRow + f.Rows; r++)
            {
                if (raw.Date[r] != testDate)
                    throw new DataFormatException(f.Path, 0, "date",
                        $"this file has no feedback columns, so its rows are impressions to score; they must all be on the last date ({testDate}), the scored day, but one is on {raw.Date[r]}");
                unlabeledTest++;
            }
        if (unlabeledTest > 0 && unlabeledTest < nTest)
        {
            var path = raw.Files.First(f => !f.Labeled).Path;
            throw new DataFormatException(path, 0, "date",
                $"the last date ({testDate}) mixes labeled rows and this impression log's rows; keep the day to score in impression logs only");
        }
        return unlabeledTest == 0;
    }

    /// <summary>Columns of ids per entity -> one row-major record per entity.</summary>
    private static int[] RowMajor(int[][] columns, int entities)
    {
        var table = new int[(long)entities * columns.Length];
        for (var c = 0; c < columns.Length; c++)
        {
            var col = columns[c];
            for (var e = 0; e < entities; e++) table[(long)e * columns.Length + c] = col[e];
        }
        return table;
    }

    private static int DistinctAuthors(ChunkedColumn<int> videoDense, int[] videoRow, int[] authorDenseOfRow)
    {
        var seen = new HashSet<int>();
        var videoSeen = new bool[videoRow.Length];
        for (var r = 0; r < videoDense.Count; r++)
        {
            var v = videoDense[r];
            if (videoSeen[v]) continue;
            videoSeen[v] = true;
            if (videoRow[v] >= 0) seen.Add(authorDenseOfRow[videoRow[v]]);
        }
        return seen.Count;
    }
}

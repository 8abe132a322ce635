namespace DynRec.Data.KuaiRand;

/// <summary>
/// The user and item fields of a model's schema for any user or video of a
/// KuaiRand folder's side tables, encoded with a fitted encoding (a
/// checkpoint's encoding.json) exactly as the preprocessor encodes rows of
/// that folder: user_id / video_id / author_id by the encoding's vocabularies,
/// the table categoricals by theirs, video_duration and the statistics by its
/// bucket edges. A user or video the tables lack gets its vocabulary id (0 if
/// the model never saw it) and 0 for every table feature, as in `predict`.
/// Built once (the tables are read and encoded whole, then dropped); lookups
/// only read, so one instance serves concurrent callers.
/// </summary>
public sealed class KuaiRandEntityFeatures
{
    private readonly VocabularyField _userId, _videoId;
    private readonly TableFields _users, _videos, _statistics;

    private KuaiRandEntityFeatures(VocabularyField userId, VocabularyField videoId, TableFields users, TableFields videos,
        TableFields statistics, int[] contextPositions)
    {
        _userId = userId;
        _videoId = videoId;
        _users = users;
        _videos = videos;
        _statistics = statistics;
        ContextPositions = contextPositions;
    }

    /// <summary>Columns of the schema's sparse fields this class does not fill (the per-impression context: tab, hour, is_rand).</summary>
    public int[] ContextPositions { get; }

    /// <summary>
    /// Reads the side tables of <paramref name="folder"/> (user_features, video_features_basic and, when the schema
    /// has statistic fields, video_features_statistic; no log needed) for the fields of <paramref name="schema"/>.
    /// A schema field that is neither a KuaiRand user or video feature nor a context field is an InvalidDataException.
    /// </summary>
    public static KuaiRandEntityFeatures Load(string folder, FeatureSchema schema, FeatureEncoding encoding)
    {
        var names = schema.SparseFields.Select(f => f.Name).ToArray();
        // A model trained on a table folder may share KuaiRand's field names (dynrec data to-table) but not its
        // encoding (missing one-hot values are id 0 there, not FunRec's max + 1): its features cannot be rebuilt here.
        if (names.Any(n => KuaiRandColumns.UserOneHot.Contains(n) && !encoding.MissingFill.ContainsKey(n)))
            throw new InvalidDataException("the model was trained on a table folder, not on KuaiRand-format data; score it with "
                + "TableScorer (`dynrec score` picks it from the checkpoint's encoding)");
        var sources = KuaiRandSources.Find(folder, requireLogs: false);
        var statColumns = names.Where(n => n != "video_id" && KuaiRandColumns.VideoStatistic.Contains(n)).ToArray();
        if (statColumns.Length > 0 && !sources.HasVideoStatistic)
            throw new DataFormatException(Path.Combine(folder, KuaiRandColumns.VideoStatisticPattern), 0, null,
                $"no file matches this pattern, but the model uses video statistics ({string.Join(", ", statColumns)})");
        var tables = SideTables.Read(sources, statColumns, encoding);

        int Position(string name) => Array.IndexOf(names, name) is var p and >= 0
            ? p : throw new InvalidDataException($"the model has no '{name}' field; it was not trained on KuaiRand-format data");
        var userId = new VocabularyField(Position("user_id"), encoding.IntegerIdsOf("user_id"));
        var videoId = new VocabularyField(Position("video_id"), encoding.IntegerIdsOf("video_id"));

        var userColumns = new List<(int Position, int[] IdOfRow)>();
        var videoColumns = new List<(int Position, int[] IdOfRow)>();
        var statisticColumns = new List<(int Position, int[] IdOfRow)>();
        var context = new List<int>();
        var noRows = Array.Empty<bool>();  // with a fitted vocabulary or edges no train rows are consulted
        for (var p = 0; p < names.Length; p++)
        {
            var name = names[p];
            if (name is "user_id" or "video_id") continue;
            if (tables.Users.Categoricals.TryGetValue(name, out var userColumn))
                userColumns.Add((p, userColumn.Encode(noRows, encoding.CategoriesOf(name)).Ids));
            else if (tables.Videos.Categoricals.TryGetValue(name, out var videoColumn))
                videoColumns.Add((p, videoColumn.Encode(noRows, encoding.CategoriesOf(name)).Ids));
            else if (name == "author_id")
                videoColumns.Add((p, AuthorIds(tables.Videos, encoding)));
            else if (tables.Videos.Numerics.TryGetValue(name, out var duration))
                videoColumns.Add((p, duration.Bucketize(noRows, Edges(encoding, name)).Ids));
            else if (tables.Statistics != null && tables.Statistics.Numerics.TryGetValue(name, out var statistic))
                statisticColumns.Add((p, statistic.Bucketize(noRows, Edges(encoding, name)).Ids));
            else if ((schema.SparseFields[p].Groups & (FieldGroup.User | FieldGroup.Item)) == 0)
                context.Add(p);
            else
                throw new InvalidDataException($"the model's field '{name}' is not a KuaiRand user or video feature");
        }
        return new KuaiRandEntityFeatures(userId, videoId,
            TableFields.Of(userColumns, tables.Users), TableFields.Of(videoColumns, tables.Videos),
            tables.Statistics is null ? TableFields.Empty : TableFields.Of(statisticColumns, tables.Statistics),
            context.ToArray());
    }

    /// <summary>The encoded user_id of a raw user id (0: the model never saw this user).</summary>
    public int UserId(long rawUserId) => _userId.IdOf(rawUserId);

    /// <summary>The encoded video_id of a raw video id (0: the model never saw this video).</summary>
    public int VideoId(long rawVideoId) => _videoId.IdOf(rawVideoId);

    /// <summary>Writes the user fields of <paramref name="rawUserId"/> into their columns of a sparse row.</summary>
    public void WriteUser(long rawUserId, Span<long> sparseRow)
    {
        sparseRow[_userId.Position] = _userId.IdOf(rawUserId);
        _users.Write(rawUserId, sparseRow);
    }

    /// <summary>Writes the item fields of <paramref name="rawVideoId"/> into their columns of a sparse row.</summary>
    public void WriteItem(long rawVideoId, Span<long> sparseRow)
    {
        sparseRow[_videoId.Position] = _videoId.IdOf(rawVideoId);
        _videos.Write(rawVideoId, sparseRow);
        _statistics.Write(rawVideoId, sparseRow);
    }

    private static double[] Edges(FeatureEncoding encoding, string name)
    {
        var edges = encoding.EdgesOf(name);
        if (edges.Length != NumericColumn.Buckets - 1)
            throw new InvalidDataException($"the feature encoding's '{name}' has {edges.Length} bucket edges, expected {NumericColumn.Buckets - 1}");
        return edges;
    }

    private static int[] AuthorIds(FeatureTable videos, FeatureEncoding encoding)
    {
        var idOfRaw = encoding.IntegerIdsOf("author_id");
        var raw = videos.Integers["author_id"].Span;
        var ids = new int[raw.Length];
        for (var r = 0; r < ids.Length; r++) ids[r] = idOfRaw.GetValueOrDefault(raw[r]);
        return ids;
    }

    private sealed record VocabularyField(int Position, Dictionary<long, int> Ids)
    {
        public int IdOf(long raw) => Ids.GetValueOrDefault(raw);
    }

    /// <summary>Fields read from one side table: row-major id records per table row, found by the table's key.</summary>
    private sealed class TableFields(int[] positions, int[] records, IReadOnlyDictionary<long, int> rowOfId)
    {
        public static readonly TableFields Empty = new([], [], new Dictionary<long, int>());

        public static TableFields Of(List<(int Position, int[] IdOfRow)> columns, FeatureTable table)
        {
            var rows = table.Rows;
            var records = new int[(long)rows * columns.Count];
            for (var c = 0; c < columns.Count; c++)
            {
                var ids = columns[c].IdOfRow;
                for (var r = 0; r < rows; r++) records[(long)r * columns.Count + c] = ids[r];
            }
            return new TableFields(columns.Select(c => c.Position).ToArray(), records, table.RowOfId);
        }

        public void Write(long key, Span<long> sparseRow)
        {
            if (positions.Length == 0) return;
            var row = rowOfId.TryGetValue(key, out var r) ? r : -1;
            for (var k = 0; k < positions.Length; k++)
                sparseRow[positions[k]] = row < 0 ? 0 : records[(long)row * positions.Length + k];
        }
    }
}

using System.Diagnostics;
using System.Globalization;
using DynRec.Data.KuaiRand;

namespace DynRec.Data.Table;

/// <summary>
/// A table folder (<see cref="TableSchema"/>) to a <see cref="DataSplit"/>, by the same recipe as
/// KuaiRand's: test = the rows of the last date, train = the rest; the user and item ids (integers or
/// text, <see cref="TableIdColumn"/>), the scenarios and every categorical feature label-encoded 1..n on the train rows (0 = missing or
/// unseen); numeric features cut into 10 buckets at the train rows' deciles (missing = 0). Fields
/// in schema order: the user, the item, then the user, item and context features and the scenario
/// field, each feature stored per row (a user's features may change from row to row). With a
/// <see cref="TableHistory"/>, each row's click history as KuaiRand's sequence feature. With <see cref="LoadOptions.Encoding"/> every vocabulary and bucket edge comes from it,
/// as for KuaiRand.
/// </summary>
public static class TablePreprocessor
{
    /// <summary>The predictions' name for a row's position in the table's files (0-based, in read order).</summary>
    public const string SourceRowColumn = "source_row";

    public static DataSplit Load(TableSchema schema, LoadOptions options)
    {
        var clock = Stopwatch.StartNew();
        var table = TableLog.Read(schema, options.Log);
        options.Log?.Invoke($"parsed {table.Count:N0} rows of {schema.Files.Count} file(s) in {clock.Elapsed.TotalSeconds:F2}s");
        var split = Encode(schema, table, options.Encoding);
        options.Log?.Invoke($"preprocessed into {split.Train.Rows:N0} train + {split.Test.Rows:N0} test rows in {clock.Elapsed.TotalSeconds:F2}s");
        return split;
    }

    private static DataSplit Encode(TableSchema schema, TableLog table, FeatureEncoding? fitted)
    {
        var n = table.Count;
        var testDate = 0;
        for (var r = 0; r < n; r++) testDate = Math.Max(testDate, table.Date[r]);
        var isTrain = new bool[n];
        var nTest = 0;
        for (var r = 0; r < n; r++)
            if (table.Date[r] == testDate) nTest++;
            else isTrain[r] = true;
        if (nTest == n)
            throw new DataFormatException(schema.Files[^1], 0, schema.Date, $"every row is on date {testDate}; a train/test split needs at least two dates");
        var testLabeled = CheckImpressions(table, testDate, nTest);

        var categories = new Dictionary<string, string[]>();
        var bucketEdges = new Dictionary<string, double[]>();
        int[] Ids(TableIdColumn column, out int vocabulary)
        {
            var inTrain = new bool[column.Count];
            for (var r = 0; r < n; r++)
                if (isTrain[r]) inTrain[column.Rows[r]] = true;
            var ids = column.Encode(inTrain, fitted, out var values);
            categories[column.Name] = values;
            vocabulary = values.Length + 1;
            return ids;
        }

        var userId = Ids(table.Users, out var userVocab);
        var itemId = schema.Item == null ? Array.Empty<int>() : Ids(table.Items, out _);
        var itemVocab = schema.Item == null ? 0 : categories[schema.Item].Length + 1;
        var scenarioId = Ids(table.Scenarios, out var scenarioVocab);
        CheckScenarios(schema, table, scenarioId, fitted != null);
        var scenarioCount = scenarioVocab - 1;

        FieldGroup Flags(string field, FieldGroup group) => group | (schema.Persona.Contains(field) ? FieldGroup.Persona : 0);
        var featureIds = new List<ChunkedColumn<int>>();
        var contextFields = new List<SparseField>();
        void Features(IEnumerable<string> names, FieldGroup group)
        {
            foreach (var name in names)
            {
                if (table.Numerics.TryGetValue(name, out var numeric))
                {
                    var edges = fitted?.EdgesOf(name);
                    if (edges != null && edges.Length != NumericColumn.Buckets - 1)
                        throw new InvalidDataException($"the feature encoding's '{name}' has {edges.Length} bucket edges, expected {NumericColumn.Buckets - 1}");
                    var (ids, learned) = numeric.Bucketize(isTrain, edges);  // releases the values as it goes
                    bucketEdges[name] = learned;
                    featureIds.Add(ids);
                    contextFields.Add(new SparseField(name, NumericColumn.Buckets + 1, Flags(name, group)));
                }
                else
                {
                    var column = table.Categoricals[name];
                    var values = column.EncodeInPlace(isTrain, fitted?.CategoriesOf(name));
                    categories[name] = values;
                    featureIds.Add(column.Rows);
                    contextFields.Add(new SparseField(name, values.Length + 1, Flags(name, group)));
                }
            }
        }
        Features(schema.UserFeatures, FieldGroup.User);
        Features(schema.ItemFeatures, FieldGroup.Item);
        Features(schema.ContextFeatures, FieldGroup.Context);
        contextFields.Add(new SparseField(schema.Scenario, scenarioCount + 1, FieldGroup.Scenario));

        var fields = new List<SparseField> { new(schema.User, userVocab, Flags(schema.User, FieldGroup.User)) };
        if (schema.Item != null) fields.Add(new SparseField(schema.Item, itemVocab, Flags(schema.Item, FieldGroup.Item)));
        fields.AddRange(contextFields);
        var history = schema.History;
        var featureSchema = new FeatureSchema(fields, history == null ? null : new SequenceField(history.Name, schema.Item!, history.Length),
            schema.Tasks, schema.Scenario, scenarioCount);
        var clicks = History(schema, table, itemId);

        var (train, test) = Pack(table, featureSchema, userId, itemId, scenarioId, featureIds, clicks, testDate, nTest, categories[schema.Scenario],
            contextFields.Select(f => f.VocabularySize).ToArray(), testLabeled);
        var info = new DataInfo(Path.GetDirectoryName(schema.Path)!, n, 0, table.Users.Count, table.Items.Count, 0, testDate);
        return new DataSplit(featureSchema, train, test, info, fitted ?? new FeatureEncoding(categories, bucketEdges, new Dictionary<string, string>(), DataFormat.Table));
    }

    /// <summary>The (user, date) groups and their click sequences of the schema's history (none: no groups, no sequences).</summary>
    private static (UserDateGroups? Groups, int[] Sequences) History(TableSchema schema, TableLog table, int[] itemId)
    {
        if (schema.History is not { } h) return (null, []);
        var log = new TableClickLog(table, schema.Tasks.ToList().IndexOf(h.Task));
        var groups = UserDateGroups.Build(log);
        return (groups, RecentClicks.Build(log, groups, itemId, h.Length));
    }

    private static (Dataset Train, Dataset Test) Pack(TableLog table, FeatureSchema schema, int[] userId, int[] itemId, int[] scenarioId,
        List<ChunkedColumn<int>> featureIds, (UserDateGroups? Groups, int[] Sequences) clicks, int testDate, int nTest, string[] scenarioVocabulary, int[] contextVocabularies, bool testLabeled)
    {
        var s = table.Schema;
        var n = table.Count;
        var tasks = s.Tasks.Count;
        int firstDate = int.MaxValue, lastTrainDate = int.MinValue;
        for (var r = 0; r < n; r++)
        {
            var d = table.Date[r];
            firstDate = Math.Min(firstDate, d);
            if (d != testDate) lastTrainDate = Math.Max(lastTrainDate, d);
        }
        var users = table.Users.Count;
        var scenarioCount = scenarioVocabulary.Length;
        var items = s.Item == null ? 0 : table.Items.Count;
        PackedRows Records(int rows, int from, int to) =>
            new(rows, Dataset.RecordRanges(users, items, Math.Max(1, clicks.Groups?.Count ?? 1), scenarioCount, from, to, contextVocabularies, tasks));
        var train = Records(n - nTest, firstDate, lastTrainDate);
        var test = Records(nTest, testDate, testDate);
        var trainRows = new RowTimes.Builder(n - nTest, 0, n - 1);
        var testRows = new RowTimes.Builder(nTest, 0, n - 1);

        var context = new int[contextVocabularies.Length];
        var labels = new int[tasks];
        // Every per-row column, to release each 2^20-row chunk once its rows are packed.
        var columns = new List<Action<int>> { table.Date.ReleaseChunk, table.Users.Rows.ReleaseChunk, table.Scenarios.Rows.ReleaseChunk };
        if (items > 0) columns.Add(table.Items.Rows.ReleaseChunk);
        if (table.Time != null) columns.Add(table.Time.ReleaseChunk);
        columns.AddRange(table.Labels.Select(l => (Action<int>)l.ReleaseChunk));
        columns.AddRange(featureIds.Select(f => (Action<int>)f.ReleaseChunk));
        int iTrain = 0, iTest = 0;
        for (var r = 0; r < n; r++)
        {
            for (var k = 0; k < featureIds.Count; k++) context[k] = featureIds[k][r];
            var scenarioIndex = scenarioId[table.Scenarios.Rows[r]] - 1;  // every row's scenario has an id (CheckScenarios)
            context[featureIds.Count] = scenarioIndex + 1;
            for (var t = 0; t < tasks; t++) labels[t] = table.Labels[t][r];
            var date = table.Date[r];
            var isTest = date == testDate;
            var user = table.Users.Rows[r];
            var group = clicks.Groups?.Of(user, date) ?? 0;
            Dataset.WriteRecord(isTest ? test : train, isTest ? iTest++ : iTrain++, user, items == 0 ? 0 : table.Items.Rows[r], group,
                scenarioIndex, date, context, labels);
            (isTest ? testRows : trainRows).Add(r);
            if ((r & ChunkedColumn<int>.Mask) == ChunkedColumn<int>.Mask || r == n - 1)
                foreach (var release in columns) release(r >> ChunkedColumn<int>.Shift);
        }
        var userTable = userId;                       // one field per user entity: its id
        var itemTable = items == 0 ? Array.Empty<int>() : itemId;
        var keys = new EntityKeys(table.Users.RawValues(), s.Item == null ? RawIds.None : table.Items.RawValues(),
            ScenarioValues(scenarioVocabulary), new KeyColumns(s.User, s.Item, SourceRowColumn, s.Date, s.Scenario));
        var trainSet = new Dataset(schema, 1, items == 0 ? 0 : 1, train, userTable, itemTable, clicks.Sequences, null, keys, trainRows.Finish());
        var testSet = new Dataset(schema, 1, items == 0 ? 0 : 1, test, userTable, itemTable, clicks.Sequences, null, keys, testRows.Finish(), testLabeled);
        return (trainSet, testSet);
    }

    /// <summary>
    /// Scenario index k is vocabulary entry k (id k + 1): integers when every entry is an integer in plain decimal
    /// ("3", not "03"), else text.
    /// </summary>
    private static RawIds ScenarioValues(string[] vocabulary)
    {
        var numbers = new long[vocabulary.Length];
        for (var k = 0; k < vocabulary.Length; k++)
            if (!long.TryParse(vocabulary[k], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out numbers[k])
                || numbers[k].ToString(CultureInfo.InvariantCulture) != vocabulary[k])
                return new RawIds(vocabulary);
        return new RawIds(numbers);
    }

    /// <summary>
    /// Every row's scenario must be one the model has a slot for: seen on a train row (or in the fitted
    /// encoding). Names the first row of an unknown one.
    /// </summary>
    private static void CheckScenarios(TableSchema schema, TableLog table, int[] scenarioId, bool fitted)
    {
        for (var d = 0; d < scenarioId.Length; d++)
        {
            if (scenarioId[d] > 0) continue;
            var (file, line) = table.ScenarioFirstSeen[d];
            var raw = table.Scenarios.Raw(d).ToString();
            throw new DataFormatException(file, line, schema.Scenario, fitted
                ? $"scenario {raw} is not one the model was trained on; each scenario has its own parameters, so it cannot be scored"
                : $"scenario {raw} occurs only on the last date (the test split); every scenario needs training rows");
        }
    }

    /// <summary>
    /// Files without task columns hold impressions to score: all on the last date, which then has no
    /// labeled rows. Returns whether the test rows are labeled.
    /// </summary>
    private static bool CheckImpressions(TableLog table, int testDate, int nTest)
    {
        var unlabeled = 0;
        foreach (var f in table.Files.Where(f => !f.Labeled))
            for (var r = f.FirstRow; r < f.FirstRow + f.Rows; r++)
            {
                if (table.Date[r] != testDate)
                    throw new DataFormatException(f.Path, 0, table.Schema.Date,
                        $"this file has none of the task columns, so its rows are impressions to score; they must all be on the last date ({testDate}), but one is on {table.Date[r]}");
                unlabeled++;
            }
        if (unlabeled > 0 && unlabeled < nTest)
            throw new DataFormatException(table.Files.First(f => !f.Labeled).Path, 0, table.Schema.Date,
                $"the last date ({testDate}) mixes labeled rows and impressions to score; keep the day to score in files without task columns only");
        return unlabeled == 0;
    }
}

namespace DynRec.Data.KuaiRand;

/// <summary>
/// Turns the parsed log into the train and test splits' row records and times (rows of the test
/// date to the test split, the others to train, each in log order) in one pass that releases
/// every chunk of the log once its rows are packed: the records grow as the log shrinks, so the
/// two are never both whole in memory.
/// </summary>
internal static class SplitPacker
{
    public sealed record Packed(PackedRows Train, PackedRows Test, RowTimes TrainTimes, RowTimes TestTimes);

    /// <param name="groups">the rows' (user, date) sequence groups, or null without a sequence (group 0).</param>
    /// <param name="contextVocabularies">vocabulary sizes of the context fields tab, hour, is_rand.</param>
    public static Packed Pack(RawLog raw, UserDateGroups? groups, int testDate, int nTest, IReadOnlyList<int> contextVocabularies)
    {
        var n = raw.Count;
        var nTrain = n - nTest;
        int firstDate = int.MaxValue;
        long minTime = long.MaxValue, maxTime = long.MinValue;
        for (var r = 0; r < n; r++)
        {
            firstDate = Math.Min(firstDate, raw.Date[r]);
            var t = raw.TimeMs[r];
            if (t < minTime) minTime = t;
            if (t > maxTime) maxTime = t;
        }
        PackedRows Records(int rows, int fromDate, int toDate) => new(rows, Dataset.RecordRanges(raw.Users.Count, raw.Videos.Count,
            groups?.Count ?? 1, KuaiRandColumns.KeptTabs.Length, fromDate, toDate, contextVocabularies, KuaiRandColumns.Tasks.Length));
        var train = Records(nTrain, firstDate, testDate - 1);
        var test = Records(nTest, testDate, testDate);
        // Both splits' times count from the whole log's first time_ms (narrow when the log's range fits).
        var trainTimes = new RowTimes.Builder(nTrain, minTime, maxTime);
        var testTimes = new RowTimes.Builder(nTest, minTime, maxTime);

        Span<int> context = stackalloc int[3];
        Span<int> labels = stackalloc int[3];
        int iTrain = 0, iTest = 0;
        for (var r = 0; r < n; r++)
        {
            var date = raw.Date[r];
            var user = raw.User[r];
            var flags = raw.Flags[r];
            var scenario = RawLog.Flag.Scenario(flags);
            context[0] = scenario + 1;
            context[1] = raw.Hour[r] + 1;
            context[2] = RawLog.Flag.Bit(flags, RawLog.Flag.IsRand) + 1;
            labels[0] = RawLog.Flag.Bit(flags, RawLog.Flag.Click);
            labels[1] = RawLog.Flag.Bit(flags, RawLog.Flag.LongView);
            labels[2] = RawLog.Flag.Bit(flags, RawLog.Flag.Like);
            var group = groups?.Of(user, date) ?? 0;
            var isTest = date == testDate;
            Dataset.WriteRecord(isTest ? test : train, isTest ? iTest++ : iTrain++, user, raw.Video[r], group, scenario, date,
                context, labels);
            (isTest ? testTimes : trainTimes).Add(raw.TimeMs[r]);
            if ((r & ChunkedColumn<int>.Mask) == ChunkedColumn<int>.Mask) raw.ReleaseChunk(r >> ChunkedColumn<int>.Shift);
        }
        if (iTrain != nTrain || iTest != nTest)
            throw new InvalidOperationException($"packed {iTrain} train + {iTest} test rows, expected {nTrain} + {nTest}");
        for (var k = 0; k < raw.User.ChunkCount; k++) raw.ReleaseChunk(k);
        return new Packed(train, test, trainTimes.Finish(), testTimes.Finish());
    }
}

using DynRec.Data;

namespace DynRec.Tests.Data;

/// <summary>
/// The hand-written fixture kuairand_small (real KuaiRand columns and quirks):
/// 12 log rows in two files, 3 of them in dropped tabs (3, 7, 5); dates
/// 0408-0409 train, 0410 test; users 10, 20, 30 in train and 40 only in test;
/// videos 100, 200, 300 in train and 400 only in test.
/// </summary>
[TestFixture]
public class KuaiRandLoaderTests
{
    private DataSplit _split = null!;

    [OneTimeSetUp]
    public void Load() => _split = DataFixtures.LoadUncached(DataFixtures.Folder("kuairand_small"));

    private int[] Train(string field) => _split.Train.Column(field);
    private int[] Test(string field) => _split.Test.Column(field);

    [Test]
    public void CountsRowsUsersVideosAuthorsAndDroppedTabs()
    {
        var s = DataStats.Of(_split);
        Assert.Multiple(() =>
        {
            Assert.That(s.RowsRead, Is.EqualTo(12));
            Assert.That(s.RowsDroppedByTab, Is.EqualTo(3));
            Assert.That(s.TrainRows, Is.EqualTo(6));
            Assert.That(s.TestRows, Is.EqualTo(3));
            Assert.That(s.Users, Is.EqualTo(4));
            Assert.That(s.Videos, Is.EqualTo(4));
            Assert.That(s.Authors, Is.EqualTo(3));
            Assert.That(s.TestDate, Is.EqualTo(20220410));
            Assert.That(s.TrainRowsPerScenario, Is.EqualTo(new long[] { 2, 1, 1, 1, 1 }));
            Assert.That(s.TestRowsPerScenario, Is.EqualTo(new long[] { 1, 1, 1, 0, 0 }));
            Assert.That(s.TrainPositives["is_click"], Is.EqualTo(4));
            Assert.That(s.TrainPositives["long_view"], Is.EqualTo(2));
            Assert.That(s.TrainPositives["is_like"], Is.EqualTo(2));
            Assert.That(s.TestPositives["is_click"], Is.EqualTo(1));
            Assert.That(s.Oracle, Is.Null);
        });
    }

    [Test]
    public void LogFilesConcatenateInSortedNameOrderAndRowsKeepFileOrder()
    {
        Assert.That(Enumerable.Range(0, _split.Train.Rows).Select(_split.Train.DateOf),
            Is.EqualTo(new[] { 20220408, 20220408, 20220408, 20220409, 20220409, 20220409 }));
        // Train rows in file order: users 10, 10, 20, 10, 30, 20 (ids by sorted raw id: 10->1, 20->2, 30->3).
        Assert.That(Train("user_id"), Is.EqualTo(new[] { 1, 1, 2, 1, 3, 2 }));
        Assert.That(Enumerable.Range(0, _split.Train.Rows).Select(_split.Train.UserIdOf), Is.EqualTo(Train("user_id")));
    }

    [Test]
    public void RowKeysAreTheRawLogValues()
    {
        // Test rows (date 0410, tab 5 dropped): the log's own user_id, video_id, time_ms, date and tab,
        // including user 40 and video 400 that are outside the train vocabularies (encoded 0).
        Assert.That(Enumerable.Range(0, _split.Test.Rows).Select(_split.Test.KeyOf), Is.EqualTo(new[]
        {
            new RowKey(10, 400, 1649602800000, 20220410, 0),
            new RowKey(20, 100, 1649520000000, 20220410, 2),
            new RowKey(40, 200, 1649571300000, 20220410, 1),
        }));
        Assert.That(Test("user_id")[2], Is.Zero);
        Assert.That(_split.Train.KeyOf(3), Is.EqualTo(new RowKey(10, 300, 1649469600000, 20220409, 4)));
        Assert.That(_split.Train.KeyOf(4), Is.EqualTo(new RowKey(30, 200, 1649475000000, 20220409, 6)));
    }

    [Test]
    public void TabsBecomeScenariosZeroToFourAndTheTabField()
    {
        Assert.That(_split.Train.ScenarioColumn(), Is.EqualTo(new[] { 0, 1, 2, 3, 4, 0 }));
        Assert.That(Train("tab"), Is.EqualTo(new[] { 1, 2, 3, 4, 5, 1 }));
        Assert.That(_split.Test.ScenarioColumn(), Is.EqualTo(new[] { 0, 2, 1 }));
        Assert.That(_split.Schema.ScenarioField, Is.EqualTo("tab"));
        Assert.That(_split.Schema.ScenarioCount, Is.EqualTo(5));
    }

    [Test]
    public void VocabulariesComeFromTrainRowsAndUnseenTestValuesAreZero()
    {
        var schema = _split.Schema;
        Assert.Multiple(() =>
        {
            Assert.That(schema["user_id"].VocabularySize, Is.EqualTo(4));
            Assert.That(schema["video_id"].VocabularySize, Is.EqualTo(4));
            Assert.That(schema["author_id"].VocabularySize, Is.EqualTo(3));  // authors 7, 8 of train videos
            // Test rows: (10, 400), (20, 100), (40, 200): user 40 and video 400 (author 9) are unseen.
            Assert.That(Test("user_id"), Is.EqualTo(new[] { 1, 2, 0 }));
            Assert.That(Test("video_id"), Is.EqualTo(new[] { 0, 1, 2 }));
            Assert.That(Test("author_id"), Is.EqualTo(new[] { 0, 1, 1 }));
            // user_active_degree: train users have full_active, high_active; user 40's UNKNOWN is unseen.
            Assert.That(schema["user_active_degree"].VocabularySize, Is.EqualTo(3));
            Assert.That(Test("user_active_degree"), Is.EqualTo(new[] { 1, 2, 0 }));
        });
    }

    [Test]
    public void LiveStreamerMinus124IsZeroAndOneHotMissingIsMaxPlusOne()
    {
        // is_live_streamer: users 10, 30 have -124 (= "0"), user 20 has 1: ids "0"->1, "1"->2.
        Assert.That(Train("is_live_streamer"), Is.EqualTo(new[] { 1, 1, 2, 1, 1, 2 }));
        // onehot_feat0: 1, 2, missing, 0 -> missing = max + 1 = 3; train values "1","2","3" -> 1, 2, 3.
        Assert.That(Train("onehot_feat0"), Is.EqualTo(new[] { 1, 1, 2, 1, 3, 2 }));
        Assert.That(Test("onehot_feat0"), Is.EqualTo(new[] { 1, 2, 0 }));  // user 40's 0 is not a train value
        // onehot_feat1: missing, 0, 3, 1 -> missing = 4; train values "0","3","4" -> 1, 2, 3.
        Assert.That(Train("onehot_feat1"), Is.EqualTo(new[] { 3, 3, 1, 3, 2, 1 }));
        Assert.That(_split.Schema["onehot_feat1"].VocabularySize, Is.EqualTo(4));
    }

    [Test]
    public void TagUsesTheFirstTagAndEmptyIsZero()
    {
        // Train videos 100 ("12,65"), 200 (""), 300 ("3"): vocabulary "12" -> 1, "3" -> 2.
        Assert.That(_split.Schema["tag"].VocabularySize, Is.EqualTo(3));
        Assert.That(Train("tag"), Is.EqualTo(new[] { 1, 0, 1, 2, 0, 0 }));
        Assert.That(Test("tag"), Is.EqualTo(new[] { 1, 1, 0 }));  // video 400 has tag 12 too
    }

    [Test]
    public void VideoDurationIsBucketedByTrainQuantilesAndMissingIsZero()
    {
        // Train durations: 100 -> 10000, 200 -> 20000, 300 -> missing. Deciles 11000..19000.
        Assert.That(Train("video_duration"), Is.EqualTo(new[] { 1, 10, 1, 0, 10, 10 }));
        Assert.That(Test("video_duration"), Is.EqualTo(new[] { 10, 1, 10 }));
    }

    [Test]
    public void HourComesFromHourMin()
    {
        Assert.That(Train("hour"), Is.EqualTo(new[] { 9, 9, 10, 11, 12, 13 }));
        Assert.That(Test("hour"), Is.EqualTo(new[] { 24, 1, 15 }));
        Assert.That(Train("is_rand"), Is.EqualTo(new[] { 1, 1, 1, 2, 1, 1 }));
    }

    [Test]
    public void SequenceHoldsClicksOfStrictlyEarlierDatesMostRecentFirst()
    {
        int[] Seq(Dataset d, int row) => d.SequenceOf(row)[..4].ToArray();
        var train = _split.Train;
        var test = _split.Test;
        Assert.Multiple(() =>
        {
            Assert.That(Seq(train, 0), Is.EqualTo(new[] { 0, 0, 0, 0 }));  // user 10 on the first date
            Assert.That(Seq(train, 1), Is.EqualTo(new[] { 0, 0, 0, 0 }));  // same date: its own clicks are not history
            Assert.That(Seq(train, 3), Is.EqualTo(new[] { 2, 1, 0, 0 }));  // user 10, 0409: clicked 100 then 200 on 0408
            Assert.That(Seq(train, 5), Is.EqualTo(new[] { 0, 0, 0, 0 }));  // user 20: 0408 click was in dropped tab 3
            Assert.That(Seq(test, 0), Is.EqualTo(new[] { 3, 2, 1, 0 }));   // user 10 on the test date
            Assert.That(Seq(test, 1), Is.EqualTo(new[] { 2, 0, 0, 0 }));   // user 20: clicked 200 on 0409
            Assert.That(Seq(test, 2), Is.EqualTo(new[] { 0, 0, 0, 0 }));   // user 40: no history
            Assert.That(train.SequenceOf(0).Length, Is.EqualTo(20));
        });
    }

    [Test]
    public void SchemaMarksPersonaScenarioAndGroupsFieldsUserItemContext()
    {
        var schema = _split.Schema;
        var names = schema.SparseFields.Select(f => f.Name).ToArray();
        Assert.That(schema.FieldsIn(FieldGroup.Persona).Select(i => names[i]), Is.EqualTo(new[] { "user_id", "video_id", "author_id" }));
        Assert.That(schema.FieldsIn(FieldGroup.Scenario).Select(i => names[i]), Is.EqualTo(new[] { "tab" }));
        Assert.That(schema.Tasks, Is.EqualTo(new[] { "is_click", "long_view", "is_like" }));
        Assert.That(schema.Sequence!.SharesVocabularyWith, Is.EqualTo("video_id"));
        Assert.That(names, Does.Not.Contain("show_cnt"), "no statistic fields without a statistic file");
        // Every id is inside its vocabulary.
        for (var f = 0; f < names.Length; f++)
            Assert.That(Train(names[f]).Concat(Test(names[f])), Has.All.InRange(0, schema.SparseFields[f].VocabularySize - 1), names[f]);
    }

    [Test]
    public void StatisticColumnsAreBucketedByTrainQuantiles()
    {
        var split = DataFixtures.LoadUncached(DataFixtures.Folder("kuairand_stats"));
        Assert.That(split.Schema.IndexOf("show_cnt"), Is.GreaterThan(0));
        // show_cnt of train videos 100, 200, 300: 10, 20, 30 -> deciles 12..28; video 400 (40) lands in the top bucket.
        Assert.That(split.Train.Column("show_cnt"), Is.EqualTo(new[] { 1, 5, 1, 10, 5, 5 }));
        Assert.That(split.Test.Column("show_cnt"), Is.EqualTo(new[] { 10, 1, 5 }));
        // like_cnt is empty for video 300: bucket 0.
        Assert.That(split.Train.Column("like_cnt")[3], Is.EqualTo(0));
        Assert.That(split.Schema["show_cnt"].VocabularySize, Is.EqualTo(11));
    }
}

using DynRec.Data;

namespace DynRec.Tests.Data;

/// <summary>
/// The click sequence of every row of random logs against a naive reference: the user's clicks
/// (kept tabs only) on strictly earlier dates, ordered by (date, time_ms, log order), the last L,
/// most recent first. The logs are shuffled (not in time order), reuse time_ms values (ties),
/// spread each user over two part files, include dropped tabs and videos the train rows never
/// show, and use L = 3 so most histories wrap around.
/// </summary>
public class RecentClicksTests
{
    private const string Header =
        "user_id,video_id,date,hourmin,time_ms,is_click,is_like,is_follow,is_comment,is_forward,is_hate,long_view,play_time_ms,duration_ms,profile_stay_time,comment_stay_time,is_profile_enter,is_rand,tab";

    private sealed record Row(int User, int Video, int Date, long Time, bool Click, int Tab, int Order);

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    [TestCase(4)]
    [TestCase(5)]
    public void EveryRowMatchesTheNaiveHistory(int seed)
    {
        const int length = 3;
        var rng = new Random(seed);
        int[] users = { 10, 20, 30, 40, 50 };  // 50 has no user_features row
        int[] videos = { 100, 200, 300, 400, 500, 600 };
        int[] tabs = { 0, 1, 2, 4, 6, 3 };      // 3 is dropped
        int[] dates = { 20220408, 20220409, 20220410, 20220411, 20220412 };
        var rows = new List<Row>();
        for (var i = 0; i < 400; i++)
        {
            var date = dates[rng.Next(dates.Length)];
            // Few distinct times per date, so equal time_ms values are common.
            var time = 1649376000000L + (date - 20220408) * 86_400_000L + rng.Next(6) * 1000;
            rows.Add(new Row(users[rng.Next(users.Length)], videos[rng.Next(videos.Length)], date, time, rng.Next(3) > 0,
                tabs[rng.Next(tabs.Length)], 0));
        }
        // Video 600 only on the last (test) date: it has no train id, so it enters sequences as 0.
        rows.Add(new Row(10, 600, 20220412, 1649721600000, true, 0, 0));

        var dir = DataFixtures.Copy("kuairand_small");
        try
        {
            foreach (var f in Directory.GetFiles(dir, "log_standard_*.csv")) File.Delete(f);
            // Two part files, each shuffled; read in name order, so log order = part 1 then part 2.
            var parts = new[] { rows.Where((_, i) => i % 2 == 0).ToList(), rows.Where((_, i) => i % 2 == 1).ToList() };
            var ordered = new List<Row>();
            for (var p = 0; p < 2; p++)
            {
                var part = parts[p].OrderBy(_ => rng.Next()).ToList();
                File.WriteAllLines(Path.Combine(dir, $"log_standard_4_08_to_4_12_part{p + 1}.csv"),
                    new[] { Header }.Concat(part.Select(r =>
                        $"{r.User},{r.Video},{r.Date},1200,{r.Time},{(r.Click ? 1 : 0)},0,0,0,0,0,0,800,10000,0,0,0,0,{r.Tab}")));
                ordered.AddRange(part);
            }
            var kept = ordered.Where(r => r.Tab != 3).Select((r, i) => r with { Order = i }).ToList();

            var split = DataSource.Load(dir, new LoadOptions { UseCache = false, SequenceLength = length });
            var videoIds = split.Encoding.CategoriesOf("video_id").Select((raw, i) => (raw, id: i + 1))
                .ToDictionary(x => int.Parse(x.raw), x => x.id);
            int[] Expected(Row row)
            {
                var history = kept.Where(c => c.User == row.User && c.Click && c.Date < row.Date)
                    .OrderBy(c => c.Date).ThenBy(c => c.Time).ThenBy(c => c.Order)
                    .Select(c => videoIds.GetValueOrDefault(c.Video)).ToList();
                return Enumerable.Range(0, length).Select(k => k < history.Count ? history[history.Count - 1 - k] : 0).ToArray();
            }

            var testDate = kept.Max(r => r.Date);
            var train = kept.Where(r => r.Date != testDate).ToList();
            var test = kept.Where(r => r.Date == testDate).ToList();
            Assert.That(split.Train.Rows, Is.EqualTo(train.Count));
            Assert.That(split.Test.Rows, Is.EqualTo(test.Count));
            var wrapped = 0;
            foreach (var (d, expectedRows) in new[] { (split.Train, train), (split.Test, test) })
                for (var i = 0; i < d.Rows; i++)
                {
                    Assert.That(d.KeyOf(i).TimeMs, Is.EqualTo(expectedRows[i].Time), $"row {i} is not the log's row");
                    var expected = Expected(expectedRows[i]);
                    Assert.That(d.SequenceOf(i).ToArray(), Is.EqualTo(expected), $"row {i}: {expectedRows[i]}");
                    if (kept.Count(c => c.User == expectedRows[i].User && c.Click && c.Date < expectedRows[i].Date) > length) wrapped++;
                }
            Assert.That(wrapped, Is.GreaterThan(100), "most histories are longer than the sequence");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

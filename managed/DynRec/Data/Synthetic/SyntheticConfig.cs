namespace DynRec.Data.Synthetic;

/// <summary>
/// Shape and seed of a synthetic KuaiRand-format data set. The default is
/// sized to train in minutes on 2 CPU cores: ~300k train rows (10 days) and
/// ~30k test rows (the 11th day), 2,000 users, 1,000 videos, 250 authors:
/// ~150 impressions per user and ~300 per video.
/// </summary>
public sealed record SyntheticConfig
{
    public static readonly SyntheticConfig Default = new();

    public ulong Seed { get; init; } = 42;
    public int Users { get; init; } = 2000;
    public int Videos { get; init; } = 1000;
    public int Days { get; init; } = 11;
    public long Rows { get; init; } = 660_000;

    /// <summary>First date of the log (yyyy-mm-dd); KuaiRand starts on 2022-04-08.</summary>
    public DateOnly StartDate { get; init; } = new(2022, 4, 8);

    public int Authors => Math.Max(1, Videos / 4);

    public void Validate()
    {
        if (Users < 1) throw new ArgumentException($"users must be >= 1, got {Users}");
        if (Videos < 1) throw new ArgumentException($"videos must be >= 1, got {Videos}");
        if (Days is < 2 or > 150) throw new ArgumentException($"days must be in 2..150 (the last day is the test set), got {Days}");
        if (Rows < Days) throw new ArgumentException($"rows must be >= days ({Days}), got {Rows}");
    }

    /// <summary>One line that identifies the set (the generator writes it to synthetic.json).</summary>
    public string Describe() =>
        $"{{\"seed\":{Seed},\"users\":{Users},\"videos\":{Videos},\"days\":{Days},\"rows\":{Rows},\"start\":\"{StartDate:yyyy-MM-dd}\",\"generator_version\":{SyntheticGenerator.Version}}}";
}

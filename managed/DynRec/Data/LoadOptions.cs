using DynRec.Data.KuaiRand;
using DynRec.Data.Synthetic;

namespace DynRec.Data;

/// <summary>How <see cref="DataSource.Load"/> finds, preprocesses and caches data.</summary>
public sealed record LoadOptions
{
    /// <summary>Length of the recent-clicks sequence feature.</summary>
    public int SequenceLength { get; init; } = 20;

    /// <summary>video_features_statistic columns to bucketize (used only when that file exists).</summary>
    public IReadOnlyList<string> StatisticColumns { get; init; } = KuaiRandColumns.DefaultStatistics;

    /// <summary>Read and write the binary cache.</summary>
    public bool UseCache { get; init; } = true;

    /// <summary>Where the cache file goes; null = next to the sources.</summary>
    public string? CacheDirectory { get; init; }

    /// <summary>Where the synthetic set is generated; null = ~/.cache/dynrec/synthetic-SEED-ROWS.</summary>
    public string? SyntheticDirectory { get; init; }

    /// <summary>The synthetic set's shape and seed.</summary>
    public SyntheticConfig Synthetic { get; init; } = SyntheticConfig.Default;

    /// <summary>
    /// Encode with this (a checkpoint's encoding.json) instead of learning vocabularies, bucket edges and
    /// one-hot fills from the data's own train rows; null = learn them.
    /// </summary>
    public FeatureEncoding? Encoding { get; init; }

    /// <summary>Progress lines (parse, cache hit/miss, generation); null = quiet.</summary>
    public Action<string>? Log { get; init; }
}

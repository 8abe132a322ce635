using System.IO.Hashing;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace DynRec.Data;

/// <summary>
/// What preprocessing learned from the training rows, so that other data can
/// be encoded exactly as the model saw its training data: for every
/// label-encoded field the raw values in id order (id = index + 1, 0 =
/// unknown; ids such as user_id as decimal text), the 9 bucket edges of every
/// quantile-bucketed numeric field, and the value a missing one-hot feature
/// stands for (FunRec's max + 1). Saved as encoding.json in every checkpoint;
/// `eval` and `predict` encode their --data with it.
/// </summary>
public sealed class FeatureEncoding
{
    public const int FormatVersion = 1;
    public const string FileName = "encoding.json";

    public FeatureEncoding(IReadOnlyDictionary<string, string[]> categories, IReadOnlyDictionary<string, double[]> bucketEdges,
        IReadOnlyDictionary<string, string> missingFill, DataFormat? format = null)
    {
        Categories = categories;
        BucketEdges = bucketEdges;
        MissingFill = missingFill;
        // Encodings written before the format was recorded: KuaiRand's always has one-hot fills, a table's none.
        Format = format ?? (missingFill.Count > 0 ? DataFormat.KuaiRand : DataFormat.Table);
    }

    /// <summary>The kind of data it was learned from, which says how a request's features are rebuilt for scoring.</summary>
    public DataFormat Format { get; }

    /// <summary>Field -> raw values, the value of id k at index k - 1.</summary>
    public IReadOnlyDictionary<string, string[]> Categories { get; }

    /// <summary>Field -> ascending bucket edges; a value v gets id 1 + #(edges &lt; v), missing 0.</summary>
    public IReadOnlyDictionary<string, double[]> BucketEdges { get; }

    /// <summary>One-hot field -> the raw value a missing cell is read as.</summary>
    public IReadOnlyDictionary<string, string> MissingFill { get; }

    /// <summary>The values of a label-encoded field; a field the encoding lacks is an error naming it.</summary>
    public string[] CategoriesOf(string field) => Categories.TryGetValue(field, out var v)
        ? v
        : throw new InvalidDataException($"the feature encoding has no vocabulary for '{field}' (it was fitted on data with other features)");

    public double[] EdgesOf(string field) => BucketEdges.TryGetValue(field, out var v)
        ? v
        : throw new InvalidDataException($"the feature encoding has no bucket edges for '{field}' (it was fitted on data with other features)");

    /// <summary>Raw value -> id (1-based) of a field's vocabulary.</summary>
    public Dictionary<string, int> IdsOf(string field)
    {
        var values = CategoriesOf(field);
        var ids = new Dictionary<string, int>(values.Length, StringComparer.Ordinal);
        for (var i = 0; i < values.Length; i++) ids[values[i]] = i + 1;
        return ids;
    }

    /// <summary>
    /// Raw integer id -> id (1-based) of an id field's vocabulary (user_id, video_id, author_id: values are
    /// the raw ids as decimal text); a value that is not an integer is an error naming it.
    /// </summary>
    public Dictionary<long, int> IntegerIdsOf(string field)
    {
        var values = CategoriesOf(field);
        var ids = new Dictionary<long, int>(values.Length);
        for (var i = 0; i < values.Length; i++)
        {
            if (!long.TryParse(values[i], System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var raw))
                throw new InvalidDataException($"the feature encoding lists '{values[i]}' as a {field}; ids are integers");
            ids[raw] = i + 1;
        }
        return ids;
    }

    /// <summary>A short hash of the JSON form (names the preprocessed-data cache of data encoded with it).</summary>
    public string Fingerprint() => Convert.ToHexString(XxHash3.Hash(Encoding.UTF8.GetBytes(ToJson()))).ToLowerInvariant();

    private sealed record Document(
        [property: JsonRequired] int Format,
        [property: JsonRequired] Dictionary<string, string[]> Categories,
        [property: JsonRequired] Dictionary<string, double[]> BucketEdges,
        [property: JsonRequired] Dictionary<string, string> MissingFill,
        string? Data = null);

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };

    public string ToJson() => JsonSerializer.Serialize(new Document(FormatVersion,
        Categories.OrderBy(p => p.Key, StringComparer.Ordinal).ToDictionary(p => p.Key, p => p.Value),
        BucketEdges.OrderBy(p => p.Key, StringComparer.Ordinal).ToDictionary(p => p.Key, p => p.Value),
        MissingFill.OrderBy(p => p.Key, StringComparer.Ordinal).ToDictionary(p => p.Key, p => p.Value),
        Format == DataFormat.Table ? "table" : "kuairand"), Json);

    /// <summary>Parses an encoding; anything malformed is an InvalidDataException naming <paramref name="source"/>.</summary>
    public static FeatureEncoding FromJson(string json, string source)
    {
        Document? d;
        try
        {
            d = JsonSerializer.Deserialize<Document>(json, Json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: not a feature encoding: {e.Message}");
        }
        if (d == null) throw new InvalidDataException($"{source}: not a feature encoding (null)");
        if (d.Format != FormatVersion) throw new InvalidDataException($"{source}: feature encoding format {d.Format}, expected {FormatVersion}");
        // Collections' own entries are not covered by RespectNullableAnnotations.
        foreach (var (field, values) in d.Categories)
        {
            if (values == null) throw new InvalidDataException($"{source}: the vocabulary of '{field}' is null");
            if (values.Any(v => v == null)) throw new InvalidDataException($"{source}: '{field}' has a null value");
            if (values.Distinct(StringComparer.Ordinal).Count() != values.Length) throw new InvalidDataException($"{source}: '{field}' lists a value twice");
        }
        foreach (var (field, edges) in d.BucketEdges)
        {
            if (edges == null) throw new InvalidDataException($"{source}: the bucket edges of '{field}' are null");
            for (var i = 1; i < edges.Length; i++)
                if (!(edges[i - 1] <= edges[i])) throw new InvalidDataException($"{source}: bucket edges of '{field}' are not ascending");
        }
        if (d.MissingFill.Values.Any(v => v == null)) throw new InvalidDataException($"{source}: a missing-value fill is null");
        DataFormat? format = d.Data switch
        {
            null => null,
            "kuairand" => DataFormat.KuaiRand,
            "table" => DataFormat.Table,
            _ => throw new InvalidDataException($"{source}: data '{d.Data}' is not kuairand or table"),
        };
        return new FeatureEncoding(d.Categories, d.BucketEdges, d.MissingFill, format);
    }

    public static FeatureEncoding Read(string path) => FromJson(File.ReadAllText(path), path);
}

/// <summary>The two source formats: KuaiRand's log + side tables, and table folders (dynrec-table.yaml).</summary>
public enum DataFormat { KuaiRand, Table }

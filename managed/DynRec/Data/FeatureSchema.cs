namespace DynRec.Data;

/// <summary>Roles a categorical field plays in the models (a field may have several).</summary>
[Flags]
public enum FieldGroup
{
    None = 0,
    /// <summary>Describes the user (user_id, user_active_degree, onehot_feat*, ...).</summary>
    User = 1,
    /// <summary>Describes the item (video_id, author_id, video_type, tag, statistics buckets, ...).</summary>
    Item = 2,
    /// <summary>Context of the impression (e.g. hour).</summary>
    Context = 4,
    /// <summary>PEPNet's persona: user_id, video_id, author_id.</summary>
    Persona = 8,
    /// <summary>The scenario (KuaiRand's tab, re-encoded 0..4).</summary>
    Scenario = 16,
}

/// <summary>One categorical field: ids are 0..VocabularySize-1, 0 = padding/unknown.</summary>
public sealed record SparseField(string Name, int VocabularySize, FieldGroup Groups);

/// <summary>
/// A variable-length id sequence (recent clicked videos), right-padded with 0
/// to MaxLength; it shares the vocabulary (and embedding table) of another field.
/// </summary>
public sealed record SequenceField(string Name, string SharesVocabularyWith, int MaxLength);

/// <summary>
/// What the models need to know about the data: the categorical fields (in
/// column order of <see cref="Batch.Sparse"/>), the sequence field, the tasks
/// (column order of <see cref="Batch.Labels"/>) and the scenario count.
/// </summary>
public sealed class FeatureSchema
{
    public FeatureSchema(IReadOnlyList<SparseField> sparseFields, SequenceField? sequence, IReadOnlyList<string> tasks,
        string scenarioField, int scenarioCount)
    {
        SparseFields = sparseFields;
        Sequence = sequence;
        Tasks = tasks;
        ScenarioField = scenarioField;
        ScenarioCount = scenarioCount;
        if (IndexOf(scenarioField) < 0) throw new ArgumentException($"scenario field '{scenarioField}' is not a sparse field");
        if (sequence != null && IndexOf(sequence.SharesVocabularyWith) < 0)
            throw new ArgumentException($"sequence field shares the vocabulary of unknown field '{sequence.SharesVocabularyWith}'");
    }

    public IReadOnlyList<SparseField> SparseFields { get; }
    public SequenceField? Sequence { get; }
    public IReadOnlyList<string> Tasks { get; }
    public string ScenarioField { get; }
    public int ScenarioCount { get; }

    /// <summary>Column of a field in <see cref="Batch.Sparse"/>, or -1.</summary>
    public int IndexOf(string name)
    {
        for (var i = 0; i < SparseFields.Count; i++)
            if (SparseFields[i].Name == name) return i;
        return -1;
    }

    public SparseField this[string name] => IndexOf(name) is var i and >= 0
        ? SparseFields[i]
        : throw new KeyNotFoundException($"no sparse field '{name}'");

    /// <summary>Indices of the fields in a group, in column order.</summary>
    public int[] FieldsIn(FieldGroup group) =>
        Enumerable.Range(0, SparseFields.Count).Where(i => (SparseFields[i].Groups & group) != 0).ToArray();
}

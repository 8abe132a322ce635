namespace DynRec.Serving;

/// <summary>
/// One scoring request for a model trained on a table folder: the cells shared by every candidate
/// (<see cref="Context"/>: the user, the scenario, context features...) and each candidate's own cells
/// (the item and its features), by the table's column names. Every column the model reads must be in
/// one of the two, as its CSV cell text ("u7", "10.5", "home"); null or "" is a missing value (as an
/// empty cell). Cells are encoded with the checkpoint's encoding exactly as the table loader encodes a row.
/// </summary>
public sealed record TableRequest
{
    public IReadOnlyDictionary<string, string?> Context { get; init; } = new Dictionary<string, string?>();
    public required IReadOnlyList<IReadOnlyDictionary<string, string?>> Candidates { get; init; }
    /// <summary>
    /// For a model trained with a history (the table's <c>history</c>): the user's items of that history's task, most
    /// recent first, as item cells ("sku-7", "130"); the model reads the first L (its length). Empty: no history.
    /// </summary>
    public IReadOnlyList<string?> History { get; init; } = [];
}

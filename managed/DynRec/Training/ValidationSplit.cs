using DynRec.Config;

namespace DynRec.Training;

/// <summary>
/// A time split inside the training rows, for model selection that never looks
/// at the test day: the rows of the last <c>days</c> dates become the
/// validation split, the earlier ones are fitted on (train.validation_days).
/// Both keep the source's row order.
/// </summary>
public sealed record ValidationSplit(IBatchSource Fit, IBatchSource Validation, IReadOnlyList<int> ValidationDates)
{
    public static ValidationSplit ByLastDates(IBatchSource train, int days)
    {
        if (days < 1) throw new ArgumentOutOfRangeException(nameof(days), $"days must be >= 1, got {days}");
        var dateOfRow = new int[train.Rows];
        for (var r = 0; r < train.Rows; r++) dateOfRow[r] = train.KeyOf(r).Date;
        var dates = dateOfRow.Distinct().Order().ToArray();
        if (dates.Length <= days)
            throw new ConfigException($"train.validation_days: {days} would leave no training dates; the training rows span {dates.Length} date(s)" +
                                      (dates.Length > 0 ? $" ({dates[0]}..{dates[^1]})" : ""));
        var firstValidation = dates[^days];
        var fit = new List<int>(train.Rows);
        var validation = new List<int>();
        for (var r = 0; r < train.Rows; r++) (dateOfRow[r] >= firstValidation ? validation : fit).Add(r);
        return new ValidationSplit(new RowSubset(train, fit.ToArray()), new RowSubset(train, validation.ToArray()), dates[^days..]);
    }
}

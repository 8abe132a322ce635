using DynRec.Data.KuaiRand;

namespace DynRec.Data.Table;

/// <summary>
/// A table log as the click-history builders read it (<see cref="IClickLog"/>): a row is a click when its
/// history task's label is 1; rows of a date are ordered by the history's time column, else by file order.
/// </summary>
internal readonly struct TableClickLog(TableLog table, int task) : IClickLog
{
    private readonly ChunkedColumn<byte> _labels = table.Labels[task];

    public int Count => table.Count;
    public int Users => table.Users.Count;
    public int User(int row) => table.Users.Rows[row];
    public int Date(int row) => table.Date[row];
    public long Time(int row) => table.Time?[row] ?? 0;
    public bool Clicked(int row) => _labels[row] != 0;
    public int Item(int row) => table.Items.Rows[row];
}

"""Writes results.json and results.md (atomically) so that a run cut short by its time limit leaves a table."""
import json
import os

from .adam_bench import adam_markdown
from .graphs_bench import graphs_markdown
from .kernel_profile import kernels_markdown
from .report import markdown, plain_markdown
from .tables_bench import tables_markdown


def section(render, *args):
    """One table's text; a table that cannot be rendered (a row missing what it needs) becomes a note, so the
    run's other tables and results.json are still written."""
    try:
        return render(*args)
    except Exception as e:  # noqa: BLE001
        return f"(table {render.__name__} not written: {type(e).__name__}: {e}; see results.json)\n"


class ResultsWriter:
    """Holds the run's meta and op results (both filled in as the run goes) and writes them to out_dir."""

    def __init__(self, out_dir, meta, results, cuda):
        self.out_dir, self.meta, self.results, self.cuda = out_dir, meta, results, cuda

    def flush(self, adam_rows=(), graph_rows=(), table_rows=(), kernel_rows=()):
        """Writes results.json and results.md (atomically); returns results.md's text."""
        out_dir, meta, results, cuda = self.out_dir, self.meta, self.results, self.cuda
        with open(os.path.join(out_dir, "results.json.tmp"), "w") as f:
            json.dump(dict(meta=meta, results=results, adam=list(adam_rows), graphs=list(graph_rows),
                           tables=list(table_rows), kernels=list(kernel_rows)), f, indent=1, default=str)
        os.replace(os.path.join(out_dir, "results.json.tmp"), os.path.join(out_dir, "results.json"))
        text = section(markdown if cuda else plain_markdown, meta, results) + \
            ("\n" + section(adam_markdown, adam_rows) if adam_rows else "") + \
            ("\n" + section(tables_markdown, table_rows) if table_rows else "") + \
            ("\n" + section(graphs_markdown, graph_rows) if graph_rows else "") + \
            ("\n" + section(kernels_markdown, kernel_rows) if kernel_rows else "")
        with open(os.path.join(out_dir, "results.md.tmp"), "w") as f:
            f.write(text)
        os.replace(os.path.join(out_dir, "results.md.tmp"), os.path.join(out_dir, "results.md"))
        return text

"""The op results' text: the summary line per case, results.md's markdown tables and the acceptance verdict."""
from .modes import EXTRA_MODES, HYPER_PATHS


def summary_line(r):
    if "error" in r and "eager_ms" not in r:
        return f"[error] {r['name']} B={r['batch']}: {r['error']}"
    parts = [f"{r['name']} B={r['batch']}:"]
    for k in ["dynrec_tf32_ms", "dynrec_fp32_ms"] + [f"dynrec_{m}_ms" for m in EXTRA_MODES] + [
            "eager_ms", "eager_tf32_ms", "compile_ms", "autotune_ms"]:
        if k in r:
            parts.append(f"{k[:-3]} {r[k]:.3f} ms")
    for mode in ("tf32", "fp32") + EXTRA_MODES:
        if f"dynrec_{mode}_error" in r:
            parts.append(f"FAILED({mode}: {r[f'dynrec_{mode}_error']})")
        elif f"dynrec_{mode}_ok" in r and not r[f"dynrec_{mode}_ok"]:
            parts.append(f"WRONG({mode}: {fmt(r.get(f'dynrec_{mode}_check'), '.2e')})")
    if "compile_error" in r:
        parts.append("(torch.compile failed: " + r["compile_error"] + ")")
    if "error" in r:
        parts.append("ERROR " + r["error"])
    return " ".join(parts)


def fmt(v, spec=".3f"):
    return "—" if v is None else format(v, spec)


def fmt_err(v):
    """A checked difference (scientific), or a dash where the mode did not get that far."""
    return fmt(v, ".1e")


def over(a, b):
    """a / b, or None where either is missing (a mode or baseline that errored or was skipped)."""
    return a / b if a is not None and b else None


def markdown(meta, results):
    lines = [f"# libdynrec vs PyTorch on {meta['gpu']}", "",
             f"torch {meta['torch']} (CUDA {meta['cuda']}); {meta['timing']}; peaks: {meta['peaks']['basis']}.",
             f"libdynrec: {meta['dynrec_build']}", "",
             "ms = forward + backward. x eager / x compile = speed-up of dynrec (TF32 mode) over that baseline. "
             "err = the checked difference to eager fp32: the larger of the output's max|dynrec - eager| / max|eager| "
             "and the gradients' ||dynrec - eager|| / ||eager|| (exact fp32 ok: output <= 1e-4, gradients <= 1e-3; "
             "TF32 ok: <= 5e-2). Gradients are judged by norm because a forward flips the few ReLU masks whose "
             "input lies within rounding of zero, moving single gradient entries by O(1) in a correct kernel. "
             "Eager and compile run exact fp32 (TF32 matmul off).", "",
             "x eager (fp32) = dynrec exact-fp32 mode over eager fp32; x eager-tf32 = dynrec TF32 over eager with "
             "TF32 matmuls allowed (same precision on both sides).", "",
             "| case | B | dynrec tf32 ms | dynrec fp32 ms | eager ms | eager tf32 ms | compile ms | autotune ms "
             "| x eager | x eager (fp32) | x eager-tf32 | x compile "
             "| TFLOP/s (tf32) | GB/s (tf32) | binding | % peak | err tf32 | err fp32 | ok |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        if "dynrec_tf32_ms" not in r:
            lines.append(f"| {r['name']} | {r['batch']} | ERROR: {r.get('error') or r.get('dynrec_tf32_error', '?')} |"
                         + " |" * 17)
            continue
        t = r["dynrec_tf32_ms"]
        eff = r.get("dynrec_tf32_eff") or {}
        ratio = lambda k: over(r.get(k), t)  # noqa: E731
        ok = "yes" if r.get("dynrec_tf32_ok") and r.get("dynrec_fp32_ok") else "**WRONG**"
        lines.append(
            f"| {r['name']} | {r['batch']} | {fmt(t)} | {fmt(r.get('dynrec_fp32_ms'))} | {fmt(r.get('eager_ms'))} | "
            f"{fmt(r.get('eager_tf32_ms'))} | {fmt(r.get('compile_ms'))} | {fmt(r.get('autotune_ms'))} | "
            f"{fmt(ratio('eager_ms'), '.2f')} | {fmt(over(r.get('eager_ms'), r.get('dynrec_fp32_ms')), '.2f')} | "
            f"{fmt(ratio('eager_tf32_ms'), '.2f')} | {fmt(ratio('compile_ms'), '.2f')} | {fmt(eff.get('tflops'), '.2f')} | "
            f"{fmt(eff.get('gbs'), '.0f')} | {eff.get('binding', '—')} | {fmt(eff.get('pct_peak'), '.1f')} | "
            f"{fmt_err(r.get('dynrec_tf32_check'))} | {fmt_err(r.get('dynrec_fp32_check'))} | {ok} |")
    lines += ["", "Acceptance targets (issue 4, at B=4096): apg_layer >= 5x eager, gated 3-tower layer >= 2x eager, "
              "both faster than torch.compile.", ""]
    lines += acceptance_markdown(results)
    lines += errors_markdown(results)
    lines += graph_cache_markdown(results)
    lines += fused_markdown(results)
    lines += paths_markdown(results)
    return "\n".join(lines)


def plain_markdown(meta, results):
    """The --device cpu / cuda-emu table: libdynrec in each mode it ran vs PyTorch eager, no peaks."""
    modes = [m for m in ("fp32", "tf32") + EXTRA_MODES if any(f"dynrec_{m}_ms" in r for r in results)]
    lines = [f"# libdynrec vs PyTorch on the {meta['gpu']}", "",
             f"torch {meta['torch']}; {meta['timing']}.", f"libdynrec: {meta['dynrec_build']}", "",
             "ms = forward + backward; eager runs exact fp32. x eager = eager ms / dynrec fp32 ms. "
             "err = the checked difference to eager: the larger of the output's max|dynrec - eager| / max|eager| "
             "and the gradients' ||dynrec - eager|| / ||eager|| (fp32 ok: output <= 1e-4, gradients <= 1e-3; "
             "TF32 ok: <= 5e-2).", "",
             "| case | B | " + " | ".join(f"dynrec {m} ms | err {m}" for m in modes) +
             " | eager ms | compile ms | x eager | ok |",
             "|---|---|" + "---|---|" * len(modes) + "---|---|---|---|"]
    for r in results:
        if "dynrec_fp32_ms" not in r:
            lines.append(f"| {r['name']} | {r['batch']} | ERROR: {r.get('error') or r.get('dynrec_fp32_error', '?')} |"
                         + " |" * (2 * len(modes) + 3))
            continue
        cells = []
        for m in modes:
            err = r.get(f"dynrec_{m}_check")
            cells += [fmt(r.get(f"dynrec_{m}_ms")), "—" if err is None else f"{err:.1e}"]
        oks = [r[k] for k in r if k.startswith("dynrec_") and k.endswith("_ok")]
        ratio = over(r.get("eager_ms"), r["dynrec_fp32_ms"])
        lines.append(f"| {r['name']} | {r['batch']} | " + " | ".join(cells) +
                     f" | {fmt(r.get('eager_ms'))} | {fmt(r.get('compile_ms'))} | {fmt(ratio, '.2f')} | "
                     f"{'yes' if oks and all(oks) else '**WRONG**'} |")
    lines += [""] + errors_markdown(results)
    return "\n".join(lines + [""])


# Issue 4's speed targets: case name prefix -> minimum x eager at ACCEPTANCE_BATCH (and faster than torch.compile).
ACCEPTANCE = {"issue's APG layer": 5.0, "issue's gated 3-tower layer": 2.0}
ACCEPTANCE_BATCH = 4096


def acceptance_markdown(results):
    """Per acceptance case: the default mode's speed-up and the fastest mode whose check passed, against the target."""
    lines = ["## Acceptance verdict (B=4096)", "",
             "| case | target x eager | default (tf32) x eager | fastest correct mode | its ms | x eager | x compile "
             "| met |", "|---|---|---|---|---|---|---|---|"]
    found = False
    for r in results:
        target = next((t for k, t in ACCEPTANCE.items() if r.get("name", "").startswith(k)), None)
        if target is None or r.get("batch") != ACCEPTANCE_BATCH or "eager_ms" not in r:
            continue
        found = True
        timed = [(r[k], k[len("dynrec_"):-len("_ms")]) for k in r
                 if k.startswith("dynrec_") and k.endswith("_ms") and r.get(k[:-len("_ms")] + "_ok")]
        if not timed:
            lines.append(f"| {r['name']} | {target:g}x | — | no mode passed its check | — | — | — | **no** |")
            continue
        ms, mode = min(timed)
        x_eager = r["eager_ms"] / ms
        x_compile = over(r.get("compile_ms"), ms)
        default = over(r["eager_ms"], r.get("dynrec_tf32_ms")) if r.get("dynrec_tf32_ok") else None
        met = x_eager >= target and (x_compile is None or x_compile > 1.0)
        lines.append(f"| {r['name']} | {target:g}x | {fmt(default, '.2f')} | {mode} | {fmt(ms)} | {x_eager:.2f} | "
                     f"{fmt(x_compile, '.2f')} | {'yes' if met else '**no**'}"
                     f"{' (compile not timed)' if x_compile is None else ''} |")
    if not found:
        return []
    lines += ["", "A mode other than the default meeting the target means AUTO should pick it for that shape "
              "(the hyper paths: `use_fused` / `materialized` in cuda/apg_layer.cu and cuda/hyper_linear.cu).", ""]
    return lines


def errors_markdown(results):
    """Every error a case recorded (its setup, a libdynrec mode, torch.compile), so none hides behind a dash."""
    found = [(r, k[:-len("_error")] or "case", v) for r in results for k, v in r.items()
             if k == "error" or k.endswith("_error")]
    if not found:
        return []
    lines = ["## Errors", "", "| case | B | where | error |", "|---|---|---|---|"]
    for r, where, v in found:
        lines.append(f"| {r.get('name', '?')} | {r.get('batch', '?')} | {where} | {str(v).replace('|', '/')} |")
    return lines + [""]


def fused_markdown(results):
    """cuBLAS + an elementwise kernel (the default) vs fused GEMM epilogues, same op, same run."""
    rows = [r for r in results if "dynrec_tf32_fused_ms" in r and "dynrec_fp32_fused_ms" in r]
    if not rows:
        return []
    lines = ["## Default (cuBLAS + elementwise kernel) vs fused GEMM epilogues (forward + backward; only the "
             "forward differs)", "",
             "| case | B | tf32 default ms | tf32 fused ms | fused / default | fp32 default ms | fp32 fused ms "
             "| fused / default | err (fused, tf32 / fp32) |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        t, f = r.get("dynrec_tf32_ms"), r.get("dynrec_fp32_ms")
        tf, ff = r["dynrec_tf32_fused_ms"], r["dynrec_fp32_fused_ms"]
        lines.append(
            f"| {r['name']} | {r['batch']} | {fmt(t)} | {fmt(tf)} | {fmt(over(tf, t), '.2f')} | {fmt(f)} | "
            f"{fmt(ff)} | {fmt(over(ff, f), '.2f')} | "
            f"{fmt_err(r.get('dynrec_tf32_fused_check'))} / {fmt_err(r.get('dynrec_fp32_fused_check'))} |")
    lines += ["", "A ratio above 1 means the default (cuBLAS) path is faster. "
              "`DYNREC_CUDA_FUSED_EPILOGUES=1` or `dynrec_cuda_set_fused_epilogues(1)` selects the fused path.", ""]
    return lines


def graph_cache_markdown(results):
    """Each op launched kernel by kernel (the default) vs replayed from libdynrec's graph cache."""
    rows = [r for r in results if "dynrec_tf32_graphs_ms" in r and "dynrec_fp32_graphs_ms" in r]
    if not rows:
        return []
    lines = ["## CUDA graphs (dynrec_cuda_set_graphs): launched vs replayed from the graph cache (forward + backward)",
             "", "| case | B | tf32 launched ms | tf32 graphs ms | x eager (tf32 graphs) | x compile (tf32 graphs) "
             "| fp32 launched ms | fp32 graphs ms | x eager (fp32 graphs) | err (graphs, tf32 / fp32) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        g_t, g_f = r["dynrec_tf32_graphs_ms"], r["dynrec_fp32_graphs_ms"]
        lines.append(
            f"| {r['name']} | {r['batch']} | {fmt(r.get('dynrec_tf32_ms'))} | {fmt(g_t)} | "
            f"{fmt(over(r.get('eager_ms'), g_t), '.2f')} | {fmt(over(r.get('compile_ms'), g_t), '.2f')} | "
            f"{fmt(r.get('dynrec_fp32_ms'))} | {fmt(g_f)} | {fmt(over(r.get('eager_ms'), g_f), '.2f')} | "
            f"{fmt_err(r.get('dynrec_tf32_graphs_check'))} / {fmt_err(r.get('dynrec_fp32_graphs_check'))} |")
    lines += ["", "Graphs are off by default; `DYNREC_CUDA_GRAPHS=1` or `dynrec_cuda_set_graphs(1)` turns them on. "
              "The timed calls reuse their buffers, so every call after the second is one graph launch.", ""]
    return lines


def paths_markdown(results):
    """The CUDA paths of hyper_linear / apg_layer forced, beside the default (which picks by shape)."""
    rows = [r for r in results if any(f"dynrec_{p}_{n}_ms" in r for n in HYPER_PATHS for p in ("tf32", "fp32"))]
    if not rows:
        return []
    names = list(HYPER_PATHS)
    cols = [f"{p}_{n}" for p in ("tf32", "fp32") for n in names] + ["tf32_fusedrows_graphs"]
    lines = ["## hyper_linear / apg_layer paths: outer-product GEMMs, materialized S, fused rows "
             "(forward + backward)", "",
             "| case | B | tf32 default ms | " + " | ".join(f"{c.replace('_', ' ')} ms" for c in cols) +
             " | x eager (fused rows tf32) | x eager (fused rows + graphs) | err (" + " / ".join(cols) + ") |",
             "|---|---|---|" + "---|" * len(cols) + "---|---|---|"]
    for r in rows:
        ms = lambda m: fmt(r.get(f"dynrec_{m}_ms"))  # noqa: E731
        err = lambda m: fmt_err(r.get(f"dynrec_{m}_check"))  # noqa: E731
        x = lambda m: fmt(over(r.get("eager_ms"), r.get(f"dynrec_{m}_ms")), ".2f")  # noqa: E731
        lines.append(f"| {r['name']} | {r['batch']} | {ms('tf32')} | " + " | ".join(ms(c) for c in cols) +
                     f" | {x('tf32_fusedrows')} | {x('tf32_fusedrows_graphs')} | " +
                     " / ".join(err(c) for c in cols) + " |")
    lines += ["", "`DYNREC_CUDA_HYPER_PATH=outer|materialized|fused` or `dynrec_cuda_set_hyper_path()` forces a path "
              "(fused rows: the whole layer per block of rows; in tf32 modes its per-row kernels form S and grad_z's "
              "sum on TF32 tensor cores, in fp32 modes with exact FP32 FMAs; its weight-gradient GEMM follows the "
              "mode as the other paths' do).", ""]
    return lines


def failed_rows(results, adam_rows, table_rows, gpu_api):
    """The rows that make the run fail (exit status 1): an error, or a libdynrec mode whose check failed."""
    wrong = [r for r in results if "error" in r or not r.get("dynrec_fp32_ok") or (gpu_api and not r.get("dynrec_tf32_ok"))
             or any(r.get(f"dynrec_{m}_ok") is False for m in EXTRA_MODES)]
    wrong += [r for r in adam_rows + table_rows if "error" in r or not r.get("ok")]
    return wrong

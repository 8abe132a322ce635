"""GPU peak figures, and a case's achieved TFLOP/s, GB/s and % of peak for its binding resource."""
PEAKS = {
    "fp32_tflops": 67.0,   # H100 SXM, fp32 non-tensor
    "tf32_tflops": 495.0,  # H100 SXM, TF32 tensor, dense
    "hbm_tbs": 3.35,       # H100 SXM HBM3
}


def gpu_peaks(name):
    peaks = dict(PEAKS)
    if "H200" in name:
        peaks["hbm_tbs"] = 4.8
        peaks["basis"] = "H200 (HBM3e 4.8 TB/s; compute as H100 SXM)"
    elif "H100" in name:
        peaks["basis"] = "H100 SXM"
    else:
        peaks["basis"] = f"H100 SXM figures assumed (GPU is {name})"
    return peaks


def efficiency(c, ms, tensor_cores, peaks):
    tflops = c["flops"] / (ms * 1e-3) / 1e12
    gbs = c["bytes"] / (ms * 1e-3) / 1e9
    peak_flops = peaks["tf32_tflops"] if tensor_cores else peaks["fp32_tflops"]
    t_flops = c["flops"] / (peak_flops * 1e12)
    t_bytes = c["bytes"] / (peaks["hbm_tbs"] * 1e12)
    binding = "flops" if t_flops >= t_bytes else "bytes"
    pct = 100.0 * (t_flops if binding == "flops" else t_bytes) / (ms * 1e-3)
    return dict(tflops=tflops, gbs=gbs, binding=binding, pct_peak=pct)

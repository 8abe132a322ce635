"""The run's device: torch's settings (and libdynrec's CPU threads) for --device, and the run's meta data."""
import os
import time

from .peaks import gpu_peaks


def setup_device(torch, lib, args):
    """Sets torch up for args.device; returns (gpu, peaks, timing): its name, peak figures (None off
    the GPU) and how it is timed."""
    cuda = args.device == "cuda"
    gpu_api = args.device != "cpu"  # libdynrec called with device = CUDA (a GPU or the emulator)
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = False  # eager/compile baselines in exact fp32 (torch's default)
        torch.backends.cudnn.allow_tf32 = False
        gpu = torch.cuda.get_device_name(0)
        peaks = gpu_peaks(gpu)
        timing = "CUDA events, median of single forward+backward iterations after warm-up"
    elif gpu_api:
        gpu = "CPU emulation of CUDA (tests/cuda_emu)"
        peaks = None
        timing = "wall clock of the emulator (meaningless as performance)"
    else:
        if args.threads > 0:
            torch.set_num_threads(args.threads)
        lib("dynrec_set_num_threads", n=torch.get_num_threads())
        gpu = f"CPU ({os.cpu_count()} logical cores, {torch.get_num_threads()} threads for torch and libdynrec)"
        peaks = None
        timing = "wall clock, median of single forward+backward iterations after warm-up"
    return gpu, peaks, timing


def run_meta(torch, lib, args, gpu, peaks, timing):
    """results.json's meta: the device, the versions, how it was timed and when."""
    return dict(gpu=gpu, torch=torch.__version__, cuda=torch.version.cuda, peaks=peaks,
                dynrec_build=lib.build_info(), iters=args.iters, warmup=args.warmup, timing=timing,
                date=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()))

"""The modules of bench_vs_pytorch.py (libdynrec vs PyTorch); the script beside this folder is the entry point."""

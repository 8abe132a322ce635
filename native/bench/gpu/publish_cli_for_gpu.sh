#!/usr/bin/env bash
# Run HERE (a machine with .NET), before a device call: publishes the `dynrec`
# CLI as a self-contained single file for linux-x64 into build/gpu-cli (git-ignored),
# with the weak-patched libLibTorchSharp.so beside it and WITHOUT the CPU
# LibTorch natives (the GPU machine's PyTorch provides CUDA LibTorch; see
# /work/shared/ENVIRONMENT.md, "Verified recipe for running the .NET side").
# Then name build/gpu-cli in the device call's `carry`, and there run
#   bash native/bench/gpu/run_all.sh     (it runs run_cli_on_gpu.sh when build/gpu-cli exists)
# Usage: bash native/bench/gpu/publish_cli_for_gpu.sh [output dir, default build/gpu-cli]
set -euo pipefail
cd "$(dirname "$0")/../../.."
DIR=${1:-build/gpu-cli}

# The ELF tool that marks GLIBCXX_3.4.32 weak (built with the native library).
if [ ! -x build/native/bin/dynrec_elf_weaken ]; then
  cmake -S . -B build/native -DCMAKE_BUILD_TYPE=Release > /dev/null
  cmake --build build/native --target dynrec dynrec_elf_weaken -j 2
fi

rm -rf "$DIR"
dotnet publish managed/DynRec.Cli/DynRec.Cli.csproj -c Release -r linux-x64 --self-contained \
  -p:PublishSingleFile=true -p:EnableCompressionInSingleFile=true -o "$DIR" \
  -p:EnableSingleFileAnalyzer=false  # IL3000 on NativeLibraryResolver's Assembly.Location, which it already tolerates being ""

# Drop LibTorch CPU (hundreds of MB): exactly the files of the libtorch-cpu-linux-x64 package.
pkg=$(ls -d "${NUGET_PACKAGES:-$HOME/.nuget/packages}"/libtorch-cpu-linux-x64/*/runtimes/linux-x64/native 2>/dev/null | tail -1)
if [ -n "$pkg" ]; then
  for f in "$pkg"/*; do rm -f "$DIR/$(basename "$f")"; done
else
  rm -f "$DIR"/libtorch*.so "$DIR"/libc10*.so "$DIR"/libgomp*.so* "$DIR"/libshm.so "$DIR"/libaoti_custom_ops.so \
        "$DIR"/libbackend_with_compiler.so "$DIR"/libjitbackend_test.so "$DIR"/libnnapi_backend.so
fi
# libdynrec: the GPU machine builds its own CUDA one (DYNREC_NATIVE_LIBRARY points at it there).
rm -rf "$DIR/runtimes"

[ -f "$DIR/libLibTorchSharp.so" ] || { echo "publish_cli_for_gpu.sh: libLibTorchSharp.so missing in $DIR"; exit 1; }
build/native/bin/dynrec_elf_weaken "$DIR/libLibTorchSharp.so" GLIBCXX_3.4.32
echo "published to $DIR ($(du -sh "$DIR" | cut -f1)): $(ls "$DIR" | tr '\n' ' ')"
echo "device call: carry [\"$DIR\"], command: bash native/bench/gpu/run_all.sh"

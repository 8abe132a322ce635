#!/usr/bin/env bash
# What a user installs, used as a user would:
#  - native: `cmake --install build/native` into a private prefix, then a C
#    program built against it with find_package(DynRec) and with pkg-config,
#    and the installed dynrec_selftest;
#  - .NET: packs DynRec.Interop, DynRec and the DynRec.Cli tool into a private
#    feed, then from that feed only (never the projects) installs the tool and
#    runs `dynrec info` and `dynrec demo`, and builds and runs
#    tests/packaging/consumer, an app that references the DynRec package
#    (P/Invoke into libdynrec, a PEPNet training run). Packages restore into a
#    private folder (the NuGet cache serves TorchSharp & co. as a fallback), so
#    a stale DynRec of the same version is never used.
# Prints "packaging: N passed, N failed"; exit status 0 only when all pass.
# Usage: bash tests/packaging/packaging_test.sh   (needs build/native, as run-all.sh leaves it)
set -uo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0; failed=0
check() {  # check NAME COMMAND...: runs it, logs to $work/NAME.log
  local name=$1; shift
  if "$@" > "$work/$name.log" 2>&1; then
    passed=$((passed + 1)); echo "  ok   $name"; grep -E "^ok: |: ok \(|^summary: " "$work/$name.log" | sed 's/^/       /' || true
  else
    failed=$((failed + 1)); echo "  FAIL $name"; tail -30 "$work/$name.log" | sed 's/^/       /'
  fi
}
finish() { echo "packaging: $passed passed, $failed failed"; [ "$failed" = 0 ]; exit $?; }

version=$(sed -nE 's/^project\(DynRec VERSION ([0-9]+\.[0-9]+\.[0-9]+).*/\1/p' CMakeLists.txt)
[ -n "$version" ] || { echo "no version in CMakeLists.txt"; failed=1; finish; }
prefix=$work/prefix
c_program=$repo/tests/native/c_api_test.c
cmake_install() {
  cmake --install build/native --prefix "$prefix" &&
  cmake -S tests/packaging/cmake_consumer -B "$work/cmake_consumer" -DCMAKE_PREFIX_PATH="$prefix" \
        -DDYNREC_WANTED_VERSION="$version" -DCONSUMER_SOURCE="$c_program" &&
  cmake --build "$work/cmake_consumer" && "$work/cmake_consumer/consumer"
}
check cmake-install cmake_install
# SameMinorVersion: asking for another minor version must fail, not link an incompatible ABI.
other_version_refused() {
  ! cmake -S tests/packaging/cmake_consumer -B "$work/cmake_consumer_other" -DCMAKE_PREFIX_PATH="$prefix" \
        -DDYNREC_WANTED_VERSION="${version%%.*}.$(( $(cut -d. -f2 <<< "$version") + 1 ))" -DCONSUMER_SOURCE="$c_program"
}
check other-version-refused other_version_refused
pkg_config_build() {
  local flags
  flags=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs dynrec) &&
  [ "$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --modversion dynrec)" = "$version" ] &&
  cc -std=c99 -o "$work/pc_consumer" "$c_program" $flags -lm -Wl,-rpath,"$prefix/lib" && "$work/pc_consumer"
}
check pkg-config pkg_config_build
check installed-selftest "$prefix/bin/dynrec_selftest" --device cpu

feed=$work/feed
pack_all() {
  for p in interop/DynRec.Interop managed/DynRec managed/DynRec.Cli; do
    dotnet pack "$p" -c Release -o "$feed" --nologo || return 1
  done
  ls "$feed/DynRec.Interop.$version.nupkg" "$feed/DynRec.$version.nupkg" "$feed/DynRec.Cli.$version.nupkg"
}
check pack pack_all || true
[ -f "$feed/DynRec.$version.nupkg" ] || finish

# The packages hold what a user needs. (Listings are read whole first: `unzip -l | grep -q`
# can kill unzip with SIGPIPE, which pipefail turns into a failure.)
has() { local list; list=$(unzip -l "$feed/$1.$version.nupkg") && grep -qF "$2" <<< "$list"; }
package_layout() {
  has DynRec.Interop runtimes/linux-x64/native/libdynrec.so && has DynRec.Interop include/dynrec/dynrec.h &&
  has DynRec buildTransitive/DynRec.targets && has DynRec buildTransitive/linux-x64/dynrec_elf_weaken &&
  has DynRec contentFiles/any/net10.0/configs/pepnet.yaml &&
  has DynRec.Cli tools/net10.0/any/runtimes/linux-x64/native/libdynrec.so &&
  has DynRec.Cli tools/net10.0/any/configs/pepnet.yaml &&
  # A library leaves the LibTorch backend to the app: TorchSharp, never TorchSharp-cpu.
  local nuspec; nuspec=$(unzip -p "$feed/DynRec.$version.nupkg" DynRec.nuspec) &&
  grep -q 'id="TorchSharp"' <<< "$nuspec" && ! grep -q 'id="TorchSharp-cpu"' <<< "$nuspec"
}
check layout package_layout

global=$(dotnet nuget locals global-packages --list | sed -E 's/^global-packages: //')
tool_run() {
  dotnet tool install --tool-path "$work/tool" --add-source "$feed" --version "$version" DynRec.Cli || return 1
  (cd "$work" && "$work/tool/dynrec" info | grep -E "^libdynrec +$version" && "$work/tool/dynrec" demo --steps 30 | tail -2)
}
check tool tool_run

consumer_run() {
  cp -r "$repo/tests/packaging/consumer" "$work/consumer" && cd "$work/consumer" &&
  dotnet build -c Release --nologo -p:DynRecVersion="$version" -p:RestoreSources="$feed" \
    -p:RestorePackagesPath="$work/packages" -p:RestoreFallbackFolders="$global" \
    -p:RestoreAdditionalProjectSources="" &&
  dotnet bin/Release/net10.0/Consumer.dll "$version"
}
check consumer consumer_run
finish

// dynrec_selftest: runs dynrec_self_test for a device and prints the report.
// For machines without .NET (the GPU machine); `dynrec selftest` is the same
// check from the CLI. Exit: 0 all passed, 1 a check failed, 2 usage error or
// the device is unavailable (one line on stderr).
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "dynrec/dynrec.h"

namespace {
int usage() {
    std::fprintf(stderr, "usage: dynrec_selftest --device cpu|cuda\n");
    return 2;
}
}  // namespace

int main(int argc, char** argv) {
    int32_t device = -1;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--device") == 0 && i + 1 < argc) {
            const std::string v = argv[++i];
            if (v == "cpu") device = DYNREC_DEVICE_CPU;
            else if (v == "cuda") device = DYNREC_DEVICE_CUDA;
            else return usage();
        } else {
            return usage();
        }
    }
    if (device < 0) return usage();

    std::vector<char> report(size_t(8) << 20);
    int32_t failures = 0;
    const dynrec_status status =
        dynrec_self_test(device, &failures, report.data(), static_cast<int64_t>(report.size()));
    if (status != DYNREC_OK) {
        std::fprintf(stderr, "dynrec_selftest: %s\n", dynrec_last_error());
        return 2;
    }
    std::fputs(report.data(), stdout);
    return failures == 0 ? 0 : 1;
}

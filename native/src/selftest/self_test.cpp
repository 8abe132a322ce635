// dynrec_self_test: every op, forward and backward, on odd shapes, against
// the naive reference loops. device = CPU checks the optimized CPU kernels;
// device = CUDA checks the CUDA kernels with exact FP32 and with TF32 tensor
// cores (each with its own tolerance), and the ops whose forward has a fused
// GEMM epilogue (gate_nu, gated_linear, epnet, apg_layer's dense steps) once more in each with the
// epilogues unfused (cuBLAS + elementwise kernel), without touching the
// process-wide settings.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/cuda_runtime_probe.h"
#include "common/error.h"
#include "common/math_mode.h"
#include "common/validate.h"
#include "selftest/harness.h"

namespace dynrec::selftest {
namespace {

using CheckFn = void (*)(Runner&);
struct Check {
    const char* op;
    CheckFn fn;
};
constexpr Check kChecks[] = {{"gate_nu", check_gate_nu},       {"gated_linear", check_gated_linear},
                             {"epnet", check_epnet},           {"hyper_linear", check_hyper_linear},
                             {"apg_layer", check_apg_layer},   {"tbe", check_embedding_bag},
                             {"adam", check_adam},             {"dropout", check_dropout},
                             {"multi_device", check_multi_device}, {"graphs", check_cuda_graphs}};

struct Mode {
    const char* name;
    bool tf32, fused;
};
constexpr Mode kModes[] = {{"fp32", false, true}, {"fp32-unfused", false, false}, {"tf32", true, true},
                           {"tf32-unfused", true, false}};

// A comma-separated filter from the environment (a diagnostic knob; unset = all), each name checked
// against `valid`. Returns ",name,...," or "" for all.
template <class Item, size_t N>
std::string selected(const char* variable, const char* kind, const Item (&items)[N], const char* Item::*name) {
    const char* v = std::getenv(variable);
    std::string list = v ? v : "";
    if (list.empty()) return list;
    std::string valid;
    for (const Item& item : items) valid += std::string(valid.empty() ? "" : ", ") + item.*name;
    size_t start = 0;
    while (start <= list.size()) {
        const size_t end = std::min(list.find(',', start), list.size());
        const std::string one = list.substr(start, end - start);
        bool known = one.empty();
        for (const Item& item : items) known = known || one == item.*name;
        if (!known)
            throw_invalid(std::string(variable) + ": unknown " + kind + " '" + one + "'; valid " + kind + "s: " + valid);
        start = end + 1;
    }
    return "," + list + ",";
}

// DYNREC_SELFTEST_OPS="op,op": run only those ops.
std::string selected_ops() { return selected("DYNREC_SELFTEST_OPS", "op", kChecks, &Check::op); }

// DYNREC_SELFTEST_MODES="fp32,tf32": run only those CUDA modes (e.g. to keep a compute-sanitizer pass short).
std::string selected_modes() { return selected("DYNREC_SELFTEST_MODES", "mode", kModes, &Mode::name); }

void run_all(Runner& r, const std::string& only) {
    for (const Check& c : kChecks)
        if (only.empty() || only.find("," + std::string(c.op) + ",") != std::string::npos) c.fn(r);
}

// The ops of the unfused pass (those with a fused-epilogue forward), within the user's selection.
std::string unfused_pass_ops(const std::string& only) {
    std::string ops = ",";
    for (const char* op : {"gate_nu", "gated_linear", "epnet", "apg_layer"})
        if (only.empty() || only.find("," + std::string(op) + ",") != std::string::npos) ops += std::string(op) + ",";
    return ops == "," ? ",none," : ops;
}

void write_report(const std::string& text, char* report, int64_t capacity) {
    if (report == nullptr || capacity <= 0) return;
    static const char kCut[] = "\n[report truncated]\n";
    const size_t cap = static_cast<size_t>(capacity);
    if (text.size() < cap) {
        std::memcpy(report, text.c_str(), text.size() + 1);
        return;
    }
    size_t keep = cap - 1;
    if (keep > sizeof kCut - 1) keep -= sizeof kCut - 1;
    std::memcpy(report, text.data(), keep);
    const size_t tail = std::min(sizeof kCut - 1, cap - 1 - keep);
    std::memcpy(report + keep, kCut, tail);
    report[keep + tail] = '\0';
}

}  // namespace
}  // namespace dynrec::selftest

extern "C" DYNREC_API dynrec_status dynrec_self_test(int32_t device, int32_t* failures, char* report,
                                                     int64_t report_capacity) {
    using namespace dynrec;
    using namespace dynrec::selftest;
    return guard(__func__, [&] {
        // CUDA that cannot run here is "unsupported", not a bad argument (checked before check_device).
        if (device == DYNREC_DEVICE_CUDA && !cuda_compiled())
            throw_unsupported("device = CUDA: this libdynrec was built without CUDA (" +
                              std::string(dynrec_build_info()) + ")");
        if (device == DYNREC_DEVICE_CUDA && cuda_device_count() == 0)
            throw_unsupported("device = CUDA: no CUDA device is visible to libdynrec");
        check_device(device);
        check_not_null("failures", failures);
        check_non_negative("report_capacity", report_capacity);
        if (report_capacity > 0) check_not_null("report", report);

        const std::string only = selected_ops();
        const std::string modes = selected_modes();
        std::string text = std::string("dynrec self-test: ") + dynrec_build_info() + "\n" +
                           "metric per output: max|got - ref| / max(max|ref|, 1e-6); outputs start as NaN\n" +
                           (only.empty() ? "" : "only (DYNREC_SELFTEST_OPS): " + only + "\n") +
                           (modes.empty() ? "" : "only (DYNREC_SELFTEST_MODES): " + modes + "\n");
        int32_t total_failures = 0, total_cases = 0;
        for (const Mode& m : kModes) {
            // TF32 and the fused epilogues are CUDA-only modes.
            if (device == DYNREC_DEVICE_CPU && (m.tf32 || !m.fused)) continue;
            if (device == DYNREC_DEVICE_CUDA && !modes.empty() && modes.find("," + std::string(m.name) + ",") == std::string::npos)
                continue;
            ScopedModeOverride tf32(CudaMode::kTf32, m.tf32 ? 1 : 0);
            ScopedModeOverride fused(CudaMode::kFusedEpilogues, m.fused ? 1 : 0);
            Runner runner(device, m.tf32, m.fused);
            run_all(runner, m.fused ? only : unfused_pass_ops(only));
            text += runner.report();
            total_failures += runner.failures();
            total_cases += runner.cases();
        }
        text += "summary: " + std::to_string(total_cases) + " cases, " + std::to_string(total_failures) +
                " failed\n";
        *failures = total_failures;
        write_report(text, report, report_capacity);
    });
}

// The self-test's small harness: buffers on the device under test, one
// "case" per op/shape/mode that runs the optimized path next to the naive
// reference and writes one report line, and the error metric.
//
// Error metric (per output tensor): max_i |got_i - want_i| / max(max_i |want_i|, 1e-6),
// i.e. the worst absolute error relative to the tensor's largest magnitude.
// NaN anywhere (outputs start poisoned with NaN) fails the comparison.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dynrec/dynrec.h"

namespace dynrec::selftest {

using Host = std::vector<float>;
using HostIds = std::vector<int64_t>;  // int64 data: embedding ids, per-row step counts

// Deterministic values in [-scale, scale] for a seed.
Host random_values(int64_t n, uint32_t seed, float scale = 1.0f);

// Allowed error (metric above) on the exact-FP32 path and with TF32 tensor cores.
struct Tolerance {
    double fp32;
    double tf32;
};

// Buffers on the device under test; all freed when the owner goes away.
class Buffers {
public:
    explicit Buffers(int32_t device) : device_(device) {}
    ~Buffers();
    Buffers(const Buffers&) = delete;
    Buffers& operator=(const Buffers&) = delete;

    float* put(const Host& values);      // a copy of `values` on the device
    float* out(int64_t n);               // n floats, poisoned with NaN
    void* scratch(int64_t bytes);        // workspace; NULL when bytes == 0
    void write(float* dst, const Host& values);  // overwrite a buffer of this owner in place
    void poison(float* dst, int64_t n);          // refill n floats with NaN
    Host get(const float* ptr, int64_t n) const;
    int64_t* put_ids(const HostIds& values);  // a copy of int64 `values` on the device
    HostIds get_ids(const int64_t* ptr, int64_t n) const;

private:
    int32_t device_;
    std::vector<std::unique_ptr<float[]>> host_;        // device = CPU
    std::vector<std::unique_ptr<int64_t[]>> host_ids_;  // device = CPU
    std::vector<void*> cuda_;                     // device = CUDA
};

class Case {
public:
    Case(int32_t device, bool tf32) : buf(device), device_(device), tf32_(tf32) {}

    Buffers buf;
    int32_t device() const { return device_; }

    // A non-OK status fails the case with dynrec_last_error()'s text.
    void call(dynrec_status status, const char* what);
    // Runs the metric, appends "name err" to the line, records a failure.
    void compare(const char* name, const Host& got, const Host& want, const Tolerance& tol);
    // Downloads `n` floats at `ptr` and compares them with `want`.
    void compare(const char* name, const float* ptr, const Host& want, const Tolerance& tol) {
        compare(name, buf.get(ptr, static_cast<int64_t>(want.size())), want, tol);
    }
    // Integers that must match exactly: appends "name exact" or the first mismatch.
    void compare_exact(const char* name, const HostIds& got, const HostIds& want);
    void compare_exact(const char* name, const int64_t* ptr, const HostIds& want) {
        compare_exact(name, buf.get_ids(ptr, static_cast<int64_t>(want.size())), want);
    }
    // A yes/no property (e.g. "an output was left alone"): appends `name`, records a failure if !ok.
    void expect(const char* name, bool ok);
    // Appends a separator such as "| bwd" to the line.
    void note(const std::string& text) { detail_ += " " + text; }

    bool failed() const { return failed_; }
    const std::string& detail() const { return detail_; }
    double worst_ratio() const { return worst_ratio_; }

private:
    int32_t device_;
    bool tf32_;
    bool failed_ = false;
    double worst_ratio_ = 0.0;  // largest err / tol seen
    std::string detail_;
};

// Runs cases and collects the report.
class Runner {
public:
    // fused: the CUDA fused-epilogue mode the cases run under (only gate_nu, gated_linear and epnet differ).
    Runner(int32_t device, bool tf32, bool fused = true) : device_(device), tf32_(tf32), fused_(fused) {}

    int32_t device() const { return device_; }
    bool tf32() const { return tf32_; }
    const char* mode() const;

    // `label` names the op and shape; `body` fills the case.
    void run(const std::string& label, const std::function<void(Case&)>& body);
    void line(const std::string& text) { report_ += text + "\n"; }

    int32_t failures() const { return failures_; }
    int32_t cases() const { return cases_; }
    const std::string& report() const { return report_; }

private:
    int32_t device_;
    bool tf32_;
    bool fused_;
    int32_t failures_ = 0;
    int32_t cases_ = 0;
    std::string report_;
};

// The rows every op is checked on (1, 7, 33, 1000: none a multiple of a tile).
const std::vector<int64_t>& test_rows();

const char* activation_name(int32_t activation);

// The hyper_linear paths a case runs under (dynrec_hyper_path + a label suffix): on
// CUDA both the outer-product and the materialized path, so every shape checks
// both; on the CPU one pass (the path is a CUDA setting).
struct HyperPathCase {
    int32_t path;
    const char* suffix;
};
std::vector<HyperPathCase> hyper_paths(int32_t device);

// One entry per op; each runs all its shapes, modes and both directions.
void check_gate_nu(Runner& runner);
void check_gated_linear(Runner& runner);
void check_epnet(Runner& runner);
void check_hyper_linear(Runner& runner);
void check_apg_layer(Runner& runner);
void check_embedding_bag(Runner& runner);
void check_adam(Runner& runner);
void check_dropout(Runner& runner);
void check_multi_device(Runner& runner);  // CUDA, 2+ GPUs: the call-device rule
void check_cuda_graphs(Runner& runner);   // CUDA: repeated calls replayed from cached graphs

// apg_layer's parameter slots (dynrec_apg_layer_forward's order): element counts for a
// mode (0 = unused) and a fan-in based init scale (check_apg_layer.cpp).
constexpr int kApgSlotCount = 20;
std::vector<int64_t> apg_slot_sizes(int64_t n, int64_t m, int64_t cond, int32_t uv_shared, int64_t k, int64_t p);
float apg_slot_scale(int slot, int64_t n, int64_t cond, int64_t k, int64_t p, int32_t uv_shared);

}  // namespace dynrec::selftest

// The native benchmark's tiny framework: a registry of cases, each timing
// a reference and an optimized variant of one op at one shape.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace dynrec_bench {

struct Case {
    std::string op;      // e.g. "gate_nu fwd+bwd"
    std::string shape;   // human-readable sizes
    double flops;        // per call
    std::function<void()> reference;  // may be empty when too slow to time
    std::function<void()> optimized;
};

// Each ops_*.cpp adds its cases here (called from main).
void add_gate_nu_cases(std::vector<Case>& cases, bool quick);
void add_gated_linear_cases(std::vector<Case>& cases, bool quick);
void add_epnet_cases(std::vector<Case>& cases, bool quick);
void add_hyper_linear_cases(std::vector<Case>& cases, bool quick);
void add_apg_layer_cases(std::vector<Case>& cases, bool quick);
void add_embedding_cases(std::vector<Case>& cases, bool quick);
void add_optimizer_cases(std::vector<Case>& cases, bool quick);
void add_dropout_cases(std::vector<Case>& cases, bool quick);

std::vector<float> random_buffer(int64_t n, uint32_t seed);
void check(int status);  // aborts the benchmark with the native message on failure

}  // namespace dynrec_bench

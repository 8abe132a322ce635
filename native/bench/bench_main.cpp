// Runs every registered case: warm up, then time `reps` calls with a steady
// clock and report the median (or, with --min, the fastest run). Prints one line per op and shape and writes
// JSON (--json FILE). --quick uses small shapes (CI smoke run); --only TEXT
// keeps the cases whose "op shape" contains TEXT (profiling one op).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <stdexcept>

#include "bench.h"
#include "dynrec/dynrec.h"

namespace dynrec_bench {

std::vector<float> random_buffer(int64_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = dist(rng);
    return v;
}

void check(int status) {
    if (status != DYNREC_OK) throw std::runtime_error(dynrec_last_error());
}

}  // namespace dynrec_bench

namespace {

// Median (default) or minimum (--min: steadier on a shared, loaded machine).
bool g_use_min = false;

double median_ms(const std::function<void()>& fn, int reps) {
    fn();  // warm-up (also first-touch of buffers)
    std::vector<double> t;
    for (int r = 0; r < reps; ++r) {
        const auto a = std::chrono::steady_clock::now();
        fn();
        const auto b = std::chrono::steady_clock::now();
        t.push_back(std::chrono::duration<double, std::milli>(b - a).count());
    }
    std::sort(t.begin(), t.end());
    return g_use_min ? t.front() : t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    using namespace dynrec_bench;
    bool quick = false;
    const char* json_path = nullptr;
    int reps = 10;
    bool with_reference = true;
    std::string only;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--quick")) quick = true;
        else if (!std::strcmp(argv[i], "--json") && i + 1 < argc) json_path = argv[++i];
        else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) reps = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--min")) g_use_min = true;
        else if (!std::strcmp(argv[i], "--no-reference")) with_reference = false;
        else if (!std::strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else {
            std::fprintf(stderr,
                         "usage: dynrec_bench [--quick] [--reps N] [--min] [--no-reference] [--only TEXT] [--json FILE]\n");
            return 2;
        }
    }
    try {
        std::vector<Case> cases;
        add_gate_nu_cases(cases, quick);
        add_gated_linear_cases(cases, quick);
        add_epnet_cases(cases, quick);
        add_hyper_linear_cases(cases, quick);
        add_apg_layer_cases(cases, quick);
        add_embedding_cases(cases, quick);
        add_optimizer_cases(cases, quick);
        add_dropout_cases(cases, quick);
        cases.erase(std::remove_if(cases.begin(), cases.end(),
                                   [&](const Case& c) { return (c.op + " " + c.shape).find(only) == std::string::npos; }),
                    cases.end());
        std::printf("# %s\n", dynrec_build_info());
        std::printf("%-36s %-40s %12s %12s %10s %10s %8s\n", "op", "shape", "ref_ms", "opt_ms", "ref_GF/s",
                    "opt_GF/s", "speedup");
        std::string json = "{\n  \"build\": \"" + std::string(dynrec_build_info()) + "\",\n  \"statistic\": \"" +
                           (g_use_min ? "min" : "median") + "\",\n  \"cases\": [\n";
        for (size_t i = 0; i < cases.size(); ++i) {
            const Case& c = cases[i];
            const double opt = median_ms(c.optimized, reps);
            const double ref = c.reference && with_reference ? median_ms(c.reference, std::max(1, reps / 5)) : 0.0;
            const double gf_opt = c.flops / (opt * 1e6), gf_ref = ref > 0 ? c.flops / (ref * 1e6) : 0.0;
            std::printf("%-36s %-40s %12.3f %12.3f %10.2f %10.2f %7.1fx\n", c.op.c_str(), c.shape.c_str(), ref, opt,
                        gf_ref, gf_opt, ref > 0 ? ref / opt : 0.0);
            char line[512];
            std::snprintf(line, sizeof line,
                          "    {\"op\": \"%s\", \"shape\": \"%s\", \"flops\": %.0f, \"reference_ms\": %.4f, "
                          "\"optimized_ms\": %.4f, \"speedup\": %.3f}%s\n",
                          c.op.c_str(), c.shape.c_str(), c.flops, ref, opt, ref > 0 ? ref / opt : 0.0,
                          i + 1 < cases.size() ? "," : "");
            json += line;
        }
        json += "  ]\n}\n";
        if (json_path) {
            std::ofstream(json_path) << json;
            std::printf("# wrote %s\n", json_path);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "dynrec_bench: %s\n", e.what());
        return 1;
    }
    return 0;
}

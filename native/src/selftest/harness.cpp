#include "selftest/harness.h"

#include <cmath>
#include <cstdio>
#include <cstring>

#include "common/error.h"
#include "selftest/device_memory.h"

namespace dynrec::selftest {

namespace {
// Thrown by Case::call to end a case early; the runner reports it.
struct CaseAbort {
    std::string message;
};

std::string format_error(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2e", v);
    return buf;
}
}  // namespace

Host random_values(int64_t n, uint32_t seed, float scale) {
    Host v(static_cast<size_t>(n));
    uint64_t state = 0x9E3779B97F4A7C15ull ^ (uint64_t(seed) * 0xBF58476D1CE4E5B9ull);
    for (auto& x : v) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        const double u = double(state >> 11) * (1.0 / 9007199254740992.0);  // [0, 1)
        x = static_cast<float>((2.0 * u - 1.0) * scale);
    }
    return v;
}

Buffers::~Buffers() {
    for (void* p : cuda_) cuda_free(p);
}

float* Buffers::put(const Host& values) {
    const int64_t bytes = static_cast<int64_t>(values.size() * sizeof(float));
    if (device_ == DYNREC_DEVICE_CPU) {
        host_.emplace_back(new float[values.size() + 1]);
        std::memcpy(host_.back().get(), values.data(), static_cast<size_t>(bytes));
        return host_.back().get();
    }
    void* p = cuda_alloc(bytes);
    cuda_.push_back(p);
    cuda_upload(p, values.data(), bytes);
    return static_cast<float*>(p);
}

float* Buffers::out(int64_t n) {
    if (device_ == DYNREC_DEVICE_CPU) {
        host_.emplace_back(new float[static_cast<size_t>(n) + 1]);
        for (int64_t i = 0; i < n; ++i) host_.back()[static_cast<size_t>(i)] = std::nanf("");
        return host_.back().get();
    }
    void* p = cuda_alloc(n * int64_t(sizeof(float)));
    cuda_.push_back(p);
    cuda_fill_bytes(p, 0xFF, n * int64_t(sizeof(float)));  // all-ones bytes = NaN
    return static_cast<float*>(p);
}

void* Buffers::scratch(int64_t bytes) {
    if (bytes <= 0) return nullptr;
    return out((bytes + 3) / 4);
}

void Buffers::write(float* dst, const Host& values) {
    const int64_t bytes = static_cast<int64_t>(values.size() * sizeof(float));
    if (device_ == DYNREC_DEVICE_CPU)
        std::memcpy(dst, values.data(), static_cast<size_t>(bytes));
    else
        cuda_upload(dst, values.data(), bytes);
}

void Buffers::poison(float* dst, int64_t n) {
    if (device_ == DYNREC_DEVICE_CPU)
        for (int64_t i = 0; i < n; ++i) dst[i] = std::nanf("");
    else
        cuda_fill_bytes(dst, 0xFF, n * int64_t(sizeof(float)));
}

Host Buffers::get(const float* ptr, int64_t n) const {
    Host h(static_cast<size_t>(n));
    if (device_ == DYNREC_DEVICE_CPU)
        std::memcpy(h.data(), ptr, static_cast<size_t>(n) * sizeof(float));
    else
        cuda_download(h.data(), ptr, n * int64_t(sizeof(float)));
    return h;
}

int64_t* Buffers::put_ids(const HostIds& values) {
    const int64_t bytes = static_cast<int64_t>(values.size() * sizeof(int64_t));
    if (device_ == DYNREC_DEVICE_CPU) {
        host_ids_.emplace_back(new int64_t[values.size() + 1]);
        std::memcpy(host_ids_.back().get(), values.data(), static_cast<size_t>(bytes));
        return host_ids_.back().get();
    }
    void* p = cuda_alloc(bytes);
    cuda_.push_back(p);
    cuda_upload(p, values.data(), bytes);
    return static_cast<int64_t*>(p);
}

HostIds Buffers::get_ids(const int64_t* ptr, int64_t n) const {
    HostIds h(static_cast<size_t>(n));
    if (device_ == DYNREC_DEVICE_CPU)
        std::memcpy(h.data(), ptr, static_cast<size_t>(n) * sizeof(int64_t));
    else
        cuda_download(h.data(), ptr, n * int64_t(sizeof(int64_t)));
    return h;
}

void Case::call(dynrec_status status, const char* what) {
    if (status != DYNREC_OK) throw CaseAbort{std::string(what) + " failed: " + dynrec_last_error()};
    // Surface an asynchronous kernel fault here, attributed to the call.
    if (device_ == DYNREC_DEVICE_CUDA) cuda_synchronize(what);
}

void Case::compare(const char* name, const Host& got, const Host& want, const Tolerance& tol) {
    double max_want = 0.0, max_diff = 0.0;
    bool nan = got.size() != want.size();
    for (size_t i = 0; i < want.size() && i < got.size(); ++i) {
        max_want = std::fmax(max_want, std::fabs(double(want[i])));
        const double d = std::fabs(double(got[i]) - double(want[i]));
        if (std::isnan(d)) nan = true;
        else max_diff = std::fmax(max_diff, d);
    }
    const double err = nan ? INFINITY : max_diff / std::fmax(max_want, 1e-6);
    const double limit = tf32_ ? tol.tf32 : tol.fp32;
    const bool ok = err <= limit;
    worst_ratio_ = std::fmax(worst_ratio_, nan ? INFINITY : err / limit);
    detail_ += std::string(" ") + name + " " + (nan ? std::string("NaN/unwritten") : format_error(err));
    if (!ok) {
        detail_ += "(>" + format_error(limit) + ")";
        failed_ = true;
    }
}

void Case::compare_exact(const char* name, const HostIds& got, const HostIds& want) {
    detail_ += std::string(" ") + name;
    if (got.size() != want.size()) {
        detail_ += " size " + std::to_string(got.size()) + "(!=" + std::to_string(want.size()) + ")";
        failed_ = true;
        return;
    }
    for (size_t i = 0; i < want.size(); ++i) {
        if (got[i] == want[i]) continue;
        detail_ += " [" + std::to_string(i) + "] " + std::to_string(got[i]) + "(!=" + std::to_string(want[i]) + ")";
        failed_ = true;
        return;
    }
    detail_ += " exact";
}

void Case::expect(const char* name, bool ok) {
    detail_ += std::string(" ") + name + (ok ? "" : "(FAILED)");
    if (!ok) failed_ = true;
}

const char* Runner::mode() const {
    if (device_ == DYNREC_DEVICE_CPU) return "cpu";
    if (fused_) return tf32_ ? "cuda tf32" : "cuda fp32";
    return tf32_ ? "cuda tf32 unfused" : "cuda fp32 unfused";
}

void Runner::run(const std::string& label, const std::function<void(Case&)>& body) {
    ++cases_;
    std::string status, detail;
    try {
        Case c(device_, tf32_);
        try {
            body(c);
        } catch (const CaseAbort& a) {
            c.note("ERROR " + a.message);
            detail = c.detail();
            ++failures_;
            line(std::string("FAIL [") + mode() + "] " + label + ":" + detail);
            return;
        }
        detail = c.detail();
        status = c.failed() ? "FAIL" : "ok  ";
        if (c.failed()) ++failures_;
    } catch (const std::exception& e) {
        // A CUDA fault while allocating, copying or synchronizing.
        ++failures_;
        line(std::string("FAIL [") + mode() + "] " + label + ": ERROR " + e.what());
        return;
    }
    line(status + " [" + mode() + "] " + label + ":" + detail);
}

const std::vector<int64_t>& test_rows() {
    static const std::vector<int64_t> rows{1, 7, 33, 1000};
    return rows;
}

std::vector<HyperPathCase> hyper_paths(int32_t device) {
    if (device != DYNREC_DEVICE_CUDA) return {{DYNREC_HYPER_PATH_AUTO, ""}};
    return {{DYNREC_HYPER_PATH_OUTER, " path=outer"},
            {DYNREC_HYPER_PATH_MATERIALIZED, " path=materialized"},
            {DYNREC_HYPER_PATH_FUSED, " path=fused"}};
}

const char* activation_name(int32_t activation) {
    switch (activation) {
        case DYNREC_ACT_NONE: return "none";
        case DYNREC_ACT_RELU: return "relu";
        case DYNREC_ACT_SIGMOID: return "sigmoid";
        case DYNREC_ACT_TANH: return "tanh";
        case DYNREC_ACT_LEAKY_RELU: return "leaky_relu";
        default: return "?";
    }
}

}  // namespace dynrec::selftest

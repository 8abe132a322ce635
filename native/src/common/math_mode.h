// Whether the CUDA GEMMs may use TF32 tensor cores (inputs rounded to a
// 10-bit mantissa, FP32 accumulation). Process-wide setting, default on
// unless the environment variable DYNREC_CUDA_TF32=0 is set when the library
// loads; a thread may override it for a scope (the self-test does, so that
// it does not change the mode under other threads).
#pragma once

namespace dynrec {

bool cuda_tf32_enabled() noexcept;
void set_cuda_tf32(bool enabled) noexcept;

class ScopedTf32Override {
public:
    explicit ScopedTf32Override(bool enabled) noexcept;
    ~ScopedTf32Override();
    ScopedTf32Override(const ScopedTf32Override&) = delete;
    ScopedTf32Override& operator=(const ScopedTf32Override&) = delete;

private:
    int previous_;
};

}  // namespace dynrec

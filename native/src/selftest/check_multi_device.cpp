// Self-test of the call-device rule (common/call_device.h) on machines with
// two or more GPUs: an op whose pointers live on device 1 runs there while
// device 0 is current, matches the reference, and leaves device 0 current; a
// call mixing devices is rejected naming both pointers. One GPU: one "skip" line.
#include <string>

#include "common/cuda_runtime_probe.h"
#include "selftest/harness.h"

namespace dynrec::selftest {

namespace {
constexpr Tolerance kTol{2e-5, 5e-3};

// Selects `ordinal` for its lifetime (allocation happens on the current device).
class OnDevice {
public:
    explicit OnDevice(int ordinal) : previous_(cuda_current_device()) { cuda_select_device(ordinal); }
    ~OnDevice() { cuda_select_device(previous_); }
    OnDevice(const OnDevice&) = delete;
    OnDevice& operator=(const OnDevice&) = delete;

private:
    int previous_;
};
}  // namespace

void check_multi_device(Runner& r) {
    if (r.device() != DYNREC_DEVICE_CUDA || r.tf32()) return;  // once per CUDA self-test
    if (cuda_device_count() < 2) {
        r.line("skip [cuda] multi-device: " + std::to_string(cuda_device_count()) +
               " CUDA device visible (needs 2)");
        return;
    }
    r.run("multi-device gate_nu: pointers on device 1, device 0 current", [&](Case& c) {
        const int64_t rows = 33, in = 13, hidden = 37, out = 19;
        const float gamma = 2.0f;
        Host x = random_values(rows * in, 71), w1 = random_values(hidden * in, 72, 0.3f);
        Host w2 = random_values(out * hidden, 73, 0.2f);
        Host hidden_ref(rows * hidden), delta_ref(rows * out);
        c.call(dynrec_gate_nu_forward_reference(rows, in, hidden, out, x.data(), w1.data(), nullptr, w2.data(),
                                                nullptr, gamma, hidden_ref.data(), delta_ref.data()),
               "dynrec_gate_nu_forward_reference");
        cuda_select_device(0);
        float *dx, *dw1, *dw2, *dh, *dd;
        {
            OnDevice one(1);
            dx = c.buf.put(x);
            dw1 = c.buf.put(w1);
            dw2 = c.buf.put(w2);
            dh = c.buf.out(rows * hidden);
            dd = c.buf.out(rows * out);
        }
        c.call(dynrec_gate_nu_forward(DYNREC_DEVICE_CUDA, nullptr, rows, in, hidden, out, dx, dw1, nullptr, dw2,
                                      nullptr, gamma, dh, dd),
               "dynrec_gate_nu_forward (device 1 pointers)");
        c.expect("device-0-still-current", cuda_current_device() == 0);
        {
            OnDevice one(1);  // results were written by device 1's stream: wait there
            c.call(DYNREC_OK, "sync device 1");
            c.compare("delta", dd, delta_ref, kTol);
        }
        float* w1_on_0 = c.buf.put(w1);  // device 0
        const dynrec_status mixed = dynrec_gate_nu_forward(DYNREC_DEVICE_CUDA, nullptr, rows, in, hidden, out, dx,
                                                           w1_on_0, nullptr, dw2, nullptr, gamma, dh, dd);
        const std::string message = dynrec_last_error();
        c.expect("mixed-devices-rejected", mixed == DYNREC_ERR_INVALID_ARGUMENT &&
                                               message.find("w1: is on CUDA device 0 but x is on CUDA device 1") !=
                                                   std::string::npos);
        c.expect("device-0-still-current-after-error", cuda_current_device() == 0);
    });
}

}  // namespace dynrec::selftest

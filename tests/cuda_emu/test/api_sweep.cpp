// CUDA paths the self-test's shapes do not reach, through the public API on
// the emulated device, against the reference loops (same metric as the
// self-test: max|got - ref| / max(max|ref|, 1e-6)):
//  - hyper_linear with >= 264 output tiles: the outer-product GEMM's 64x64
//    tile config (the self-test's grids pick 32x64 / 64x32 only);
//  - the table-batched embedding with dims above 32: each lane of a warp
//    walks several columns (the self-test's dims are 3..17);
//  - multi-tensor Adam with tensors over one 16384-element chunk, and over
//    256 chunks in all (the norm's final reduction loops per thread);
//  - the fused-epilogue dense GEMM (gated_linear forward) on its 64x64 tile
//    config and on its 32-deep slices (a reduction >= 256 with few blocks);
//  - the TBE with its id check off (dynrec_cuda_set_tbe_id_check(0)): ids
//    outside their table read as padding, as in the reference given 0 there,
//    and with the check on the same ids are rejected before anything is written.
#include <cuda_runtime.h>

#include <cmath>
#include <cstring>
#include <cstdio>
#include <string>
#include <vector>

#include "dynrec/dynrec.h"

namespace {

using Host = std::vector<float>;
using Ids = std::vector<int64_t>;

int g_failures = 0;
std::vector<void*> g_device;

Host random_values(size_t n, uint32_t seed, float scale = 1.0f) {
    Host v(n);
    uint64_t s = 0x9E3779B97F4A7C15ull ^ (uint64_t(seed) * 0xBF58476D1CE4E5B9ull);
    for (float& x : v) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x = static_cast<float>((double(s >> 11) / 9007199254740992.0 * 2.0 - 1.0) * scale);
    }
    return v;
}

template <class T>
T* put(const std::vector<T>& h) {
    void* p = nullptr;
    cudaMalloc(&p, h.size() * sizeof(T) + 4);
    cudaMemcpy(p, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice);
    g_device.push_back(p);
    return static_cast<T*>(p);
}

float* out(size_t n) {
    void* p = nullptr;
    cudaMalloc(&p, n * sizeof(float) + 4);
    cudaMemset(p, 0xff, n * sizeof(float));  // NaN: unwritten outputs fail
    g_device.push_back(p);
    return static_cast<float*>(p);
}

template <class T>
std::vector<T> get(const T* d, size_t n) {
    std::vector<T> h(n);
    cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost);
    return h;
}

void release() {
    for (void* p : g_device) cudaFree(p);
    g_device.clear();
}

void ok_status(dynrec_status s, const char* what) {
    if (s == DYNREC_OK) return;
    std::printf("FAIL %s: %s\n", what, dynrec_last_error());
    ++g_failures;
}

std::string check(const char* name, const Host& got, const Host& want, double tol, bool& failed) {
    double top = 0.0, diff = 0.0;
    bool nan = got.size() != want.size();
    for (size_t i = 0; i < want.size() && i < got.size(); ++i) {
        top = std::fmax(top, std::fabs(double(want[i])));
        const double d = std::fabs(double(got[i]) - double(want[i]));
        if (std::isnan(d)) nan = true;
        else diff = std::fmax(diff, d);
    }
    const double err = nan ? INFINITY : diff / std::fmax(top, 1e-6);
    char buf[96];
    std::snprintf(buf, sizeof buf, " %s %.2e%s", name, err, err <= tol ? "" : "(FAIL)");
    if (!(err <= tol)) failed = true;
    return buf;
}

void report(const std::string& label, bool failed, const std::string& detail) {
    std::printf("%s %s:%s\n", failed ? "FAIL" : "ok  ", label.c_str(), detail.c_str());
    if (failed) ++g_failures;
}

Host minus(const Host& a, const Host& b) {
    Host d(a.size());
    for (size_t i = 0; i < a.size(); ++i) d[i] = a[i] - b[i];
    return d;
}

void hyper_linear_64x64(bool tf32) {
    const int64_t B = 4100, ni = 5, no = 300, nc = 3;  // 65 x 5 = 325 tiles of 64x64
    const double tol = tf32 ? 1e-2 : 5e-5;
    dynrec_cuda_set_tf32(tf32 ? 1 : 0);
    const Host x = random_values(B * ni, 1), z = random_values(B * nc, 2);
    const Host gw = random_values(ni * no * nc, 3, 0.25f), gb = random_values(ni * no, 4, 0.4f);
    const Host cw = random_values(no * nc, 5, 0.5f), cb = random_values(no, 6, 0.5f), gy = random_values(B * no, 7);
    Host y(B * no), gx(B * ni), gz(B * nc), ggw(gw.size()), ggb(gb.size()), gcw(cw.size()), gcb(cb.size());
    ok_status(dynrec_hyper_linear_forward_reference(B, ni, no, nc, 1, x.data(), z.data(), gw.data(), gb.data(),
                                                    cw.data(), cb.data(), DYNREC_ACT_RELU, y.data()),
              "hyper_linear forward reference");
    ok_status(dynrec_hyper_linear_backward_reference(B, ni, no, nc, 1, x.data(), z.data(), gw.data(), gb.data(),
                                                     cw.data(), DYNREC_ACT_RELU, y.data(), gy.data(), gx.data(),
                                                     gz.data(), ggw.data(), ggb.data(), gcw.data(), gcb.data()),
              "hyper_linear backward reference");
    float* dy = out(y.size());
    const int32_t cuda = DYNREC_DEVICE_CUDA;
    int64_t ws = 0;
    ok_status(dynrec_hyper_linear_workspace_size(cuda, B, ni, no, nc, 1, &ws), "hyper_linear workspace size");
    ok_status(dynrec_hyper_linear_forward(cuda, nullptr, B, ni, no, nc, 1, put(x), put(z), put(gw), put(gb), put(cw),
                                          put(cb), DYNREC_ACT_RELU, dy, out(size_t(ws / 4 + 1)), ws),
              "hyper_linear forward");
    float *dgx = out(gx.size()), *dgz = out(gz.size()), *dgw = out(ggw.size()), *dgb = out(ggb.size());
    float *dcw = out(gcw.size()), *dcb = out(gcb.size());
    ok_status(dynrec_hyper_linear_backward(cuda, nullptr, B, ni, no, nc, 1, put(x), put(z), put(gw), put(gb), put(cw),
                                           DYNREC_ACT_RELU, put(y), put(gy), dgx, dgz, dgw, dgb, dcw, dcb,
                                           out(size_t(ws / 4 + 1)), ws),
              "hyper_linear backward");
    bool failed = false;
    std::string d = check("y", get(dy, y.size()), y, tol, failed);
    d += check("grad_x", get(dgx, gx.size()), gx, tol, failed) + check("grad_z", get(dgz, gz.size()), gz, tol, failed);
    d += check("grad_g_w", get(dgw, ggw.size()), ggw, tol, failed) + check("grad_g_b", get(dgb, ggb.size()), ggb, tol, failed);
    d += check("grad_c_w", get(dcw, gcw.size()), gcw, tol, failed) + check("grad_c_b", get(dcb, gcb.size()), gcb, tol, failed);
    report(std::string("[") + (tf32 ? "tf32" : "fp32") + "] hyper_linear rows=4100 in=5 out=300 cond=3 (64x64 tiles)",
           failed, d);
    release();
}

void tbe_wide(int32_t optimizer, const char* name, bool bad_ids = false) {
    const Ids rows{50, 20, 7}, dims{33, 64, 100}, offsets{0, 50 * 33, 50 * 33 + 20 * 64};
    const int64_t numel = 50 * 33 + 20 * 64 + 7 * 100, total_rows = 77;
    const Ids field_table{0, 1, 2, 1}, bags{3, 4, 2, 1};
    const std::vector<int32_t> pooling{DYNREC_POOLING_SUM, DYNREC_POOLING_MEAN, DYNREC_POOLING_NONE,
                                       DYNREC_POOLING_SUM};
    const int64_t T = 3, F = 4, S = 10, batch = 300;
    int64_t width = 0;
    ok_status(dynrec_tbe_output_width(T, dims.data(), F, field_table.data(), bags.data(), pooling.data(), &width),
              "tbe output width");
    const Host pick = random_values(size_t(batch * S), 11);
    Ids ids(size_t(batch * S));
    Ids slot_table;
    for (int64_t f = 0; f < F; ++f)
        for (int64_t s = 0; s < bags[size_t(f)]; ++s) slot_table.push_back(field_table[size_t(f)]);
    for (size_t k = 0; k < ids.size(); ++k) {  // ~15% padding, small tables: many duplicates
        const float u = (pick[k] + 1.0f) * 0.5f;
        const int64_t r = rows[size_t(slot_table[k % S])];
        ids[k] = u < 0.15f ? 0 : 1 + std::min(r - 2, static_cast<int64_t>((u - 0.15f) / 0.85f * float(r - 1)));
    }
    // With bad_ids: ~4% of the ids outside their table (negative, = rows, far beyond); the
    // reference reads them as what the unchecked kernels must make of them: padding.
    Ids ref_ids = ids;
    if (bad_ids)
        for (size_t k = 0; k < ids.size(); k += 23) {
            const int64_t r = rows[size_t(slot_table[k % S])];
            ids[k] = k % 3 == 0 ? -1 - int64_t(k) : k % 3 == 1 ? r : r + 1000003;
            ref_ids[k] = 0;
        }
    const Host weights = random_values(size_t(numel), 12), grad_out = random_values(size_t(batch * width), 13);
    const bool adam = optimizer == DYNREC_SPARSE_LAZY_ADAM;
    const size_t n1 = adam ? size_t(numel) : optimizer == DYNREC_SPARSE_ROWWISE_ADAGRAD ? size_t(total_rows) : 0;
    const size_t n2 = adam ? size_t(numel) : 0;
    Host s1(n1), s2(n2);
    const Host r1 = random_values(n1, 14, 0.3f), r2 = random_values(n2, 15, 0.3f);
    for (size_t i = 0; i < n1; ++i) s1[i] = adam ? r1[i] : std::fabs(r1[i]) + 0.01f;
    for (size_t i = 0; i < n2; ++i) s2[i] = r2[i] * r2[i];
    const float lr = adam ? 0.01f : 0.05f, eps = adam ? 1e-8f : 1e-6f;
    const int64_t step = 3;

    Host ref_out(size_t(batch * width)), w_ref = weights, s1_ref = s1, s2_ref = s2;
    ok_status(dynrec_tbe_forward_reference(T, rows.data(), dims.data(), offsets.data(), F, field_table.data(),
                                           bags.data(), pooling.data(), weights.data(), numel, batch, ref_ids.data(),
                                           ref_out.data()),
              "tbe forward reference");
    ok_status(dynrec_tbe_backward_update_reference(T, rows.data(), dims.data(), offsets.data(), F, field_table.data(),
                                                   bags.data(), pooling.data(), w_ref.data(), numel, batch, ref_ids.data(),
                                                   grad_out.data(), optimizer, lr, eps, 0.9f, 0.999f, step,
                                                   n1 ? s1_ref.data() : nullptr, n2 ? s2_ref.data() : nullptr,
                                                   nullptr),
              "tbe backward reference");
    const int32_t cuda = DYNREC_DEVICE_CUDA;
    int64_t ws = 0;
    ok_status(dynrec_tbe_workspace_size(cuda, T, F, bags.data(), batch, &ws), "tbe workspace size");
    float* work = out(size_t(ws / 4 + 1));
    float* dw = put(weights);
    const int64_t* dids = put(ids);
    float* dout = out(ref_out.size());
    if (bad_ids) {
        // Checked (the default): rejected, naming the id, and nothing written.
        const dynrec_status st = dynrec_tbe_forward(cuda, nullptr, T, rows.data(), dims.data(), offsets.data(), F,
                                                    field_table.data(), bags.data(), pooling.data(), dw, numel, batch,
                                                    dids, dout, work, ws);
        const bool named = st == DYNREC_ERR_INVALID_ARGUMENT && std::strstr(dynrec_last_error(), "-1") != nullptr;
        const std::string message = dynrec_last_error();
        bool untouched = true;
        for (float v : get(dout, ref_out.size())) untouched = untouched && std::isnan(v);
        report("tbe checked rejects an id outside its table, writing nothing: " + message, !named || !untouched, "");
        ok_status(dynrec_cuda_set_tbe_id_check(0), "tbe id check off");
    }
    ok_status(dynrec_tbe_forward(cuda, nullptr, T, rows.data(), dims.data(), offsets.data(), F, field_table.data(),
                                 bags.data(), pooling.data(), dw, numel, batch, dids, dout, work, ws),
              "tbe forward");
    float* d1 = n1 ? put(s1) : nullptr;
    float* d2 = n2 ? put(s2) : nullptr;
    ok_status(dynrec_tbe_backward_update(cuda, nullptr, T, rows.data(), dims.data(), offsets.data(), F,
                                         field_table.data(), bags.data(), pooling.data(), dw, numel, batch, dids,
                                         put(grad_out), optimizer, lr, eps, 0.9f, 0.999f, step, d1, d2, nullptr, work,
                                         ws),
              "tbe backward_update");
    bool failed = false;
    const Host w_got = get(dw, size_t(numel));
    std::string d = check("out", get(dout, ref_out.size()), ref_out, 1e-6, failed);
    d += check("weights", w_got, w_ref, 1e-6, failed) +
         check("update", minus(w_got, weights), minus(w_ref, weights), 2e-5, failed);
    if (n1) d += check("state1", get(d1, n1), s1_ref, adam ? 1e-6 : 2e-5, failed);
    if (n2) d += check("state2", get(d2, n2), s2_ref, 1e-6, failed);
    report(std::string("tbe dims=33,64,100 rows=300 opt=") + name + (bad_ids ? " ids outside tables masked" : ""),
           failed, d);
    ok_status(dynrec_cuda_set_tbe_id_check(1), "tbe id check on");
    release();
}

void adam_chunks(const std::vector<int64_t>& numels, const char* label) {
    const size_t n = numels.size();
    std::vector<Host> p(n), g(n), m(n), v(n);
    for (size_t i = 0; i < n; ++i) {
        const size_t k = size_t(numels[i]);
        p[i] = random_values(k, uint32_t(20 + i)), g[i] = random_values(k, uint32_t(40 + i));
        m[i] = random_values(k, uint32_t(60 + i), 0.1f), v[i] = random_values(k, uint32_t(80 + i), 0.1f);
        for (float& x : v[i]) x = x * x;
    }
    const double lr = 1e-2, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, wd = 0.1, clip = 1.0;
    const int64_t step = 5;
    std::vector<Host> pr = p, mr = m, vr = v;
    std::vector<float*> pp(n), mp(n), vp(n);
    std::vector<const float*> gp(n);
    for (size_t i = 0; i < n; ++i) pp[i] = pr[i].data(), mp[i] = mr[i].data(), vp[i] = vr[i].data(), gp[i] = g[i].data();
    float norm_ref = 0.0f;
    ok_status(dynrec_adam_step_reference(int64_t(n), pp.data(), gp.data(), mp.data(), vp.data(), numels.data(), lr,
                                         beta1, beta2, eps, wd, 1, step, clip, &norm_ref),
              "adam reference");
    for (size_t i = 0; i < n; ++i) pp[i] = put(p[i]), mp[i] = put(m[i]), vp[i] = put(v[i]), gp[i] = put(g[i]);
    const int32_t cuda = DYNREC_DEVICE_CUDA;
    int64_t ws = 0;
    ok_status(dynrec_adam_workspace_size(cuda, int64_t(n), numels.data(), &ws), "adam workspace size");
    float* dnorm = out(1);
    ok_status(dynrec_adam_step(cuda, nullptr, int64_t(n), pp.data(), gp.data(), mp.data(), vp.data(), numels.data(),
                               lr, beta1, beta2, eps, wd, 1, step, clip, dnorm, out(size_t(ws / 4 + 1)), ws),
              "adam step");
    bool failed = false;
    std::string d;
    Host all_p, all_pr, all_p0, all_m, all_mr, all_v, all_vr;
    for (size_t i = 0; i < n; ++i) {
        const size_t k = size_t(numels[i]);
        const Host gotp = get(pp[i], k), gotm = get(mp[i], k), gotv = get(vp[i], k);
        all_p.insert(all_p.end(), gotp.begin(), gotp.end());
        all_pr.insert(all_pr.end(), pr[i].begin(), pr[i].end());
        all_p0.insert(all_p0.end(), p[i].begin(), p[i].end());
        all_m.insert(all_m.end(), gotm.begin(), gotm.end());
        all_mr.insert(all_mr.end(), mr[i].begin(), mr[i].end());
        all_v.insert(all_v.end(), gotv.begin(), gotv.end());
        all_vr.insert(all_vr.end(), vr[i].begin(), vr[i].end());
    }
    d += check("params", all_p, all_pr, 1e-6, failed) + check("update", minus(all_p, all_p0), minus(all_pr, all_p0), 5e-5, failed);
    d += check("exp_avg", all_m, all_mr, 1e-6, failed) + check("exp_avg_sq", all_v, all_vr, 1e-6, failed);
    d += check("grad_norm", get(dnorm, 1), {norm_ref}, 1e-6, failed);
    report(std::string("adam adamw clip=on numel=") + label, failed, d);
    release();
}

// A CUDA workspace off its 16-byte alignment is rejected before any kernel runs (the kernels carve
// int64 and pointer arrays out of it; abi_fuzz.py found a misaligned plan load under UBSan).
void misaligned_workspace_rejected() {
    const std::vector<int64_t> numels{5};
    float* p = put(random_values(5, 1));
    const float* g = put(random_values(5, 2));
    float* m = out(5);
    float* v = out(5);
    int64_t ws = 0;
    ok_status(dynrec_adam_workspace_size(DYNREC_DEVICE_CUDA, 1, numels.data(), &ws), "adam workspace size");
    char* workspace = reinterpret_cast<char*>(out(size_t(ws / 4 + 8)));
    const dynrec_status s = dynrec_adam_step(DYNREC_DEVICE_CUDA, nullptr, 1, &p, &g, &m, &v, numels.data(), 1e-3, 0.9,
                                             0.999, 1e-8, 0.0, 0, 1, 0.0, nullptr, workspace + 4, ws);
    const bool named = s == DYNREC_ERR_INVALID_ARGUMENT && std::strstr(dynrec_last_error(), "16-byte aligned");
    report("adam step with a workspace 4 bytes off alignment is rejected", !named,
           std::string(" status ") + std::to_string(s) + ": " + dynrec_last_error());
    release();
}

// gated_linear's fused forward on tile configs the self-test's shapes do not reach.
void gated_linear_tiles(bool tf32, int64_t T, int64_t B, int64_t ni, int64_t no, int32_t gate, int32_t x_shared,
                        int32_t act, const char* what) {
    const double tol = tf32 ? 5e-3 : 2e-5;
    dynrec_cuda_set_tf32(tf32 ? 1 : 0);
    const int64_t n_gate = gate == DYNREC_GATE_OUTPUT ? no : ni;
    const Host x = random_values(size_t((x_shared ? 1 : T) * B * ni), 31), w = random_values(size_t(T * no * ni), 32, 0.2f);
    const Host b = random_values(size_t(T * no), 33, 0.5f);
    Host delta = random_values(size_t(B * T * n_gate), 34);
    for (float& d : delta) d = 1.0f + d;  // a GateNU-like gate in (0, 2)
    Host act_ref(size_t(T * B * no)), y_ref(act_ref.size());
    ok_status(dynrec_gated_linear_forward_reference(T, B, ni, no, gate, act, x_shared, x.data(), w.data(), b.data(),
                                                    delta.data(), act_ref.data(), y_ref.data()),
              "gated_linear forward reference");
    const int32_t cuda = DYNREC_DEVICE_CUDA;
    int64_t ws = 0;
    ok_status(dynrec_gated_linear_workspace_size(cuda, T, B, ni, no, gate, x_shared, &ws), "gated_linear workspace size");
    float *dact = out(act_ref.size()), *dy = out(y_ref.size());
    ok_status(dynrec_gated_linear_forward(cuda, nullptr, T, B, ni, no, gate, act, x_shared, put(x), put(w), put(b),
                                          put(delta), dact, dy, out(size_t(ws / 4 + 1)), ws),
              "gated_linear forward");
    bool failed = false;
    std::string d = check("y", get(dy, y_ref.size()), y_ref, tol, failed);
    d += check("act_out", get(dact, act_ref.size()), act_ref, tol, failed);
    report(std::string("[") + (tf32 ? "tf32" : "fp32") + "] gated_linear forward " + what, failed, d);
    release();
}

}  // namespace

int main() {
    for (bool tf32 : {false, true}) {
        // 47 x 2 x 3 = 282 tiles of 64x64 (>= 264): the 64x64 config, OUTPUT gate, shared x.
        gated_linear_tiles(tf32, 3, 3000, 20, 100, DYNREC_GATE_OUTPUT, 1, DYNREC_ACT_RELU,
                           "towers=3 rows=3000 in=20 out=100 gate=output x=shared (64x64 tiles)");
        // K = 300 >= 256 over few blocks: 32-deep slices, INPUT gate, per-tower x.
        gated_linear_tiles(tf32, 3, 70, 300, 40, DYNREC_GATE_INPUT, 0, DYNREC_ACT_TANH,
                           "towers=3 rows=70 in=300 out=40 gate=input x=per-tower (32-deep slices)");
    }
    hyper_linear_64x64(false);
    hyper_linear_64x64(true);
    tbe_wide(DYNREC_SPARSE_SGD, "sgd");
    tbe_wide(DYNREC_SPARSE_ROWWISE_ADAGRAD, "rowwise_adagrad");
    tbe_wide(DYNREC_SPARSE_LAZY_ADAM, "lazy_adam step=3");
    tbe_wide(DYNREC_SPARSE_SGD, "sgd", true);
    tbe_wide(DYNREC_SPARSE_LAZY_ADAM, "lazy_adam step=3", true);
    tbe_wide(DYNREC_SPARSE_ROWWISE_ADAGRAD, "rowwise_adagrad", true);
    adam_chunks({40000, 16384, 16385, 3}, "40000+16384+16385+3");
    adam_chunks({257 * 16384 + 5}, "257*16384+5 (258 chunks)");
    misaligned_workspace_rejected();
    dynrec_cuda_set_tf32(1);
    std::printf("%d failed\n", g_failures);
    return g_failures == 0 ? 0 : 1;
}

/* A plain C99 program using only dynrec.h: proves the header needs no C++
 * and the exports link and run from C. Exit code is the test result. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dynrec/dynrec.h"

static int fail(const char* what) {
    fprintf(stderr, "FAIL: %s (last error: %s)\n", what, dynrec_last_error());
    return 1;
}

int main(void) {
    /* batch 2, n_in 3, n_hidden 2, n_out 1; hand-computed expectation. */
    const float x[6] = {1, 2, 3, -1, 0, 1};
    const float w1[6] = {1, 0, 0, 0, 1, 0}; /* hidden = relu(x[:, 0:2]) */
    const float b1[2] = {0, 0};
    const float w2[2] = {1, 1};
    const float b2[1] = {-1};
    float hidden[4], delta[2];
    int32_t count = -1;
    dynrec_status st;
    float e0, e1;

    if (strlen(dynrec_version()) == 0) return fail("version is empty");
    if (dynrec_cuda_device_count(&count) != DYNREC_OK || count < 0) return fail("cuda_device_count");

    st = dynrec_gate_nu_forward(DYNREC_DEVICE_CPU, NULL, 2, 3, 2, 1, x, w1, b1, w2, b2, 2.0f, hidden, delta);
    if (st != DYNREC_OK) return fail("gate_nu_forward");
    e0 = 2.0f / (1.0f + expf(-(1.0f + 2.0f - 1.0f)));
    e1 = 2.0f / (1.0f + expf(-(0.0f + 0.0f - 1.0f)));
    if (fabsf(delta[0] - e0) > 1e-6f || fabsf(delta[1] - e1) > 1e-6f) return fail("gate_nu_forward values");

    st = dynrec_gate_nu_forward(DYNREC_DEVICE_CPU, NULL, 2, 3, 2, 1, NULL, w1, b1, w2, b2, 2.0f, hidden, delta);
    if (st != DYNREC_ERR_INVALID_ARGUMENT) return fail("NULL x must be rejected");
    if (strstr(dynrec_last_error(), "x") == NULL) return fail("message must name x");

    {
        /* hyper_linear, batch 1, 2 -> 1, one condition: S = z g_w^T + g_b = [3.5, 6.5],
         * y = x S + z c_w^T + c_b = 1*3.5 + 2*6.5 + 3*1 - 1 = 18.5. */
        const float hx[2] = {1, 2}, hz[1] = {3}, gw[2] = {1, 2}, gb[2] = {0.5f, 0.5f}, cw[1] = {1}, cb[1] = {-1};
        float hy[1] = {0};
        st = dynrec_hyper_linear_forward(DYNREC_DEVICE_CPU, NULL, 1, 2, 1, 1, 1, hx, hz, gw, gb, cw, cb,
                                         DYNREC_ACT_NONE, hy, NULL, 0);
        if (st != DYNREC_OK) return fail("hyper_linear_forward");
        if (fabsf(hy[0] - 18.5f) > 1e-5f) return fail("hyper_linear_forward value");
    }
    {
        int64_t k = 0, p = 0;
        if (dynrec_apg_layer_dims(256, 256, 1, 4, 4, &k, &p) != DYNREC_OK || k != 64 || p != 64)
            return fail("apg_layer_dims");
        if (dynrec_gated_linear_forward(DYNREC_DEVICE_CPU, NULL, 1, 1, 1, 1, DYNREC_GATE_INPUT, DYNREC_ACT_NONE, 1,
                                        NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0) != DYNREC_ERR_INVALID_ARGUMENT)
            return fail("gated_linear must reject NULL x");
    }

    printf("c_api_test: ok (%s)\n", dynrec_build_info());
    return 0;
}

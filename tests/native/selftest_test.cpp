// dynrec_self_test: the CPU run passes with a line per op, argument errors
// are reported, CUDA is refused cleanly where no device is visible, and the
// report is truncated safely.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "dynrec/dynrec.h"
#include "test_util.h"

namespace {

std::string run_cpu(int32_t* failures) {
    std::vector<char> report(size_t(4) << 20);
    EXPECT_EQ(dynrec_self_test(DYNREC_DEVICE_CPU, failures, report.data(), static_cast<int64_t>(report.size())),
              DYNREC_OK)
        << dynrec_last_error();
    return report.data();
}

TEST(SelfTest, CpuOptimizedKernelsMatchTheReference) {
    int32_t failures = -1;
    const std::string report = run_cpu(&failures);
    EXPECT_EQ(failures, 0) << report;
    for (const char* op : {"gate_nu", "gated_linear", "epnet", "hyper_linear", "apg_layer", "tbe"})
        EXPECT_NE(report.find(std::string("] ") + op + " rows=1000"), std::string::npos) << op << " missing:\n" << report;
    EXPECT_NE(report.find("] adam tensors="), std::string::npos) << "adam missing:\n" << report;
    EXPECT_EQ(report.find("FAIL"), std::string::npos) << report;
    EXPECT_NE(report.find("summary: "), std::string::npos);
}

TEST(SelfTest, RejectsBadArguments) {
    char buf[16];
    EXPECT_TRUE(dynrec_test::rejected_naming(dynrec_self_test(DYNREC_DEVICE_CPU, nullptr, buf, 16), "failures"));
    int32_t failures = 0;
    EXPECT_TRUE(dynrec_test::rejected_naming(dynrec_self_test(7, &failures, buf, 16), "device"));
    EXPECT_TRUE(dynrec_test::rejected_naming(dynrec_self_test(DYNREC_DEVICE_CPU, &failures, nullptr, 16), "report"));
    EXPECT_TRUE(
        dynrec_test::rejected_naming(dynrec_self_test(DYNREC_DEVICE_CPU, &failures, buf, -1), "report_capacity"));
}

TEST(SelfTest, CudaWithoutADeviceIsUnsupported) {
    int32_t count = 0;
    ASSERT_EQ(dynrec_cuda_device_count(&count), DYNREC_OK);
    if (count > 0) GTEST_SKIP() << "a CUDA device is visible; dynrec_selftest --device cuda covers it";
    int32_t failures = 0;
    EXPECT_EQ(dynrec_self_test(DYNREC_DEVICE_CUDA, &failures, nullptr, 0), DYNREC_ERR_UNSUPPORTED);
    EXPECT_NE(std::string(dynrec_last_error()).find("CUDA"), std::string::npos) << dynrec_last_error();
}

// Restricts the self-test to some ops for the scope (the full run is slow under sanitizers).
class OnlyOps {
public:
    explicit OnlyOps(const char* ops) { setenv("DYNREC_SELFTEST_OPS", ops, 1); }
    ~OnlyOps() { unsetenv("DYNREC_SELFTEST_OPS"); }
};

TEST(SelfTest, RunsOnlyTheOpsAskedFor) {
    OnlyOps only("gate_nu,epnet");
    int32_t failures = -1;
    const std::string report = run_cpu(&failures);
    EXPECT_EQ(failures, 0) << report;
    EXPECT_NE(report.find("] gate_nu rows="), std::string::npos) << report;
    EXPECT_NE(report.find("] epnet rows="), std::string::npos) << report;
    EXPECT_EQ(report.find("hyper_linear rows="), std::string::npos) << report;
}

TEST(SelfTest, RejectsAnUnknownOpFilter) {
    OnlyOps only("gate_nu,conv2d");
    int32_t failures = 0;
    EXPECT_EQ(dynrec_self_test(DYNREC_DEVICE_CPU, &failures, nullptr, 0), DYNREC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(dynrec_last_error()).find("unknown op 'conv2d'"), std::string::npos) << dynrec_last_error();
}

TEST(SelfTest, RejectsAnUnknownModeFilter) {
    setenv("DYNREC_SELFTEST_MODES", "fp32,fp16", 1);
    int32_t failures = 0;
    const dynrec_status status = dynrec_self_test(DYNREC_DEVICE_CPU, &failures, nullptr, 0);
    const std::string message = dynrec_last_error();
    unsetenv("DYNREC_SELFTEST_MODES");
    EXPECT_EQ(status, DYNREC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(message.find("unknown mode 'fp16'; valid modes: fp32, fp32-unfused, tf32, tf32-unfused"), std::string::npos)
        << message;
}

TEST(SelfTest, TruncatesTheReportWithinCapacity) {
    OnlyOps only("gate_nu");
    std::vector<char> small(200, 'x');
    int32_t failures = -1;
    ASSERT_EQ(dynrec_self_test(DYNREC_DEVICE_CPU, &failures, small.data(), 100), DYNREC_OK) << dynrec_last_error();
    const std::string text(small.data());
    EXPECT_EQ(text.size(), 99u);
    EXPECT_NE(text.find("[report truncated]"), std::string::npos) << text;
    EXPECT_EQ(small[100], 'x');  // nothing written past the capacity
}

TEST(SelfTest, Tf32SwitchRoundTrips) {
    int32_t before = -1, now = -1;
    ASSERT_EQ(dynrec_cuda_get_tf32(&before), DYNREC_OK);
    ASSERT_EQ(dynrec_cuda_set_tf32(1 - before), DYNREC_OK);
    ASSERT_EQ(dynrec_cuda_get_tf32(&now), DYNREC_OK);
    EXPECT_EQ(now, 1 - before);
    ASSERT_EQ(dynrec_cuda_set_tf32(before), DYNREC_OK);
    EXPECT_TRUE(dynrec_test::rejected_naming(dynrec_cuda_set_tf32(2), "enabled"));
}

TEST(SelfTest, FusedEpiloguesSwitchRoundTrips) {
    int32_t before = -1, now = -1;
    ASSERT_EQ(dynrec_cuda_get_fused_epilogues(&before), DYNREC_OK);
    ASSERT_EQ(dynrec_cuda_set_fused_epilogues(1 - before), DYNREC_OK);
    ASSERT_EQ(dynrec_cuda_get_fused_epilogues(&now), DYNREC_OK);
    EXPECT_EQ(now, 1 - before);
    ASSERT_EQ(dynrec_cuda_set_fused_epilogues(before), DYNREC_OK);
    EXPECT_TRUE(dynrec_test::rejected_naming(dynrec_cuda_set_fused_epilogues(-1), "enabled"));
    EXPECT_TRUE(dynrec_test::rejected_naming(dynrec_cuda_get_fused_epilogues(nullptr), "enabled"));
}

TEST(SelfTest, HyperPathSwitchRoundTripsAndRejectsUnknownPaths) {
    int32_t before = -1, now = -1;
    ASSERT_EQ(dynrec_cuda_get_hyper_path(&before), DYNREC_OK);
    EXPECT_EQ(before, DYNREC_HYPER_PATH_AUTO);  // the default (no DYNREC_CUDA_HYPER_PATH in the test environment)
    for (int32_t path : {DYNREC_HYPER_PATH_OUTER, DYNREC_HYPER_PATH_MATERIALIZED, DYNREC_HYPER_PATH_FUSED,
                         DYNREC_HYPER_PATH_AUTO}) {
        ASSERT_EQ(dynrec_cuda_set_hyper_path(path), DYNREC_OK);
        ASSERT_EQ(dynrec_cuda_get_hyper_path(&now), DYNREC_OK);
        EXPECT_EQ(now, path);
    }
    EXPECT_TRUE(dynrec_test::rejected_naming(dynrec_cuda_set_hyper_path(4), "path"));
    EXPECT_TRUE(dynrec_test::rejected_naming(dynrec_cuda_set_hyper_path(-1), "path"));
    EXPECT_TRUE(dynrec_test::rejected_naming(dynrec_cuda_get_hyper_path(nullptr), "path"));
    ASSERT_EQ(dynrec_cuda_get_hyper_path(&now), DYNREC_OK);
    EXPECT_EQ(now, DYNREC_HYPER_PATH_AUTO);  // a rejected value changes nothing
    ASSERT_EQ(dynrec_cuda_set_hyper_path(before), DYNREC_OK);
}

}  // namespace

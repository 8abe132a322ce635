// The cgroup CPU quota that caps the CPU kernels' default thread count:
// cpu.max / cfs_quota_us parsing, finding the process's cgroup (v2, v1, a
// cgroup namespace, nested limits) from /proc texts and an in-memory file
// system; and dynrec_get_num_threads / dynrec_set_num_threads.
#include <cstdlib>
#include <map>

#include "common/cpu_quota.h"
#include "dynrec/dynrec.h"
#include "test_util.h"

using namespace dynrec::cgroup;

namespace {

ReadFile files(std::map<std::string, std::string> contents) {
    return [contents = std::move(contents)](const std::string& path) -> std::optional<std::string> {
        const auto it = contents.find(path);
        if (it == contents.end()) return std::nullopt;
        return it->second;
    };
}

const char* kV2Mount = "30 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";
const char* kV1Mounts =
    "35 25 0:30 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "36 25 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n";

}  // namespace

TEST(CpuQuota, V2CpuMaxRoundsUpToWholeCpus) {
    EXPECT_EQ(cpus_from_v2_max("max 100000\n"), 0);
    EXPECT_EQ(cpus_from_v2_max("100000 100000\n"), 1);
    EXPECT_EQ(cpus_from_v2_max("150000 100000"), 2);
    EXPECT_EQ(cpus_from_v2_max("50000 100000"), 1);
    EXPECT_EQ(cpus_from_v2_max("1600000 100000"), 16);
    for (const char* bad : {"", "200000", "abc 100000", "100000 0", "-5 100000", "1 2 3"})
        EXPECT_EQ(cpus_from_v2_max(bad), 0) << bad;
}

TEST(CpuQuota, V1QuotaOverPeriod) {
    EXPECT_EQ(cpus_from_v1("-1\n", "100000\n"), 0);
    EXPECT_EQ(cpus_from_v1("250000\n", "100000\n"), 3);
    EXPECT_EQ(cpus_from_v1("100000", "100000"), 1);
    EXPECT_EQ(cpus_from_v1("0", "100000"), 0);
    EXPECT_EQ(cpus_from_v1("100000", "x"), 0);
}

TEST(CpuQuota, V2ContainerInItsOwnNamespace) {
    EXPECT_EQ(cpu_limit("0::/\n", kV2Mount, files({{"/sys/fs/cgroup/cpu.max", "200000 100000\n"}})), 2);
    EXPECT_EQ(cpu_limit("0::/\n", kV2Mount, files({{"/sys/fs/cgroup/cpu.max", "max 100000\n"}})), 0);
}

TEST(CpuQuota, V2TheTightestLimitOnThePathWins) {
    const std::string self = "0::/kubepods/pod1/c1\n";
    EXPECT_EQ(cpu_limit(self, kV2Mount,
                        files({{"/sys/fs/cgroup/kubepods/pod1/c1/cpu.max", "max 100000"},
                               {"/sys/fs/cgroup/kubepods/pod1/cpu.max", "300000 100000"},
                               {"/sys/fs/cgroup/kubepods/cpu.max", "max 100000"}})),
              3);
    EXPECT_EQ(cpu_limit(self, kV2Mount,
                        files({{"/sys/fs/cgroup/kubepods/pod1/c1/cpu.max", "400000 100000"},
                               {"/sys/fs/cgroup/kubepods/pod1/cpu.max", "200000 100000"}})),
              2);
    EXPECT_EQ(cpu_limit(self, kV2Mount, files({})), 0);
}

TEST(CpuQuota, V1CpuController) {
    // Docker on cgroup v1 without a namespace: the mount's root is the container's cgroup.
    const std::string docker = "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n";
    const std::string mounts =
        "36 25 0:31 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro,relatime - cgroup cgroup rw,cpu,cpuacct\n";
    EXPECT_EQ(cpu_limit(docker, mounts,
                        files({{"/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "150000\n"},
                               {"/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n"}})),
              2);
    // A child cgroup of the host's hierarchy (as `mkdir /sys/fs/cgroup/cpu,cpuacct/job` makes).
    EXPECT_EQ(cpu_limit("4:cpu,cpuacct:/job\n", kV1Mounts,
                        files({{"/sys/fs/cgroup/cpu,cpuacct/job/cpu.cfs_quota_us", "100000"},
                               {"/sys/fs/cgroup/cpu,cpuacct/job/cpu.cfs_period_us", "100000"},
                               {"/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "-1"},
                               {"/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000"}})),
              1);
    // Only the cpu controller's line counts (not cpuacct alone, not memory).
    EXPECT_EQ(cpu_limit("3:cpuacct:/job\n", kV1Mounts,
                        files({{"/sys/fs/cgroup/cpu,cpuacct/job/cpu.cfs_quota_us", "100000"},
                               {"/sys/fs/cgroup/cpu,cpuacct/job/cpu.cfs_period_us", "100000"}})),
              0);
}

TEST(CpuQuota, HybridFallsBackToV1WhenV2HasNoLimit) {
    const std::string self = "0::/\n4:cpu,cpuacct:/job\n";
    const std::string mounts = std::string(kV2Mount) + kV1Mounts;
    EXPECT_EQ(cpu_limit(self, mounts,
                        files({{"/sys/fs/cgroup/cpu.max", "max 100000"},
                               {"/sys/fs/cgroup/cpu,cpuacct/job/cpu.cfs_quota_us", "300000"},
                               {"/sys/fs/cgroup/cpu,cpuacct/job/cpu.cfs_period_us", "100000"}})),
              3);
}

TEST(CpuQuota, MissingOrOddInputsMeanNoLimit) {
    EXPECT_EQ(cpu_limit("", "", files({})), 0);
    EXPECT_EQ(cpu_limit("garbage without colons\n", "not a mountinfo line\n", files({})), 0);
    // A path that climbs out of the mount is read at the mount point only.
    EXPECT_EQ(cpu_limit("0::/../../x\n", kV2Mount,
                        files({{"/sys/fs/cgroup/cpu.max", "100000 100000"}, {"/sys/x/cpu.max", "1 100000"}})),
              1);
    // The real machine: whatever it has, the answer is a count or 0, never a failure.
    EXPECT_GE(dynrec::cgroup_cpu_limit(), 0);
}

TEST(CpuThreadsApi, GetReportsTheSetCountAndAPositiveDefault) {
    int32_t n = -1;
    ASSERT_EQ(dynrec_set_num_threads(3), DYNREC_OK);
    ASSERT_EQ(dynrec_get_num_threads(&n), DYNREC_OK);
    EXPECT_EQ(n, 3);
    ASSERT_EQ(dynrec_set_num_threads(0), DYNREC_OK);
    ASSERT_EQ(dynrec_get_num_threads(&n), DYNREC_OK);
    EXPECT_GE(n, 1);
    const int limit = dynrec::cgroup_cpu_limit();
    if (limit > 0 && std::getenv("OMP_NUM_THREADS") == nullptr) {
        EXPECT_LE(n, limit);
    }
    EXPECT_TRUE(dynrec_test::rejected_naming(dynrec_get_num_threads(nullptr), "n"));
}

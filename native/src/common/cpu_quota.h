// The CPUs a cgroup CPU quota lets this process use (Docker --cpus, a
// Kubernetes CPU limit, systemd CPUQuota=). OpenMP's default thread count
// follows the CPU affinity mask but not the quota, so inside a container
// limited to 2 CPUs of a 64-core machine it would start 64 threads that the
// kernel then throttles in turn. .NET and the JVM read the same files.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace dynrec {

// ceil(quota / period) of the tightest quota on the process's cgroup path
// (cgroup v2 cpu.max, or v1 cpu.cfs_quota_us / cpu.cfs_period_us), read once
// and cached; 0 when there is none or it cannot be read.
int cgroup_cpu_limit() noexcept;

namespace cgroup {

// Reads a whole file; nullopt when it does not exist or cannot be read.
using ReadFile = std::function<std::optional<std::string>(const std::string& path)>;

// The same from the given /proc/self/cgroup and /proc/self/mountinfo texts and
// file reader (the testable core of cgroup_cpu_limit): every directory from the
// process's cgroup up to its controller's mount point is checked.
int cpu_limit(const std::string& proc_self_cgroup, const std::string& mountinfo, const ReadFile& read);

// "max 100000" -> 0, "150000 100000" -> 2 (CPUs, rounded up), malformed -> 0.
int cpus_from_v2_max(const std::string& cpu_max);
// quota "-1" (none) -> 0, "250000" / period "100000" -> 3, malformed -> 0.
int cpus_from_v1(const std::string& quota, const std::string& period);

}  // namespace cgroup
}  // namespace dynrec

#include "common/cpu_quota.h"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <vector>

namespace dynrec {
namespace cgroup {
namespace {

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> parts;
    std::string part;
    std::istringstream in(s);
    while (std::getline(in, part, sep)) parts.push_back(part);
    return parts;
}

std::vector<std::string> words(const std::string& line) {
    std::vector<std::string> w;
    std::istringstream in(line);
    for (std::string x; in >> x;) w.push_back(x);
    return w;
}

// A positive decimal integer, or -1.
int64_t parse_positive(const std::string& text) {
    const auto w = words(text);
    if (w.size() != 1 || w[0].empty() || w[0].size() > 18) return -1;
    int64_t v = 0;
    for (char c : w[0]) {
        if (c < '0' || c > '9') return -1;
        v = v * 10 + (c - '0');
    }
    return v > 0 ? v : -1;
}

int cpus(int64_t quota, int64_t period) {
    if (quota <= 0 || period <= 0) return 0;
    const int64_t n = (quota + period - 1) / period;
    return static_cast<int>(std::min<int64_t>(std::max<int64_t>(n, 1), 1 << 20));
}

struct Mount {
    std::string root, point;
};

// The mount of the v2 hierarchy (v1 == false) or of the v1 cpu controller.
std::optional<Mount> find_mount(const std::string& mountinfo, bool v1) {
    std::istringstream in(mountinfo);
    for (std::string line; std::getline(in, line);) {
        const auto w = words(line);
        const auto dash = std::find(w.begin(), w.end(), "-");
        if (w.size() < 5 || dash == w.end() || dash + 3 > w.end()) continue;
        const std::string& fstype = *(dash + 1);
        if (!v1 && fstype == "cgroup2") return Mount{w[3], w[4]};
        if (v1 && fstype == "cgroup") {
            const auto opts = split(*(dash + 3), ',');
            if (std::find(opts.begin(), opts.end(), "cpu") != opts.end()) return Mount{w[3], w[4]};
        }
    }
    return std::nullopt;
}

// The process's cgroup path in the v2 hierarchy ("0::/path") or the v1 cpu controller ("N:cpu,cpuacct:/path").
std::optional<std::string> find_path(const std::string& proc_self_cgroup, bool v1) {
    std::istringstream in(proc_self_cgroup);
    for (std::string line; std::getline(in, line);) {
        const auto first = line.find(':'), second = line.find(':', first == std::string::npos ? 0 : first + 1);
        if (first == std::string::npos || second == std::string::npos) continue;
        const std::string controllers = line.substr(first + 1, second - first - 1), path = line.substr(second + 1);
        if (!v1 && line.compare(0, first, "0") == 0 && controllers.empty()) return path;
        if (v1) {
            const auto names = split(controllers, ',');
            if (std::find(names.begin(), names.end(), "cpu") != names.end()) return path;
        }
    }
    return std::nullopt;
}

// Directories from the process's cgroup up to the mount point, deepest first.
std::vector<std::string> dirs_up(const Mount& m, const std::string& path) {
    std::string rel = path;
    // Inside a cgroup namespace the path is relative to the mount's root already; outside, strip that root.
    if (m.root != "/" && rel.compare(0, m.root.size(), m.root) == 0) rel = rel.substr(m.root.size());
    if (rel.find("..") != std::string::npos) rel = "/";
    std::vector<std::string> dirs;
    for (;;) {
        while (rel.size() > 1 && rel.back() == '/') rel.pop_back();
        dirs.push_back(rel == "/" || rel.empty() ? m.point : m.point + rel);
        if (rel == "/" || rel.empty()) break;
        const auto slash = rel.rfind('/');
        rel = slash == 0 || slash == std::string::npos ? "/" : rel.substr(0, slash);
    }
    return dirs;
}

int tightest(const std::vector<std::string>& dirs, const std::function<int(const std::string&)>& limit_in) {
    int best = 0;
    for (const auto& d : dirs) {
        const int n = limit_in(d);
        if (n > 0 && (best == 0 || n < best)) best = n;
    }
    return best;
}

}  // namespace

int cpus_from_v2_max(const std::string& cpu_max) {
    const auto w = words(cpu_max);
    if (w.size() != 2 || w[0] == "max") return 0;
    return cpus(parse_positive(w[0]), parse_positive(w[1]));
}

int cpus_from_v1(const std::string& quota, const std::string& period) {
    return cpus(parse_positive(quota), parse_positive(period));
}

int cpu_limit(const std::string& proc_self_cgroup, const std::string& mountinfo, const ReadFile& read) {
    const auto m2 = find_mount(mountinfo, false);
    const auto p2 = find_path(proc_self_cgroup, false);
    if (m2 && p2) {
        const int n = tightest(dirs_up(*m2, *p2), [&](const std::string& d) {
            const auto max = read(d + "/cpu.max");
            return max ? cpus_from_v2_max(*max) : 0;
        });
        if (n > 0) return n;
    }
    const auto m1 = find_mount(mountinfo, true);
    const auto p1 = find_path(proc_self_cgroup, true);
    if (m1 && p1)
        return tightest(dirs_up(*m1, *p1), [&](const std::string& d) {
            const auto quota = read(d + "/cpu.cfs_quota_us"), period = read(d + "/cpu.cfs_period_us");
            return quota && period ? cpus_from_v1(*quota, *period) : 0;
        });
    return 0;
}

}  // namespace cgroup

int cgroup_cpu_limit() noexcept {
    static const int limit = [] {
        try {
            const cgroup::ReadFile read = [](const std::string& path) -> std::optional<std::string> {
                std::ifstream f(path);
                if (!f) return std::nullopt;
                std::ostringstream s;
                s << f.rdbuf();
                return s.str();
            };
            const auto self = read("/proc/self/cgroup"), mounts = read("/proc/self/mountinfo");
            return self && mounts ? cgroup::cpu_limit(*self, *mounts, read) : 0;
        } catch (...) {
            return 0;  // no quota known: OpenMP's default stands
        }
    }();
    return limit;
}

}  // namespace dynrec

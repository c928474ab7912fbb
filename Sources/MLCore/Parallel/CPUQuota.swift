import Foundation

/// The CPU limit a container runtime put on this process, read from cgroup v1 or v2.
///
/// Docker's `--cpus=1.5` becomes cgroup v1 `cpu.cfs_quota_us = 150000` over
/// `cpu.cfs_period_us = 100000`, or cgroup v2 `cpu.max = "150000 100000"`. A process that
/// ignores it and starts one thread per host core is throttled and can run many times slower
/// (LightGBM #4425), so the default thread count is `min(cores, ceil(quota / period))`.
public struct CPUQuota: Equatable, Sendable {
    /// CPUs allowed, as a fraction (`1.5` for `--cpus=1.5`).
    public let cpus: Double
    /// Whole threads that fit the quota: `ceil(cpus)`, at least 1.
    public var threads: Int { max(1, Int(cpus.rounded(.up))) }

    /// A quota of `cpus` CPUs (for tests and for callers that know the limit).
    public init(cpus: Double) { self.cpus = cpus }

    /// Reads the quota of the current process. `root` is the cgroup mount point and
    /// `procSelfCgroup` the membership file; both are parameters so tests use fixture trees.
    /// Returns `nil` when no quota is set ("max", -1) or nothing can be read.
    public static func detect(
        root: String = "/sys/fs/cgroup", procSelfCgroup: String = "/proc/self/cgroup"
    ) -> CPUQuota? {
        let memberships = (try? String(contentsOfFile: procSelfCgroup, encoding: .utf8)) ?? ""
        // cgroup v2 ("0::/path") first: on a unified hierarchy it is the one that applies.
        var v2Paths: [String] = []
        var v1Paths: [String] = []
        for line in memberships.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            let path = String(parts[2])
            if parts[0] == "0" && parts[1].isEmpty {
                v2Paths.append(path)
            } else if parts[1].split(separator: ",").contains("cpu") {
                v1Paths.append(path)
            }
        }
        for path in v2Paths {
            if let q = tightest(base: root, path: path, { parseV2(at: $0 + "/cpu.max") }) { return q }
        }
        for path in v1Paths {
            for controller in ["cpu", "cpu,cpuacct", "cpuacct,cpu"] {
                if let q = tightest(base: root + "/" + controller, path: path, { parseV1(directory: $0) }) { return q }
            }
        }
        // No membership file (or nothing under the listed paths): the root of either hierarchy.
        if let q = parseV2(at: root + "/cpu.max") { return q }
        for controller in ["cpu", "cpu,cpuacct"] {
            if let q = parseV1(directory: root + "/" + controller) { return q }
        }
        return nil
    }

    /// The tightest quota from the process's cgroup up to the mount: a parent's limit binds its
    /// children (a systemd slice, a Kubernetes pod), so a leaf saying "max" is not the answer.
    /// Inside a container the listed path is often not visible under the mount (the mount is the
    /// container's own cgroup); then only the mount root is found.
    private static func tightest(base: String, path: String, _ read: (String) -> CPUQuota?) -> CPUQuota? {
        var components = path.split(separator: "/")
        var found: CPUQuota?
        while true {
            let dir = components.isEmpty ? base : base + "/" + components.joined(separator: "/")
            if let q = read(dir), q.cpus < found?.cpus ?? .infinity { found = q }
            if components.isEmpty { return found }
            components.removeLast()
        }
    }

    /// cgroup v2 `cpu.max`: `"<quota> <period>"` or `"max <period>"`.
    static func parseV2(at file: String) -> CPUQuota? {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count >= 1, fields[0] != "max", let quota = Double(fields[0]) else { return nil }
        let period = fields.count >= 2 ? Double(fields[1]) ?? 100_000 : 100_000
        return make(quota: quota, period: period)
    }

    /// cgroup v1 `cpu.cfs_quota_us` (−1 means unlimited) over `cpu.cfs_period_us`.
    static func parseV1(directory: String) -> CPUQuota? {
        func read(_ name: String) -> Double? {
            (try? String(contentsOfFile: directory + "/" + name, encoding: .utf8))
                .flatMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        guard let quota = read("cpu.cfs_quota_us"), let period = read("cpu.cfs_period_us") else { return nil }
        return make(quota: quota, period: period)
    }

    private static func make(quota: Double, period: Double) -> CPUQuota? {
        guard quota > 0, period > 0 else { return nil }
        return CPUQuota(cpus: quota / period)
    }
}

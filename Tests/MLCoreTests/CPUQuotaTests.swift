import Foundation
import MLCore
import Testing

/// A fixture tree under `Fixtures/cgroup/<name>`: `root/` is the cgroup mount and
/// `proc-self-cgroup` the membership file, laid out as the kernel does.
private func cgroupFixture(_ name: String) throws -> (root: String, procSelfCgroup: String) {
    let dir = try fixturesDirectory().appendingPathComponent("cgroup").appendingPathComponent(name)
    try #require(FileManager.default.fileExists(atPath: dir.path), "missing fixture \(name)")
    return (dir.appendingPathComponent("root").path, dir.appendingPathComponent("proc-self-cgroup").path)
}

@Suite("CPUQuota")
struct CPUQuotaTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let fixture: String
        let cpus: Double?
        /// `ceil(cpus)`, at least 1: the table covers 0.5, 1.5, 2, 2.5, 3.5 and 4 CPUs.
        let threads: Int?
        var testDescription: String { fixture }
    }

    static let cases: [Case] = [
        // v1 as on this machine: separate cpu and cpuacct hierarchies plus an empty unified line.
        Case(fixture: "v1-quota", cpus: 2.5, threads: 3),
        Case(fixture: "v1-unlimited", cpus: nil, threads: nil), // cpu.cfs_quota_us = -1
        // Docker's layout: a combined `cpu,cpuacct` directory and a nested container path.
        Case(fixture: "v1-cpu-cpuacct", cpus: 4, threads: 4), // 200000 / 50000
        // The listed path is not visible inside the container: the mount root applies.
        Case(fixture: "v1-container-root", cpus: 0.5, threads: 1),
        Case(fixture: "v2-quota", cpus: 1.5, threads: 2), // cpu.max "150000 100000"
        Case(fixture: "v2-unlimited", cpus: nil, threads: nil), // cpu.max "max 100000"
        // The process's own nested cgroup (3.5 CPUs) is tighter than the root's decoy (8).
        Case(fixture: "v2-nested", cpus: 3.5, threads: 4),
        // The leaf says "max" but an ancestor slice limits it to 2 CPUs.
        Case(fixture: "v2-ancestor", cpus: 2, threads: 2),
    ]

    @Test(arguments: cases)
    func fixtureTrees(_ c: Case) throws {
        let (root, proc) = try cgroupFixture(c.fixture)
        let quota = CPUQuota.detect(root: root, procSelfCgroup: proc)
        #expect(quota?.cpus == c.cpus)
        #expect(quota?.threads == c.threads)
    }

    @Test func withoutMembershipFileTheMountRootIsRead() throws {
        let v2 = try cgroupFixture("v2-quota")
        #expect(CPUQuota.detect(root: v2.root, procSelfCgroup: "/nonexistent/cgroup")?.cpus == 1.5)
        let v1 = try cgroupFixture("v1-quota")
        #expect(CPUQuota.detect(root: v1.root, procSelfCgroup: "/nonexistent/cgroup")?.cpus == 2.5)
    }

    @Test func nothingReadableMeansNoQuota() {
        #expect(CPUQuota.detect(root: "/nonexistent/root", procSelfCgroup: "/nonexistent/cgroup") == nil)
    }

    @Test func detectingThisMachineDoesNotFail() {
        // Whatever the host, detection returns a positive quota or none; it never traps.
        if let q = CPUQuota.detect() { #expect(q.cpus > 0 && q.threads >= 1) }
    }
}

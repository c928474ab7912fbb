import Foundation
import MLCore
import Synchronization
import Testing

/// A quota read from a fixture tree (`CPUQuota` has no public initializer; see the fixtures).
private func quota(_ fixture: String) throws -> CPUQuota {
    let dir = try fixturesDirectory().appendingPathComponent("cgroup").appendingPathComponent(fixture)
    return try #require(CPUQuota.detect(root: dir.appendingPathComponent("root").path,
                                        procSelfCgroup: dir.appendingPathComponent("proc-self-cgroup").path))
}

@Suite("ComputeContext")
struct ComputeContextTests {
    @Test func environmentOverrideWins() throws {
        let q = try quota("v2-quota") // 1.5 CPUs
        #expect(ComputeContext.defaultThreadCount(environment: ["MLCORE_THREADS": "3"], cores: 8, quota: q) == 3)
        #expect(ComputeContext.defaultThreadCount(environment: ["MLCORE_THREADS": "1"], cores: 8, quota: nil) == 1)
        // An explicit request is honoured even beyond the cores: the user asked for it.
        #expect(ComputeContext.defaultThreadCount(environment: ["MLCORE_THREADS": "16"], cores: 2, quota: q) == 16)
    }

    @Test(arguments: ["0", "-2", "abc", "", " 4", "2.5", "4 "])
    func invalidEnvironmentValuesAreIgnored(value: String) throws {
        let q = try quota("v2-quota")
        #expect(ComputeContext.defaultThreadCount(environment: ["MLCORE_THREADS": value], cores: 8, quota: q) == 2)
        #expect(ComputeContext.defaultThreadCount(environment: ["MLCORE_THREADS": value], cores: 3, quota: nil) == 3)
    }

    @Test func coresAndQuota() throws {
        let env: [String: String] = ["OTHER": "7"]
        #expect(ComputeContext.defaultThreadCount(environment: env, cores: 8, quota: nil) == 8)
        #expect(ComputeContext.defaultThreadCount(environment: env, cores: 8, quota: try quota("v2-quota")) == 2) // ceil(1.5)
        #expect(ComputeContext.defaultThreadCount(environment: env, cores: 8, quota: try quota("v1-quota")) == 3) // ceil(2.5)
        #expect(ComputeContext.defaultThreadCount(environment: env, cores: 8, quota: try quota("v1-container-root")) == 1) // 0.5
        #expect(ComputeContext.defaultThreadCount(environment: env, cores: 2, quota: try quota("v1-cpu-cpuacct")) == 2) // 4 CPUs, 2 cores
        #expect(ComputeContext.defaultThreadCount(environment: env, cores: 1, quota: try quota("v2-nested")) == 1)
        #expect(ComputeContext.defaultThreadCount(environment: env, cores: 0, quota: nil) == 1)
        #expect(ComputeContext.defaultThreadCount(environment: env, cores: -3, quota: nil) == 1)
    }

    /// Streams are named by (seed, path): the same path gives the same draws whoever asks, and
    /// another path or seed gives others.
    @Test func randomStreamsFollowSeedAndPath() {
        let context = ComputeContext(threads: 2, seed: 7)
        var a = context.randomStream(3, 5), b = context.randomStream(3, 5)
        #expect((0..<8).map { _ in a.next() } == (0..<8).map { _ in b.next() })
        #expect(context.randomStream(3, 5) == RandomStream(seed: 7, path: [3, 5]))
        #expect(context.randomStream(3, 6) != context.randomStream(3, 5))
        #expect(ComputeContext(threads: 8, seed: 8).randomStream(3, 5) != context.randomStream(3, 5))
        #expect(ComputeContext(threads: 8, seed: 7).randomStream(3, 5) == context.randomStream(3, 5), "not the thread count")
    }

    @Test func initializer() {
        #expect(ComputeContext(threads: 0).threads == 1)
        #expect(ComputeContext(threads: -4).threads == 1)
        #expect(ComputeContext(threads: 6).threads == 6)
        #expect(ComputeContext().threads >= 1)
        let c = ComputeContext(threads: 2, seed: 42)
        #expect(c.blasThreadPolicy == .singleThreaded && c.seed == 42)
        #expect(c == ComputeContext(threads: 2, blasThreadPolicy: .singleThreaded, seed: 42))
        #expect(c != ComputeContext(threads: 2, blasThreadPolicy: .multiThreaded(threads: 2), seed: 42))
    }
}

/// Tests that change OpenBLAS's process-wide thread count. Serialized, and each restores the
/// setting it found.
@Suite("BLAS thread policy", .serialized)
struct BLASThreadPolicyTests {
    /// `apply` is refused while *any* parallel region runs, including ones from tests running
    /// concurrently in other suites, so outside a region retry briefly.
    private func applyOutsideRegions(_ policy: BLASThreadPolicy) -> Bool {
        for _ in 0..<2000 {
            if BLASThreads.apply(policy) { return true }
            usleep(1000)
        }
        return false
    }

    private func restore(_ threads: Int) {
        #expect(applyOutsideRegions(threads == 1 ? .singleThreaded : .multiThreaded(threads: threads)))
        #expect(BLASThreads.current == threads)
    }

    @Test func applySetsOpenBLASThreads() {
        let original = BLASThreads.current
        defer { restore(original) }
        #expect(applyOutsideRegions(.singleThreaded))
        #expect(BLASThreads.current == 1)
        guard BLASThreads.parallelMode != 0 else { return } // a sequential OpenBLAS build stays at 1
        #expect(applyOutsideRegions(.multiThreaded(threads: 2)))
        #expect(BLASThreads.current == 2)
        #expect(applyOutsideRegions(.multiThreaded(threads: 0)), "clamped to one thread")
        #expect(BLASThreads.current == 1)
        #expect(ComputeContext(threads: 1, blasThreadPolicy: .multiThreaded(threads: 2)).applyBLASPolicy()
                || applyOutsideRegions(.multiThreaded(threads: 2)))
        #expect(BLASThreads.current == 2)
    }

    @Test(arguments: [(4, 2), (8, 3), (1, 4), (5, 1)])
    func refusedInsideParallelRegions(blocks: Int, threads: Int) {
        let original = BLASThreads.current
        defer { restore(original) }
        let target = original == 1 ? 2 : 1
        let answers = Mutex<[Bool]>([])
        parallelFor(blocks: blocks, threads: threads) { _ in
            let a = BLASThreads.apply(target == 1 ? .singleThreaded : .multiThreaded(threads: target))
            let b = ComputeContext(threads: 1, blasThreadPolicy: .singleThreaded).applyBLASPolicy()
            answers.withLock { $0 += [a, b] }
        }
        parallelFor(blocks: blocks, threads: threads, makeScratch: { 0 }) { _, _ in
            let a = BLASThreads.apply(.multiThreaded(threads: 2))
            answers.withLock { $0.append(a) }
        }
        let refusals = answers.withLock { $0 }
        #expect(refusals.count == 3 * blocks)
        #expect(refusals.allSatisfy { !$0 }, "apply must be refused inside any parallelFor body, serial or not")
        #expect(BLASThreads.current == original, "a refused apply leaves the setting alone")
    }

    @Test func configurationIsReported() {
        #expect(BLASThreads.configuration.contains("OpenBLAS"))
        #expect(!BLASThreads.coreName.isEmpty)
        #expect((0...2).contains(BLASThreads.parallelMode))
    }
}

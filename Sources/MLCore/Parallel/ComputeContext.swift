import Foundation

/// Where and how a computation runs: how many workers, how OpenBLAS uses threads, which seed.
///
/// One context per training run. Algorithms take it as a parameter; nothing reads globals.
public struct ComputeContext: Sendable, Equatable {
    /// Worker threads for ``parallelFor(blocks:threads:_:)``.
    public var threads: Int
    /// How OpenBLAS threads; applied by ``applyBLASPolicy()``.
    public var blasThreadPolicy: BLASThreadPolicy
    /// The root seed; every random stream derives from it and a stream index.
    public var seed: UInt64

    public init(threads: Int? = nil, blasThreadPolicy: BLASThreadPolicy = .singleThreaded, seed: UInt64 = 0) {
        self.threads = max(1, threads ?? Self.defaultThreadCount())
        self.blasThreadPolicy = blasThreadPolicy
        self.seed = seed
    }

    /// `min(online cores, cgroup CPU quota)`; the `MLCORE_THREADS` environment variable, when a
    /// positive integer, overrides it.
    public static func defaultThreadCount(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        cores: Int = ProcessInfo.processInfo.activeProcessorCount,
        quota: CPUQuota? = CPUQuota.detect()
    ) -> Int {
        if let text = environment["MLCORE_THREADS"], let n = Int(text), n > 0 { return n }
        let c = max(1, cores)
        guard let quota else { return c }
        return min(c, quota.threads)
    }

    /// The random stream for `path` under this context's seed — e.g. `[epoch, microShard]` —
    /// so draws depend on what they are for, never on which worker makes them.
    public func randomStream(_ path: UInt64...) -> RandomStream {
        RandomStream(seed: seed, path: path)
    }

    /// Sets OpenBLAS's thread count from ``blasThreadPolicy``. Returns `false` when called from
    /// inside a parallel region (refused, see ``BLASThreads/apply(_:)``).
    @discardableResult
    public func applyBLASPolicy() -> Bool { BLASThreads.apply(blasThreadPolicy) }
}

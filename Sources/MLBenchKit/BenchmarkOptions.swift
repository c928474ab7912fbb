import Foundation
import MLCore

/// What `mlbench <suite>` was asked to do. Each option is documented here once, with its
/// default and its constraint; `mlbench --help` and docs/mlbench.md repeat it.
public struct BenchmarkOptions: Sendable, Equatable {
    /// Threads every implementation may use (OpenBLAS threads and/or workers, per suite).
    /// Default ``ComputeContext/defaultThreadCount(environment:cores:quota:)``: min(cores, cgroup
    /// quota), or `MLCORE_THREADS`. Constraint: 1...``maximumThreads``.
    public var threads: Int
    /// Timed runs per workload and implementation. Default 5. Constraint: 1...1000.
    public var `repeat`: Int
    /// Untimed runs before the timed ones. Default 1. Constraint: 0...100.
    public var warmup: Int
    /// Also run each workload's peer (Benchmarks/peers/) on the same data and threads. Default off.
    public var peers: Bool
    /// Print one JSON object per line on stdout instead of tables. Default off.
    public var json: Bool
    /// Where generated inputs and compiled peers go. Default `.mlbench-data/` in the current directory.
    public var dataDirectory: URL

    public static let maximumThreads = 1024
    public static let defaultRepeat = 5
    public static let defaultWarmup = 1

    public init(
        threads: Int? = nil, repeat: Int = defaultRepeat, warmup: Int = defaultWarmup, peers: Bool = false, json: Bool = false,
        dataDirectory: URL? = nil
    ) {
        self.threads = threads ?? ComputeContext.defaultThreadCount()
        self.repeat = `repeat`
        self.warmup = warmup
        self.peers = peers
        self.json = json
        self.dataDirectory = dataDirectory
            ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".mlbench-data")
    }

    /// Throws ``BenchmarkError/invalidOption(name:value:rule:)`` for the first option out of range.
    public func validate() throws(BenchmarkError) {
        guard (1...Self.maximumThreads).contains(threads) else {
            throw .invalidOption(name: "threads", value: String(threads), rule: "must be between 1 and \(Self.maximumThreads)")
        }
        guard (1...1000).contains(`repeat`) else {
            throw .invalidOption(name: "repeat", value: String(`repeat`), rule: "must be between 1 and 1000")
        }
        guard (0...100).contains(warmup) else {
            throw .invalidOption(name: "warmup", value: String(warmup), rule: "must be between 0 and 100")
        }
        guard !dataDirectory.path.isEmpty else {
            throw .invalidOption(name: "data-dir", value: "''", rule: "must be a directory path")
        }
    }
}

import Foundation
import Logging

/// A named group of workloads `mlbench <name>` runs.
///
/// A suite sets up each workload's data outside the timed region, checks its result before
/// timing it (throwing ``BenchmarkError/wrongResult(workload:detail:)`` when it is wrong), times
/// it with ``BenchmarkContext/measure(budgetSeconds:_:)``, records it with
/// ``BenchmarkContext/result(workload:impl:version:timing:metrics:)``, and, when
/// `context.options.peers` is set, runs its peers through ``BenchmarkContext/runPeer(_:_:)``.
/// Register it in ``BenchmarkRegistry/suites``.
public protocol BenchmarkSuite: Sendable {
    /// The command-line name (`gemm`, `csv`).
    var name: String { get }
    /// One line for `mlbench list` and the report's heading.
    var summary: String { get }
    /// Runs every workload; returns our results and the peers' results, in report order.
    func run(_ context: BenchmarkContext) throws -> [BenchmarkResult]
    /// The metric the table shows for `result` and compares between `mlcore` and a peer
    /// (`nil`: compare median times). The default picks the first of ``defaultKeyMetrics``
    /// the result has.
    func keyMetric(for result: BenchmarkResult) -> String?
    /// Lines the table prints under the results (goals met or not). Default none.
    func notes(for results: [BenchmarkResult]) -> [String]
}

extension BenchmarkSuite {
    public func notes(for results: [BenchmarkResult]) -> [String] { [] }

    public func keyMetric(for result: BenchmarkResult) -> String? {
        defaultKeyMetrics.first { result.metrics[$0] != nil }
    }
}

/// Rates, best first, that the table shows by default.
public let defaultKeyMetrics = [
    "calls_per_s", "gflops", "mb_per_s", "rows_per_s", "images_per_s", "requests_per_s",
    "peak_sgemm",
]

/// Everything a suite needs while it runs: the options, the machine, a logger, the peer runner,
/// and the place to report peer failures. One per suite run; used from one thread.
public final class BenchmarkContext {
    /// The suite being run; stamped on every result.
    public let suite: String
    public let options: BenchmarkOptions
    public let machine: MachineInfo
    public let peers: PeerRunner
    /// Progress and diagnostics (stderr). Never the results.
    public let logger: Logger
    /// Peers that failed, in order; printed as error lines, and `mlbench` exits 1.
    public private(set) var peerFailures: [PeerFailure] = []

    public init(suite: String, options: BenchmarkOptions, machine: MachineInfo, peers: PeerRunner, logger: Logger) {
        self.suite = suite
        self.options = options
        self.machine = machine
        self.peers = peers
        self.logger = logger
    }

    /// `--threads`.
    public var threads: Int { options.threads }
    /// Our version on result lines: the commit.
    public var version: String { machine.commit }

    /// `--warmup` untimed runs, then `--repeat` timed runs of `body` (see ``measure(warmup:repeat:budgetSeconds:minimumRuns:_:)``).
    public func measure(budgetSeconds: Double? = nil, _ body: () throws -> Void) throws -> TimingSummary {
        try MLBenchKit.measure(
            warmup: options.warmup, repeat: options.repeat, budgetSeconds: budgetSeconds, body)
    }

    /// A result line for this suite, with our peak RSS as of now.
    public func result(
        workload: String, impl: String = "mlcore", version: String? = nil, timing: TimingSummary,
        metrics: [String: Double] = [:]
    ) -> BenchmarkResult {
        BenchmarkResult(
            suite: suite, workload: workload, impl: impl, version: version ?? self.version, threads: threads,
            timing: timing, peakRSSMegabytes: peakRSSMegabytes(), metrics: metrics)
    }

    /// Runs a peer; on failure records it (reported as an error line) and returns no results,
    /// so the suite carries on.
    public func runPeer(_ peer: String, _ body: () throws(PeerError) -> [BenchmarkResult]) -> [BenchmarkResult] {
        logger.info("running peer \(peer)")
        do {
            return try body()
        } catch {
            recordPeerFailure(peer, error.description)
            return []
        }
    }

    /// Records a peer problem found after it ran (e.g. it computed something else).
    public func recordPeerFailure(_ peer: String, _ message: String) {
        logger.debug("peer \(peer) failed: \(message)")
        peerFailures.append(PeerFailure(suite: suite, peer: peer, message: message))
    }

    /// `<data directory>/<name>`, creating the data directory if needed.
    public func dataFile(_ name: String) throws -> URL {
        try FileManager.default.createDirectory(at: options.dataDirectory, withIntermediateDirectories: true)
        return options.dataDirectory.appendingPathComponent(name)
    }
}

/// A peer that produced no (or no trustworthy) result.
public struct PeerFailure: Sendable, Equatable, CustomStringConvertible {
    public var suite: String
    public var peer: String
    public var message: String
    public var description: String { "\(suite): peer \(peer): \(message)" }
}

import Foundation
import Logging

/// What one suite run produced: results (ours and the peers') and peer failures.
public struct BenchmarkReport: Sendable {
    public var suite: String
    public var summary: String
    public var results: [BenchmarkResult]
    public var peerFailures: [PeerFailure]
    /// The metric each result is shown and compared by (the suite's ``BenchmarkSuite/keyMetric(for:)``).
    public var keyMetrics: [String?]
    /// Lines printed under the table (the suite's ``BenchmarkSuite/notes(for:)``: goals).
    public var notes: [String]

    public init(
        suite: String, summary: String, results: [BenchmarkResult], peerFailures: [PeerFailure], keyMetrics: [String?],
        notes: [String] = []
    ) {
        self.notes = notes
        self.suite = suite
        self.summary = summary
        self.results = results
        self.peerFailures = peerFailures
        self.keyMetrics = keyMetrics
    }

    /// Runs `suite` with `options` (validated first).
    public static func run(
        _ suite: any BenchmarkSuite, options: BenchmarkOptions, machine: MachineInfo,
        peers: PeerRunner? = nil, logger: Logger = Logger(label: "mlbench")
    ) throws -> BenchmarkReport {
        try options.validate()
        let context = BenchmarkContext(
            suite: suite.name, options: options, machine: machine,
            peers: peers ?? PeerRunner.standard(options: options), logger: logger)
        let results = try suite.run(context)
        return BenchmarkReport(
            suite: suite.name, summary: suite.summary, results: results, peerFailures: context.peerFailures,
            keyMetrics: results.map { suite.keyMetric(for: $0) }, notes: suite.notes(for: results))
    }

    /// One JSON line per result, each ending in a newline.
    public var jsonLines: String { results.map { $0.jsonLine + "\n" }.joined() }

    private func keyMetric(at index: Int) -> String? { keyMetrics.indices.contains(index) ? keyMetrics[index] : nil }

    /// `mlcore ÷ peer` for a peer's result: of the key metric when both have it, else of the
    /// median time. `nil` for our own results and when there is no `mlcore` result to compare.
    public func ratio(at index: Int) -> (value: Double, of: String)? {
        let peer = results[index]
        guard peer.impl != "mlcore",
              let ours = results.first(where: { $0.impl == "mlcore" && $0.workload == peer.workload })
        else { return nil }
        if let metric = keyMetric(at: index), let a = ours.metrics[metric], let b = peer.metrics[metric], b != 0 {
            return (a / b, metric)
        }
        guard peer.medianSeconds > 0 else { return nil }
        return (ours.medianSeconds / peer.medianSeconds, "time")
    }

    /// The human table: workload, impl, threads, median, min–max, key metric, mlcore/peer.
    public var table: String {
        var rows: [[String]] = [["workload", "impl", "threads", "median", "spread (min–max)", "metric", "mlcore/peer"]]
        for (i, r) in results.enumerated() {
            let metric = keyMetric(at: i).flatMap { name in r.metrics[name].map { "\(name) \(Format.metric($0))" } } ?? ""
            let ratio = self.ratio(at: i).map { String(format: "%.3f× ", $0.value) + $0.of } ?? ""
            let unit = Format.unit(for: r.medianSeconds)
            rows.append([
                r.workload, r.impl, String(r.threads), Format.seconds(r.medianSeconds, unit),
                Format.seconds(r.minSeconds, unit, withUnit: false) + "–" + Format.seconds(r.maxSeconds, unit)
                    + " (\(r.runs) runs)",
                metric, ratio,
            ])
        }
        let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        var out = "\(suite) — \(summary)\n"
        for (i, row) in rows.enumerated() {
            let cells = row.enumerated().map { column, cell in
                cell + String(repeating: " ", count: widths[column] - cell.count)
            }
            out += cells.joined(separator: "  ").trimmingCharacters(in: .whitespaces) + "\n"
            if i == 0 { out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n" }
        }
        for note in notes { out += note + "\n" }
        return out
    }

    /// The heading printed before any table: machine, OpenBLAS, commit, settings.
    public static func header(machine: MachineInfo, options: BenchmarkOptions) -> String {
        let quota = machine.cpuQuota.map { String(format: "cgroup quota %.2f CPUs", $0) } ?? "no cgroup CPU quota"
        return """
            mlbench — commit \(machine.commit)
            machine: \(machine.cpuModel), \(machine.cores) cores, \(quota), default threads \(machine.defaultThreads)
            OpenBLAS: \(machine.openBLASConfiguration) (core \(machine.openBLASCoreName), \(machine.openBLASParallelName), \(machine.openBLASThreadsAtStart) threads at start)
            settings: threads \(options.threads), repeat \(options.repeat), warm-up \(options.warmup), peers \(options.peers ? "on" : "off")

            """
    }
}

/// Number formatting for the human table.
enum Format {
    enum Unit { case s, ms, us }

    static func unit(for seconds: Double) -> Unit { seconds >= 1 ? .s : seconds >= 1e-3 ? .ms : .us }

    static func seconds(_ value: Double, _ unit: Unit, withUnit: Bool = true) -> String {
        switch unit {
        case .s: return String(format: "%.3f", value) + (withUnit ? " s" : "")
        case .ms: return String(format: "%.2f", value * 1e3) + (withUnit ? " ms" : "")
        case .us: return String(format: "%.1f", value * 1e6) + (withUnit ? " µs" : "")
        }
    }

    /// Four significant figures, no exponent below a billion.
    static func metric(_ value: Double) -> String {
        let magnitude = abs(value)
        if magnitude >= 1e9 || (magnitude < 1e-3 && magnitude > 0) { return String(format: "%.4g", value) }
        if magnitude >= 1000 { return String(format: "%.0f", value) }
        return String(format: "%.4g", value)
    }
}

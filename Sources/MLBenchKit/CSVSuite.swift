import Foundation
import MLCore

/// `mlbench csv`: SageMaker CSV ingest — 1M rows × (label + 100 features), about 1.1 GB — parsed
/// into a `Float32` matrix, against pandas `read_csv` with its C engine on the same file.
///
/// Timed: reading and parsing the whole file into memory (`CSVReader.readAll`), from the page
/// cache (the untimed warm-up run reads it once). Not timed: generating the file (cached in the
/// data directory under a name that encodes shape, seed and generator version).
/// Checked before timing: the shape, and the first and last 1,000 rows bit for bit against the
/// generator's Float values. The peer's row count, column count and first-feature sum must
/// match ours, or its figure is reported as a failure instead of a ratio.
public struct CSVSuite: BenchmarkSuite {
    public let name = "csv"
    public let summary = "CSV ingest, 1M rows × 101 columns (label first), MB/s vs pandas read_csv (C engine)"
    public let rows: Int
    public let features: Int
    let seed: UInt64 = 42

    public init(rows: Int = 1_000_000, features: Int = 100) {
        self.rows = rows
        self.features = features
    }

    var workload: String { "read_\(rows / 1000)kx\(features + 1)" }

    public func run(_ context: BenchmarkContext) throws -> [BenchmarkResult] {
        let file = try context.dataFile(CSVWorkload.fileName(rows: rows, features: features, seed: seed))
        if !FileManager.default.fileExists(atPath: file.path) {
            context.logger.info("writing \(file.path) (once; cached for later runs)")
        }
        try CSVWorkload.ensure(path: file.path, rows: rows, features: features, seed: seed, threads: context.threads)
        let bytes = Double((try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0)
        let options = CSVOptions(labelSize: 1, threads: context.threads)

        // Check the result before timing it (this also brings the file into the page cache).
        let checkSum = try check(try CSVReader.readAll(files: [file.path], options: options))

        let timing = try context.measure {
            let batch = try CSVReader.readAll(files: [file.path], options: options)
            // Consume the result so the work cannot be optimized away, and catch a changed parse.
            guard batch.rows == rows else {
                throw BenchmarkError.wrongResult(workload: workload, detail: "a timed run read \(batch.rows) rows")
            }
        }
        var results = [context.result(workload: workload, timing: timing, metrics: [
            "mb_per_s": bytes / 1e6 / timing.median,
            "rows_per_s": Double(rows) / timing.median,
            "file_mb": bytes / 1e6,
        ])]

        if context.options.peers {
            let peer = context.runPeer("pandas") { () throws(PeerError) in
                try context.peers.runScript("csv/pandas_read_csv.py", arguments: [
                    "--file", file.path, "--threads", String(context.threads),
                    "--repeat", String(max(1, min(context.options.repeat, 3))), "--warmup", "1", "--workload", workload,
                ])
            }
            for result in peer {
                let peerRows = result.metrics["rows"] ?? -1, peerColumns = result.metrics["columns"] ?? -1
                let peerSum = result.metrics["check_sum_col1"] ?? .nan
                if peerRows != Double(rows) || peerColumns != Double(features + 1) || !(abs(peerSum - checkSum) <= 0.1) {
                    context.recordPeerFailure("pandas", "read \(peerRows) × \(peerColumns), first-feature sum \(peerSum); expected \(rows) × \(features + 1), \(checkSum)")
                } else {
                    results.append(result)
                }
            }
        }
        return results
    }

    /// Verifies shape and the first and last 1,000 rows; returns the first feature column's sum.
    func check(_ batch: Batch) throws -> Double {
        guard case .dense(let x) = batch.features, x.rows == rows, x.columns == features,
              let labels = batch.labels, labels.rows == rows, labels.columns == 1
        else {
            throw BenchmarkError.wrongResult(workload: workload, detail: "expected \(rows) × \(features) features and 1 label column")
        }
        let sample = Array(0..<min(1000, rows)) + Array(max(1000, rows - 1000)..<rows)
        for r in sample {
            let (label, values) = CSVWorkload.row(r, features: features, seed: seed)
            let parsed = x.row(r)
            guard labels[r, 0] == label, zip(parsed, values).allSatisfy({ $0.bitPattern == $1.bitPattern }) else {
                throw BenchmarkError.wrongResult(workload: workload, detail: "row \(r) differs from the values written")
            }
        }
        var sum = 0.0
        for r in 0..<rows { sum += Double(x[r, 0]) }
        return sum
    }
}

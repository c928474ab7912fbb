import Foundation
import MLCore

/// The `csv` suite's input: a SageMaker-style CSV (no header, label first) written
/// deterministically (MLCore's `RandomStream`, one stream per row), so every machine and
/// every peer parses the same bytes.
///
/// Features are standard normal Float32 values printed in Swift's shortest round-trip form (up to
/// 9 significant digits, e.g. `-0.8125447`, `1.2339e-05`), which is what a float32-aware writer
/// produces; the label is 1 when a fixed linear score of the row is positive. One row is about
/// 1.1 KB, so the default 1M × (1 + 100) file is about 1.1 GB.
public enum CSVWorkload {
    /// File name that encodes the shape and the generator version, so a stale cache is never reused.
    public static func fileName(rows: Int, features: Int, seed: UInt64) -> String {
        "csv-v2-\(rows)x\(features + 1)-seed\(seed).csv"
    }

    /// Writes the file at `path` (atomically: a temporary file, then a rename) unless it exists.
    public static func ensure(path: String, rows: Int, features: Int, seed: UInt64, threads: Int) throws {
        if FileManager.default.fileExists(atPath: path) { return }
        let temporary = path + ".partial"
        _ = FileManager.default.createFile(atPath: temporary, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: temporary) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temporary])
        }
        let blockRows = 10_000
        let blocks = (rows + blockRows - 1) / blockRows
        let group = max(1, threads * 2)
        var first = 0
        while first < blocks {
            let count = min(group, blocks - first)
            let texts = TextBlocks(count: count)
            let base = first
            parallelFor(blocks: count, threads: threads) { k in
                let b = base + k
                texts.set(k, block(rows: (b * blockRows)..<min(rows, (b + 1) * blockRows), features: features, seed: seed))
            }
            for k in 0..<count { try handle.write(contentsOf: texts.get(k)) }
            first += count
        }
        try handle.close()
        try FileManager.default.moveItem(atPath: temporary, toPath: path)
    }

    /// The label and feature values of `row`, exactly as written. Each row's values come from its
    /// own stream (seed, row), so the file does not depend on the block size or the thread count.
    public static func row(_ row: Int, features: Int, seed: UInt64) -> (label: Float, values: [Float]) {
        var g = RandomStream(seed: seed, stream: UInt64(row))
        var score: Float = 0
        var values = [Float](repeating: 0, count: features)
        for j in 0..<features {
            let v = Float(g.standardNormal())
            values[j] = v
            if j < 10 { score += j % 2 == 0 ? v : -0.5 * v }
        }
        return (score > 0 ? 1 : 0, values)
    }

    /// The bytes of rows `range`.
    static func block(rows range: Range<Int>, features: Int, seed: UInt64) -> Data {
        var text = ""
        text.reserveCapacity(range.count * (features + 1) * 12)
        for r in range {
            let (label, values) = row(r, features: features, seed: seed)
            text += label == 1 ? "1" : "0"
            for v in values {
                text += ","
                // Swift prints the shortest decimal that reads back as the same Float.
                text += v.description
            }
            text += "\n"
        }
        return Data(text.utf8)
    }
}

/// Text blocks produced in parallel, one slot per block.
private final class TextBlocks: @unchecked Sendable {
    private var slots: [Data]
    init(count: Int) { slots = Array(repeating: Data(), count: count) }
    func set(_ i: Int, _ d: Data) { slots.withUnsafeMutableBufferPointer { $0[i] = d } }
    func get(_ i: Int) -> Data { slots[i] }
}

import Foundation
import MLCore

/// The `linear` suite's data: `rows × features` Float32 standard-normal features and labels drawn
/// from a logistic model, `P(y = 1) = σ(x·w + 0.3)` with fixed true weights `w ~ N(0, 4/d)` (the
/// score has standard deviation about 2: neither trivial nor hopeless, validation log-loss about
/// 0.33). Each row comes from its own stream (seed, row), so the data does not depend on the
/// thread count. The first 90% of rows train, the rest validate.
///
/// Written once as NPY files (`train_x.npy`, `train_y.npy`, `validation_x.npy`,
/// `validation_y.npy`) in a directory whose name encodes shape, seed and generator version, so
/// both we and the Python peers read the very same bytes.
public enum LinearWorkload {
    public static func directoryName(rows: Int, features: Int, seed: UInt64) -> String {
        "linear-v1-\(rows)x\(features)-seed\(seed)"
    }

    /// Rows that train (the rest validate).
    public static func trainRows(_ rows: Int) -> Int { rows * 9 / 10 }

    public static func trueWeights(features: Int, seed: UInt64) -> [Double] {
        var g = RandomStream(seed: seed, path: [0xC0EF])
        let sd = 2 / Double(features).squareRoot()
        return (0..<features).map { _ in g.standardNormal() * sd }
    }

    /// Generates the four files in `directory` unless they all exist.
    public static func ensure(directory: String, rows: Int, features: Int, seed: UInt64, threads: Int) throws {
        let names = ["train_x.npy", "train_y.npy", "validation_x.npy", "validation_y.npy"]
        let fm = FileManager.default
        if names.allSatisfy({ fm.fileExists(atPath: directory + "/" + $0) }) { return }
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let w = trueWeights(features: features, seed: seed)
        var x = Matrix<Float>(rows: rows, columns: features)
        var y = [Float](repeating: 0, count: rows)
        x.withUnsafeMutableBufferPointer { px in
            y.withUnsafeMutableBufferPointer { py in
                let xs = SharedMutablePointer(px.baseAddress!), ys = SharedMutablePointer(py.baseAddress!)  // invariant: rows, features > 0
                parallelFor(blocks: (rows + 4095) / 4096, threads: threads) { b in
                    for i in (b * 4096)..<min(rows, (b + 1) * 4096) {
                        var g = RandomStream(seed: seed, stream: UInt64(i))
                        var z = 0.3
                        for j in 0..<features {
                            let v = Float(g.standardNormal())
                            xs[i * features + j] = v
                            z += Double(v) * w[j]
                        }
                        ys[i] = g.nextDouble() < 1 / (1 + exp(-z)) ? 1 : 0
                    }
                }
            }
        }
        let cut = trainRows(rows)
        // The labels last: `ensure` checks for all four, so a crash in between regenerates.
        try NPYWriter.write(x.rows(0..<cut), to: directory + "/train_x.npy")
        try NPYWriter.write(x.rows(cut..<rows), to: directory + "/validation_x.npy")
        try NPYWriter.write(Array(y[cut...]), to: directory + "/validation_y.npy")
        try NPYWriter.write(Array(y[..<cut]), to: directory + "/train_y.npy")
    }
}

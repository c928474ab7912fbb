import Foundation
import MLCore

/// The `linear-sparse` suite's data: `rows` CSR rows over `features` features with `nonzeros`
/// distinct random features per row, values standard normal, labels from a logistic model
/// `P(y = 1) = σ(x·w)` with true weights `w ~ N(0, 4/nonzeros)` on every feature (the score has
/// standard deviation about 2, as in `linear`). Each row comes from its own stream (seed, row).
/// The first 90% of rows train, the rest validate.
///
/// Written once as NPY files per split, the CSR arrays as scipy.sparse.csr_matrix takes them:
/// `<split>_indptr.npy` (float64: offsets reach 45M, beyond float32's exact integers),
/// `<split>_indices.npy` (float32: indices below 2²⁴ are exact), `<split>_data.npy` (float32)
/// and `<split>_y.npy` (float32), so we and the Python peer read the very same bytes.
public enum LinearSparseWorkload {
    public static func directoryName(rows: Int, features: Int, nonzeros: Int, seed: UInt64) -> String {
        "linear-sparse-v1-\(rows)x\(features)-nnz\(nonzeros)-seed\(seed)"
    }

    public static func ensure(directory: String, rows: Int, features: Int, nonzeros: Int, seed: UInt64) throws {
        let splits = ["train", "validation"]
        let names = splits.flatMap { s in ["indptr", "indices", "data", "y"].map { "\(s)_\($0).npy" } }
        let fm = FileManager.default
        if names.allSatisfy({ fm.fileExists(atPath: directory + "/" + $0) }) { return }
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var g = RandomStream(seed: seed, path: [0x5BA5])
        let sd = 2 / Double(nonzeros).squareRoot()
        let w = (0..<features).map { _ in g.standardNormal() * sd }
        let cut = rows * 9 / 10
        for (split, range) in zip(splits, [0..<cut, cut..<rows]) {
            var indptr: [Double] = [0], indices: [Float] = [], data: [Float] = [], y: [Float] = []
            indices.reserveCapacity(range.count * nonzeros)
            data.reserveCapacity(range.count * nonzeros)
            var seen = [Int](repeating: -1, count: features)
            for i in range {
                var r = RandomStream(seed: seed, stream: UInt64(i))
                var columns: [Int] = []
                while columns.count < nonzeros {
                    let c = Int(r.next() % UInt64(features))
                    if seen[c] != i {
                        seen[c] = i
                        columns.append(c)
                    }
                }
                columns.sort()
                var z = 0.0
                for c in columns {
                    let v = r.standardNormal()
                    indices.append(Float(c))
                    data.append(Float(v))
                    z += v * w[c]
                }
                indptr.append(Double(indices.count))
                y.append(r.nextDouble() < 1 / (1 + exp(-z)) ? 1 : 0)
            }
            try NPYWriter.write(indptr, to: directory + "/\(split)_indptr.npy")
            try NPYWriter.write(indices, to: directory + "/\(split)_indices.npy")
            try NPYWriter.write(data, to: directory + "/\(split)_data.npy")
            // The labels last: `ensure` checks for every file, so a crash in between regenerates.
            try NPYWriter.write(y, to: directory + "/\(split)_y.npy")
        }
    }

    /// One split as a CSR matrix and its labels.
    public static func load(directory: String, split: String, features: Int) throws -> (SparseMatrix<Float>, [Float]) {
        let indptr = try NPYReader<Double>.readVector(path: directory + "/\(split)_indptr.npy").map { Int($0) }
        let indices = try NPYReader<Float>.readVector(path: directory + "/\(split)_indices.npy").map { Int32($0) }
        let data = try NPYReader<Float>.readVector(path: directory + "/\(split)_data.npy")
        let y = try NPYReader<Float>.readVector(path: directory + "/\(split)_y.npy")
        return (try SparseMatrix(rows: indptr.count - 1, columns: features, rowOffsets: indptr, columnIndices: indices, values: data), y)
    }
}

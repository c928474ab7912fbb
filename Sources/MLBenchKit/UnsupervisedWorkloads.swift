import Foundation
import MLCore

/// The `pca` suite's data: `rows × features` Float32 rows of a rank-`rank` signal plus noise —
/// x = z·B + 0.5·ε + offset, z ~ N(0, diag(sᵣ²)) with sᵣ falling linearly from 10 to 1, B a
/// fixed N(0, 100/d) matrix, ε ~ N(0, 1), per-column offsets in [0, 5). Each row comes from its own
/// stream (seed, row): the data never depends on the thread count. Written once as `x.npy`.
public enum PCAWorkload {
    public static func directoryName(rows: Int, features: Int, rank: Int, seed: UInt64) -> String {
        "pca-v1-\(rows)x\(features)-rank\(rank)-seed\(seed)"
    }

    public static func ensure(directory: String, rows: Int, features d: Int, rank: Int, seed: UInt64, threads: Int) throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: directory + "/x.npy") { return }
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var g = RandomStream(seed: seed, path: [0xB])
        let basis = (0..<(rank * d)).map { _ in Float(g.standardNormal() / Double(d).squareRoot() * 10) }
        let offsets = (0..<d).map { _ in Float(g.nextDouble() * 5) }
        let scales = (0..<rank).map { r in 10 - 9 * Double(r) / Double(max(1, rank - 1)) }
        var x = Matrix<Float>(rows: rows, columns: d)
        let block = 4096
        x.withUnsafeMutableBufferPointer { px in
            let xs = SharedMutablePointer(px.baseAddress!) // invariant: rows, features > 0
            parallelFor(blocks: (rows + block - 1) / block, threads: threads) { b in
                let lo = b * block, hi = min(rows, lo + block)
                var z = [Float](repeating: 0, count: (hi - lo) * rank)
                for i in lo..<hi {
                    var r = RandomStream(seed: seed, stream: UInt64(i))
                    for k in 0..<rank { z[(i - lo) * rank + k] = Float(r.standardNormal() * scales[k]) }
                    for j in 0..<d { xs[i * d + j] = Float(0.5 * r.standardNormal()) + offsets[j] }
                }
                // invariant: sizes are positive and within Int32
                try! BLAS.gemm(m: hi - lo, n: d, k: rank, alpha: 1, a: z, lda: rank, b: basis, ldb: d, beta: 1, c: xs + lo * d, ldc: d) // invariant: see above
            }
        }
        try NPYWriter.write(x, to: directory + "/x.npy")
    }
}

/// The `kmeans` suite's data: `rows × features` Float32 rows from `blobs` Gaussian blobs (centres
/// uniform in ±10 per coordinate, unit variance), each row from its own stream; and the initial
/// centres both Lloyd runs start from: `k` distinct rows drawn with a fixed seed. Written once as
/// `x.npy` and `init.npy`.
public enum KMeansWorkload {
    public static func directoryName(rows: Int, features: Int, blobs: Int, k: Int, seed: UInt64) -> String {
        "kmeans-v1-\(rows)x\(features)-blobs\(blobs)-k\(k)-seed\(seed)"
    }

    public static func ensure(directory: String, rows: Int, features d: Int, blobs: Int, k: Int, seed: UInt64, threads: Int) throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: directory + "/x.npy") && fm.fileExists(atPath: directory + "/init.npy") { return }
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var g = RandomStream(seed: seed, path: [0xC])
        let centres = (0..<(blobs * d)).map { _ in g.nextDouble() * 20 - 10 }
        var x = Matrix<Float>(rows: rows, columns: d)
        x.withUnsafeMutableBufferPointer { px in
            let xs = SharedMutablePointer(px.baseAddress!) // invariant: rows, features > 0
            parallelFor(blocks: (rows + 4095) / 4096, threads: threads) { b in
                for i in (b * 4096)..<min(rows, (b + 1) * 4096) {
                    var r = RandomStream(seed: seed, stream: UInt64(i))
                    let blob = Int(r.next() % UInt64(blobs))
                    for j in 0..<d { xs[i * d + j] = Float(centres[blob * d + j] + r.standardNormal()) }
                }
            }
        }
        var pick = RandomStream(seed: seed, path: [0x1])
        let chosen = try pick.sampleIndices(count: k, from: rows)
        var initial = Matrix<Float>(rows: k, columns: d)
        for (c, row) in chosen.enumerated() { for j in 0..<d { initial[c, j] = x[row, j] } }
        try NPYWriter.write(initial, to: directory + "/init.npy")
        try NPYWriter.write(x, to: directory + "/x.npy")
    }
}

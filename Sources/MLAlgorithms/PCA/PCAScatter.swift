import MLCore

/// Regular mode's summary of a set of rows: the count, the mean, and the centred scatter
/// Σ(x−μ)(x−μ)ᵀ — sufficient statistics that merge exactly (Chan et al.'s pairwise update), so
/// micro-shards, workers, hosts and mini-batches all combine through ``merged(_:_:)``.
///
/// Centring each micro-shard by its own mean before `syrk` keeps single precision accurate
/// however far the data sit from the origin; the raw Σxᵀx − n·μμᵀ would cancel catastrophically.
public struct PCAScatter: Sendable, Equatable {
    public var count: Int
    public var mean: [Double]
    /// d×d, row-major, both triangles.
    public var scatter: [Double]

    public var features: Int { mean.count }

    public init(count: Int, mean: [Double], scatter: [Double]) {
        self.count = count
        self.mean = mean
        self.scatter = scatter
    }

    /// The summary of `rows` rows of `d` values at `x` (row-major): mean in Double, the rows
    /// centred by it in `T`, then `syrk` (`T`'s precision, one thread), widened to Double.
    /// `scratch` is reused across calls.
    static func of<T: BLASScalar>(rows: Int, features d: Int, x: UnsafePointer<T>, scratch: inout [T]) -> PCAScatter {
        var sum = [Double](repeating: 0, count: d)
        for i in 0..<rows {
            let row = x + i * d
            for j in 0..<d { sum[j] += Double(row[j]) }
        }
        let n = Double(rows)
        let shift = sum.map { T($0 / n) }
        if scratch.count < rows * d + d * d { scratch = [T](repeating: 0, count: rows * d + d * d) }
        // The centred values as T actually holds them: their own sum is not exactly zero, and that
        // residual r corrects the scatter (Σ(y)(y)ᵀ − r·rᵀ/n is the scatter about the true mean).
        var residual = [Double](repeating: 0, count: d)
        scratch.withUnsafeMutableBufferPointer { buffer in
            // invariant: scratch was sized above, so it is non-empty
            let y = buffer.baseAddress!, c = y + rows * d
            for i in 0..<rows {
                let row = x + i * d, out = y + i * d
                for j in 0..<d {
                    out[j] = row[j] - shift[j]
                    residual[j] += Double(out[j])
                }
            }
            // invariant: sizes are positive and within Int32 (feature_dim ≤ 32768, shards are small)
            try! BLAS.syrk(upper: true, transpose: .transpose, n: d, k: rows, alpha: 1, a: y, lda: d, beta: 0, c: c, ldc: d) // invariant: see above
        }
        var scatter = [Double](repeating: 0, count: d * d)
        scratch.withUnsafeBufferPointer { buffer in
            let c = buffer.baseAddress! + rows * d // invariant: sized above
            for i in 0..<d {
                for j in i..<d {
                    let v = Double(c[i * d + j]) - residual[i] * residual[j] / n
                    scatter[i * d + j] = v
                    scatter[j * d + i] = v
                }
            }
        }
        var mean = [Double](repeating: 0, count: d)
        for j in 0..<d { mean[j] = Double(shift[j]) + residual[j] / n }
        return PCAScatter(count: rows, mean: mean, scatter: scatter)
    }

    /// The summary of the union of the rows `a` and `b` summarize (`a`'s rows first).
    public static func merged(_ a: PCAScatter, _ b: PCAScatter) -> PCAScatter {
        if a.count == 0 { return b }
        if b.count == 0 { return a }
        let d = a.features
        let na = Double(a.count), nb = Double(b.count), n = na + nb
        var delta = [Double](repeating: 0, count: d)
        for j in 0..<d { delta[j] = b.mean[j] - a.mean[j] }
        var mean = a.mean
        for j in 0..<d { mean[j] += delta[j] * (nb / n) }
        var scatter = a.scatter
        let f = na * nb / n
        for i in 0..<d {
            let fi = f * delta[i]
            for j in 0..<d { scatter[i * d + j] += b.scatter[i * d + j] + fi * delta[j] }
        }
        return PCAScatter(count: a.count + b.count, mean: mean, scatter: scatter)
    }

    /// The values as one flat buffer (count, mean, scatter) for a collective.
    var flattened: [Double] { [Double(count)] + mean + scatter }

    init(flattened v: ArraySlice<Double>, features d: Int) {
        let base = v.startIndex
        count = Int(v[base])
        mean = Array(v[(base + 1)..<(base + 1 + d)])
        scatter = Array(v[(base + 1 + d)..<(base + 1 + d + d * d)])
    }

    static func flattenedWidth(features d: Int) -> Int { 1 + d + d * d }
}

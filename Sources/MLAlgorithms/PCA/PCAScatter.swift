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

    /// The summary of `rows` rows of `d` values at `x` (row-major), or `nil` when a value is not
    /// finite (the caller finds and names it). Column sums by `gemv` give the shard's mean; the
    /// rows centred by it (in `T`) go through `syrk` (one thread); both widen to Double.
    /// `scratch` is reused across calls.
    static func of<T: BLASScalar>(rows: Int, features d: Int, x: UnsafePointer<T>, scratch: inout [T]) -> PCAScatter? {
        let need = rows * d + d * d + rows + 2 * d
        if scratch.count < need { scratch = [T](repeating: 0, count: need) }
        let n = Double(rows)
        var mean = [Double](repeating: 0, count: d)
        var scatter = [Double](repeating: 0, count: d * d)
        let finite: Bool = scratch.withUnsafeMutableBufferPointer { buffer in
            // invariant: scratch was sized above, so it is non-empty
            let y = buffer.baseAddress!, c = y + rows * d, ones = c + d * d, sums = ones + rows, residual = sums + d // invariant: see above
            for i in 0..<rows { ones[i] = 1 }
            // invariant (all BLAS calls here): positive sizes within Int32 (feature_dim ≤ 32768, shards are small)
            try! BLAS.gemv(transpose: .transpose, m: rows, n: d, alpha: 1, a: x, lda: d, x: ones, beta: 0, y: sums) // invariant: see above
            for j in 0..<d where !sums[j].isFinite { return false }
            for j in 0..<d { sums[j] /= T(rows) }
            // The centred values as T holds them: their own sum r is not exactly zero, and it
            // corrects the scatter (Σyyᵀ − r·rᵀ/n is the scatter about the true mean).
            for j in 0..<d { residual[j] = 0 }
            for i in 0..<rows {
                let row = x + i * d, out = y + i * d
                for j in 0..<d {
                    let v = row[j] - sums[j]
                    out[j] = v
                    residual[j] += v
                }
            }
            try! BLAS.syrk(upper: true, transpose: .transpose, n: d, k: rows, alpha: 1, a: y, lda: d, beta: 0, c: c, ldc: d) // invariant: see above
            let inverse = 1 / n
            for i in 0..<d {
                let ri = Double(residual[i]) * inverse
                for j in i..<d {
                    let v = Double(c[i * d + j]) - ri * Double(residual[j])
                    scatter[i * d + j] = v
                    scatter[j * d + i] = v
                }
            }
            for j in 0..<d { mean[j] = Double(sums[j]) + Double(residual[j]) / n }
            for v in scatter where !v.isFinite { return false }
            return true
        }
        return finite ? PCAScatter(count: rows, mean: mean, scatter: scatter) : nil
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
    var flattened: [Double] {
        var out = [Double]()
        out.reserveCapacity(1 + mean.count + scatter.count)
        out.append(Double(count))
        out += mean
        out += scatter
        return out
    }

    init(flattened v: ArraySlice<Double>, features d: Int) {
        let base = v.startIndex
        count = Int(v[base])
        mean = Array(v[(base + 1)..<(base + 1 + d)])
        scatter = Array(v[(base + 1 + d)..<(base + 1 + d + d * d)])
    }

    static func flattenedWidth(features d: Int) -> Int { 1 + d + d * d }
}

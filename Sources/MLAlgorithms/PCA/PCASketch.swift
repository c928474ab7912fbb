import MLCore

/// Randomized mode's summary (reference §4.2): for each micro-shard Xₜ (b×d) an ℓ×b matrix Hₜ of
/// random ±1 signs; B = Σ HₜXₜ (ℓ×d), h = Σ Hₜ·1 (ℓ), s = Σ rows of X, n. Then
/// C = B − h·sᵀ/n = H·(X − 1μᵀ) is a sketch of the centred data whose top right singular
/// vectors span (approximately) the top principal subspace. Also carried: the centred sum of
/// squares (for the total variance and the explained-variance ratio). Sums merge by addition;
/// the signs of shard `t` come from `RandomStream(seed, path: [t])`, so the sketch does not
/// depend on how shards are spread over workers.
public struct PCASketch: Sendable, Equatable {
    public var count: Int
    /// ℓ×d, row-major.
    public var b: [Double]
    public var h: [Double]
    public var s: [Double]
    /// Σ‖x − μ‖² of these rows about their own mean (merged with Chan's update).
    public var centredSquares: Double

    public var features: Int { s.count }
    public var rows: Int { h.count }

    public init(sketchRows l: Int, features d: Int) {
        count = 0
        b = [Double](repeating: 0, count: l * d)
        h = [Double](repeating: 0, count: l)
        s = [Double](repeating: 0, count: d)
        centredSquares = 0
    }

    /// The sketch of one micro-shard (`shard` is its index in the pass: it picks the signs).
    /// `nil` when a value is not finite (the caller finds and names it).
    static func of<T: BLASScalar>(rows: Int, features d: Int, x: UnsafePointer<T>, sketchRows l: Int, seed: UInt64, shard: Int,
                                  scratch: inout [T]) -> PCASketch? {
        var result = PCASketch(sketchRows: l, features: d)
        result.count = rows
        if scratch.count < l * rows + l * d { scratch = [T](repeating: 0, count: l * rows + l * d) }
        var random = RandomStream(seed: seed, path: [UInt64(shard)])
        scratch.withUnsafeMutableBufferPointer { buffer in
            let hm = buffer.baseAddress!, bm = hm + l * rows // invariant: sized above
            var bits: UInt64 = 0, left = 0
            for i in 0..<(l * rows) {
                if left == 0 { bits = random.next(); left = 64 }
                hm[i] = bits & 1 == 0 ? 1 : -1
                bits >>= 1
                left -= 1
            }
            for r in 0..<l {
                var t = 0.0
                for i in 0..<rows { t += Double(hm[r * rows + i]) }
                result.h[r] = t
            }
            // invariant: positive sizes within Int32
            try! BLAS.gemm(m: l, n: d, k: rows, alpha: 1, a: hm, lda: rows, b: x, ldb: d, beta: 0, c: bm, ldc: d) // invariant: see above
            for i in 0..<(l * d) { result.b[i] = Double(bm[i]) }
        }
        for i in 0..<rows {
            let row = x + i * d
            for j in 0..<d { result.s[j] += Double(row[j]) }
        }
        for v in result.s where !v.isFinite { return nil }
        let n = Double(rows)
        var squares = 0.0
        for i in 0..<rows {
            let row = x + i * d
            for j in 0..<d {
                let c = Double(row[j]) - result.s[j] / n
                squares += c * c
            }
        }
        result.centredSquares = squares
        return result
    }

    public static func merged(_ a: PCASketch, _ b: PCASketch) -> PCASketch {
        if a.count == 0 { return b }
        if b.count == 0 { return a }
        var out = a
        for i in out.b.indices { out.b[i] += b.b[i] }
        for i in out.h.indices { out.h[i] += b.h[i] }
        for i in out.s.indices { out.s[i] += b.s[i] }
        let na = Double(a.count), nb = Double(b.count)
        var between = 0.0
        for j in a.s.indices {
            let delta = b.s[j] / nb - a.s[j] / na
            between += delta * delta
        }
        out.centredSquares = a.centredSquares + b.centredSquares + between * na * nb / (na + nb)
        out.count = a.count + b.count
        return out
    }

    var flattened: [Double] { [Double(count), centredSquares] + h + s + b }

    init(flattened v: ArraySlice<Double>, sketchRows l: Int, features d: Int) {
        var i = v.startIndex
        count = Int(v[i]); centredSquares = v[i + 1]; i += 2
        h = Array(v[i..<(i + l)]); i += l
        s = Array(v[i..<(i + d)]); i += d
        b = Array(v[i..<(i + l * d)])
    }

    static func flattenedWidth(sketchRows l: Int, features d: Int) -> Int { 2 + l + d + l * d }
}

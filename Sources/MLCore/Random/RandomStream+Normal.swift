import Foundation

// Normal draws: the Box–Muller transform, computed in Double.
//
// Why Box–Muller rather than Marsaglia's polar method or a ziggurat: it consumes a fixed number
// of words (4 per pair), so the j-th pair of a stream lives at words 4j…4j+3. A trainer can
// therefore fill one big buffer of weights in parallel chunks (each chunk seeks to its own words)
// and get the same numbers as a serial fill, and ``RandomStream/skip(words:)`` can jump over
// normals. Rejection methods consume a data-dependent number of words and lose both properties.
// It is also exact in distribution, with no tables to get wrong.
//
// With u₁ = (k₁ + 1)·2⁻⁵³ ∈ (0, 1] and u₂ = k₂·2⁻⁵³ ∈ [0, 1) from two 53-bit values,
//     r = √(−2 ln u₁),  θ = 2π u₂,  (z₀, z₁) = (r cos θ, r sin θ)
// are two independent standard normals. u₁ > 0 keeps the logarithm finite; the largest |z| is
// √(2·53·ln 2) ≈ 8.57, so tails are exact out to 8.5σ (probability ~1e-17 beyond). Float
// results are computed in Double and rounded once.

extension RandomStream {
    /// Two independent standard normals from one Box–Muller step. Consumes 4 words.
    @inlinable
    public mutating func normalPair() -> (Double, Double) {
        let u1 = Double((next() >> 11) + 1) * 0x1p-53  // (0, 1]
        let u2 = Double(next() >> 11) * 0x1p-53  // [0, 1)
        let r = (-2 * Foundation.log(u1)).squareRoot()
        let theta = 2 * Double.pi * u2
        return (r * Foundation.cos(theta), r * Foundation.sin(theta))
    }

    /// A standard normal: the first value of ``normalPair()`` (the second is discarded; use
    /// `fillNormal(_:mean:standardDeviation:)` to keep both). Consumes 4 words.
    @inlinable
    public mutating func standardNormal() -> Double {
        normalPair().0
    }

    /// A normal draw `mean + standardDeviation · z`, `z` from ``standardNormal()``. Consumes 4 words.
    /// (For `Float`, round the result, or fill a `Float` buffer with `fillNormal(_:mean:standardDeviation:)`.)
    ///
    /// Throws if `mean` is not finite, or `standardDeviation` is negative or not finite
    /// (`standardDeviation == 0` returns `mean`).
    @inlinable
    public mutating func normal(mean: Double = 0, standardDeviation: Double = 1) throws(RandomError) -> Double {
        try Self._checkNormal(mean: mean, standardDeviation: standardDeviation)
        return mean + standardDeviation * standardNormal()
    }

    /// Fills `values` with normal draws, in order, using both values of each Box–Muller pair:
    /// elements 2j and 2j+1 come from pair j (words 4j…4j+3 from the current position); an odd
    /// last element uses a whole pair's first value. So `n` elements consume 4·⌈n/2⌉ words, and a
    /// one-element fill equals ``normal(mean:standardDeviation:)``.
    /// Validates before drawing.
    @inlinable
    public mutating func fillNormal<C: MutableCollection>(
        _ values: inout C, mean: Double = 0, standardDeviation: Double = 1
    ) throws(RandomError) where C.Element == Double {
        try Self._checkNormal(mean: mean, standardDeviation: standardDeviation)
        var i = values.startIndex
        while i != values.endIndex {
            let (z0, z1) = normalPair()
            values[i] = mean + standardDeviation * z0
            values.formIndex(after: &i)
            guard i != values.endIndex else { break }
            values[i] = mean + standardDeviation * z1
            values.formIndex(after: &i)
        }
    }

    /// `fillNormal(_:mean:standardDeviation:)` for `Float` elements (computed
    /// in Double, rounded once) — e.g. weight initialisation.
    @inlinable
    public mutating func fillNormal<C: MutableCollection>(
        _ values: inout C, mean: Float = 0, standardDeviation: Float = 1
    ) throws(RandomError) where C.Element == Float {
        try Self._checkNormal(mean: Double(mean), standardDeviation: Double(standardDeviation))
        let m = Double(mean), s = Double(standardDeviation)
        var i = values.startIndex
        while i != values.endIndex {
            let (z0, z1) = normalPair()
            values[i] = Float(m + s * z0)
            values.formIndex(after: &i)
            guard i != values.endIndex else { break }
            values[i] = Float(m + s * z1)
            values.formIndex(after: &i)
        }
    }

    @inlinable
    static func _checkNormal(mean: Double, standardDeviation: Double) throws(RandomError) {
        guard mean.isFinite else { throw .invalid("mean", mean, "must be finite") }
        guard standardDeviation.isFinite, standardDeviation >= 0 else {
            throw .invalid("standardDeviation", standardDeviation, "must be finite and ≥ 0")
        }
    }
}

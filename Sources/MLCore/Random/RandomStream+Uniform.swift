// Uniform floating-point and integer draws.
//
// Bit mapping. `Float` takes the top 24 bits of one 32-bit word and `Double` the top 53 bits of
// one 64-bit value (`next()`, two words), scaled by 2⁻²⁴ and 2⁻⁵³. Those are the significand
// widths, so every value k·2⁻²⁴ (k·2⁻⁵³) in [0, 1) is produced exactly, each with probability
// 2⁻²⁴ (2⁻⁵³), the conversion is exact, and 1 is never produced. It is the mapping of numpy's
// `random()`, PyTorch and most others. Finer values near 0 that the format could represent (such
// as 2⁻³⁰) are not produced — an equally spaced grid keeps the mean exactly ½ − 2⁻²⁵ and avoids
// the bias of "divide a 32-bit integer by 2³²", which rounds up to 1.0 in Float.
//
// Integers below n use Lemire's multiply-and-reject method ("Fast Random Integer Generation in
// an Interval", ACM TOMACS 2019): m = x·n as a double-width product, accept the high half unless
// the low half falls in the 2^w mod n values that would bias it. Exactly uniform, almost never
// divides, and rejects with probability below n / 2^w.

extension RandomStream {
    /// A uniform `Float` in [0, 1): `Float(word >> 8) · 2⁻²⁴`, a multiple of 2⁻²⁴. Consumes 1 word.
    @inlinable
    public mutating func nextFloat() -> Float {
        Float(nextUInt32() >> 8) * 0x1p-24
    }

    /// A uniform `Double` in [0, 1): `Double(next() >> 11) · 2⁻⁵³`, a multiple of 2⁻⁵³. Consumes
    /// 2 words.
    @inlinable
    public mutating func nextDouble() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// A uniform `Float` in `range`: `lower + (upper − lower) · u` with `u` from ``nextFloat()``;
    /// a result that rounds up to `upper` becomes `upper.nextDown`. Consumes 1 word.
    ///
    /// Throws if the range is empty, a bound is not finite, or `upper − lower` overflows.
    @inlinable
    public mutating func nextFloat(in range: Range<Float>) throws(RandomError) -> Float {
        let width = try Self._width(of: range)
        return Self._scale(nextFloat(), range.lowerBound, width, range.upperBound)
    }

    /// A uniform `Double` in `range`, as ``nextFloat(in:)`` with ``nextDouble()``. Consumes 2 words.
    @inlinable
    public mutating func nextDouble(in range: Range<Double>) throws(RandomError) -> Double {
        let width = try Self._width(of: range)
        return Self._scale(nextDouble(), range.lowerBound, width, range.upperBound)
    }

    /// Fills `values` with uniform draws in `range`, in order; the same numbers as calling
    /// ``nextFloat(in:)`` once per element (1 word each). Validates before drawing.
    @inlinable
    public mutating func fillUniform<C: MutableCollection>(
        _ values: inout C, in range: Range<Float> = 0..<1
    ) throws(RandomError) where C.Element == Float {
        let width = try Self._width(of: range)
        let lower = range.lowerBound, upper = range.upperBound
        _fillWords(&values) { Self._scale(Float($0 >> 8) * 0x1p-24, lower, width, upper) }
    }

    /// Fills `values` with uniform `Double`s in `range`, as ``nextDouble(in:)`` per element (2 words
    /// each). Validates before drawing.
    @inlinable
    public mutating func fillUniform<C: MutableCollection>(
        _ values: inout C, in range: Range<Double> = 0..<1
    ) throws(RandomError) where C.Element == Double {
        let width = try Self._width(of: range)
        let lower = range.lowerBound, upper = range.upperBound
        _fillPairs(&values) { Self._scale(Double($0 >> 11) * 0x1p-53, lower, width, upper) }
    }

    /// Writes `transform(word)` for consecutive words into `values`: the same words, in the same
    /// order, as calling ``nextUInt32()`` per element, but whole blocks go straight from Philox
    /// into the collection without the one-block cache (about twice as fast for big fills).
    @inlinable
    mutating func _fillWords<C: MutableCollection>(_ values: inout C, _ transform: (UInt32) -> C.Element) {
        var i = values.startIndex
        let end = values.endIndex
        while i != end && _word != 0 {
            values[i] = transform(nextUInt32())
            values.formIndex(after: &i)
        }
        var remaining = values.distance(from: i, to: end)
        if remaining >= 4 {
            var block = _block
            while remaining >= 4 {
                let r = _philox(block)
                values[i] = transform(r.0)
                values.formIndex(after: &i)
                values[i] = transform(r.1)
                values.formIndex(after: &i)
                values[i] = transform(r.2)
                values.formIndex(after: &i)
                values[i] = transform(r.3)
                values.formIndex(after: &i)
                block &+= 1
                remaining -= 4
            }
            seek(toBlock: block)
        }
        while i != end {
            values[i] = transform(nextUInt32())
            values.formIndex(after: &i)
        }
    }

    /// ``_fillWords(_:_:)`` for 64-bit values (two words each, low word first), as ``next()``.
    @inlinable
    mutating func _fillPairs<C: MutableCollection>(_ values: inout C, _ transform: (UInt64) -> C.Element) {
        var i = values.startIndex
        let end = values.endIndex
        while i != end && _word != 0 {
            values[i] = transform(next())
            values.formIndex(after: &i)
        }
        var remaining = values.distance(from: i, to: end)
        if remaining >= 2 {
            var block = _block
            while remaining >= 2 {
                let r = _philox(block)
                values[i] = transform(UInt64(r.0) | UInt64(r.1) << 32)
                values.formIndex(after: &i)
                values[i] = transform(UInt64(r.2) | UInt64(r.3) << 32)
                values.formIndex(after: &i)
                block &+= 1
                remaining -= 2
            }
            seek(toBlock: block)
        }
        while i != end {
            values[i] = transform(next())
            values.formIndex(after: &i)
        }
    }

    @inlinable
    static func _width<T: BinaryFloatingPoint>(of range: Range<T>) throws(RandomError) -> T {
        let lower = range.lowerBound, upper = range.upperBound
        guard lower.isFinite, upper.isFinite else {
            throw .invalid("range", "\(lower)..<\(upper)", "both bounds must be finite")
        }
        guard lower < upper else {
            throw .invalid("range", "\(lower)..<\(upper)", "must not be empty (lowerBound < upperBound)")
        }
        let width = upper - lower
        guard width.isFinite else {
            throw .invalid("range", "\(lower)..<\(upper)", "upperBound − lowerBound must be finite")
        }
        return width
    }

    @inlinable @inline(__always)
    static func _scale<T: BinaryFloatingPoint>(_ u: T, _ lower: T, _ width: T, _ upper: T) -> T {
        let x = lower + width * u
        return x < upper ? x : upper.nextDown
    }

    // MARK: Integers

    /// A uniform integer in `0..<n` without modulo bias (Lemire's method). Consumes 1 word per
    /// attempt when `n ≤ 2³²`, else 2; a retry happens with probability below `n / 2³²`
    /// (resp. `n / 2⁶⁴`).
    ///
    /// Throws if `n ≤ 0`.
    @inlinable
    public mutating func integer(below n: Int) throws(RandomError) -> Int {
        guard n > 0 else { throw .invalid("n", n, "the upper bound must be positive") }
        return Int(truncatingIfNeeded: _below(UInt64(n)))
    }

    /// A uniform integer in `range` (half-open). Consumes as ``integer(below:)`` for the range's
    /// width. Throws if the range is empty.
    @inlinable
    public mutating func integer(in range: Range<Int>) throws(RandomError) -> Int {
        guard !range.isEmpty else {
            throw .invalid("range", "\(range.lowerBound)..<\(range.upperBound)", "must not be empty")
        }
        let width = UInt64(bitPattern: Int64(range.upperBound &- range.lowerBound))
        return range.lowerBound &+ Int(truncatingIfNeeded: _below(width))
    }

    /// A uniform integer in `range` (closed; never empty, so it does not throw). The full `Int`
    /// range takes `next()` as is (2 words).
    @inlinable
    public mutating func integer(in range: ClosedRange<Int>) -> Int {
        let width = UInt64(bitPattern: Int64(range.upperBound &- range.lowerBound)) &+ 1
        if width == 0 { return Int(truncatingIfNeeded: next()) }
        return range.lowerBound &+ Int(truncatingIfNeeded: _below(width))
    }

    /// Uniform in `0..<n`, `n > 0`: the 32-bit path when `n` fits, else the 64-bit one.
    @inlinable @inline(__always)
    mutating func _below(_ n: UInt64) -> UInt64 {
        n <= UInt64(UInt32.max) ? UInt64(_below32(UInt32(truncatingIfNeeded: n))) : _below64(n)
    }

    /// Lemire's method on one 32-bit word per attempt; `n > 0`.
    @inlinable
    mutating func _below32(_ n: UInt32) -> UInt32 {
        var m = UInt64(nextUInt32()) &* UInt64(n)
        var low = UInt32(truncatingIfNeeded: m)
        if low < n {
            let threshold = (0 &- n) % n  // 2³² mod n: the count of low halves that would bias
            while low < threshold {
                m = UInt64(nextUInt32()) &* UInt64(n)
                low = UInt32(truncatingIfNeeded: m)
            }
        }
        return UInt32(truncatingIfNeeded: m >> 32)
    }

    /// Lemire's method on one 64-bit value (2 words) per attempt; `n > 0`.
    @inlinable
    mutating func _below64(_ n: UInt64) -> UInt64 {
        var m = next().multipliedFullWidth(by: n)
        if m.low < n {
            let threshold = (0 &- n) % n  // 2⁶⁴ mod n
            while m.low < threshold {
                m = next().multipliedFullWidth(by: n)
            }
        }
        return m.high
    }
}

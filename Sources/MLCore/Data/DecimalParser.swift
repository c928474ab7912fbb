import Foundation

/// Correctly rounded decimal-to-binary conversion from bytes, without allocation.
///
/// The grammar is Python's `float()` less underscores and hex: optional spaces, a sign (`+` or
/// `-`), digits with an optional `.` and fraction, an optional exponent (`e`/`E`, sign, digits),
/// or `nan` / `inf` / `infinity` in any case. At least one digit is required.
///
/// Speed comes from Clinger's fast path: when the significant digits fit a Double exactly
/// (≤ 2^53, at most 19 digits read) and the power of ten is exact (|e| ≤ 22), a single IEEE
/// multiplication or division is correctly rounded. Everything else (17+ significant digits,
/// huge exponents) goes to the C library's `strtod`, which is correctly rounded too, on a
/// bounded NUL-terminated copy. Every input therefore converts to the nearest Double, exactly as
/// NumPy and pandas (`float_precision="round_trip"`) do.
///
/// `Float` results are correctly rounded as well: rounding to Double and then to Float differs
/// from rounding once only when the Double lands exactly on a midpoint between two Floats (a
/// Float midpoint is itself a Double, and rounding is monotone, so a Double that is not a
/// midpoint lies on the same side of every midpoint as the decimal). Those rare inputs, and
/// Float subnormals, are re-parsed with `strtof`.
public enum DecimalParser {
    /// 10^0 … 10^22, each exactly representable as a Double.
    @usableFromInline static let exactPowersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// What a field holds.
    public enum Field: Equatable, Sendable {
        /// Nothing but spaces: a missing value.
        case empty
        case value(Double)
        /// Not a number under the grammar above.
        case invalid
    }

    /// Parses the bytes `[start, end)` to the nearest Double.
    @inlinable
    public static func parseDouble(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> Field {
        // Stop byte 0x0A: a newline is never part of a field, so a stop before `end` means junk.
        let (field, stop) = scanDouble(start, end, stopAt: 0x0A)
        return stop == end ? field : .invalid
    }

    /// A scanned decimal before conversion: `±mantissa × 10^exponent` from `digitCount` digits.
    @usableFromInline
    struct Scanned {
        @usableFromInline var field: Field  // .invalid, .empty, or .value(0) as "a number"
        @usableFromInline var mantissa: UInt64 = 0
        @usableFromInline var exponent = 0
        @usableFromInline var digitCount = 0
        @usableFromInline var negative = false
        @usableFromInline var numberStart: UnsafePointer<UInt8>
        @usableFromInline var numberEnd: UnsafePointer<UInt8>
        @usableFromInline var stop: UnsafePointer<UInt8>

        @inlinable init(_ field: Field, at p: UnsafePointer<UInt8>) {
            self.field = field
            numberStart = p
            numberEnd = p
            stop = p
        }

        /// Whether Clinger's fast path applies: the mantissa is exact in a Double and so is 10^|e|.
        @inlinable var isFastPath: Bool {
            digitCount > 0 && digitCount <= 19 && mantissa <= (1 << 53) && exponent >= -22 && exponent <= 22
        }

        /// The correctly rounded value when ``isFastPath``: one exact operand, one IEEE operation.
        @inlinable var fastPathValue: Double {
            var v = Double(mantissa)
            if exponent > 0 {
                v *= DecimalParser.exactPowersOfTen[exponent]
            } else if exponent < 0 {
                v /= DecimalParser.exactPowersOfTen[-exponent]
            }
            return negative ? -v : v
        }
    }

    /// Parses a field that starts at `start` and ends at the first `stopByte` or at `end`,
    /// returning the value and where it stopped (at `stopByte`, or `end`). Any other byte that is
    /// not part of the grammar makes the field `.invalid`. This is the CSV hot path: the field
    /// is found and converted in one pass over its bytes.
    @inlinable @inline(__always)
    public static func scanDouble(
        _ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>, stopAt stopByte: UInt8
    ) -> (Field, UnsafePointer<UInt8>) {
        let s = scanDecimal(start, end, stopAt: stopByte)
        guard case .value = s.field, s.digitCount >= 0 else { return (s.field, s.stop) }  // invalid, empty, nan, inf
        if s.isFastPath { return (.value(s.fastPathValue), s.stop) }
        return (.value(strtodFallback(s.numberStart, s.numberEnd)), s.stop)
    }

    /// The grammar, without converting: sign, digits (leading zeros included, at most 19 kept
    /// exactly), fraction, exponent, then the stop byte.
    @inlinable @inline(__always)
    static func scanDecimal(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>, stopAt stopByte: UInt8) -> Scanned {
        var i = start
        while i < end && (i.pointee == 0x20 || i.pointee == 0x09) { i += 1 }
        if i == end || i.pointee == stopByte { return Scanned(.empty, at: i) }
        var s = Scanned(.value(0), at: i)
        // Branch-free sign: half of real data is negative, so a branch here mispredicts often.
        let first = i.pointee
        s.negative = first == UInt8(ascii: "-")
        i += (s.negative || first == UInt8(ascii: "+")) ? 1 : 0
        if i < end && i.pointee >= UInt8(ascii: "A") {
            let (field, stop) = scanSpecial(i, end, stopAt: stopByte, negative: s.negative)
            s.field = field
            s.stop = stop
            s.digitCount = -1  // not a decimal: never the fast path
            return s
        }
        // Digits, leading zeros included (they add nothing to the mantissa), so there is no
        // data-dependent loop for "0." prefixes. Up to 19 digits fit a UInt64; a longer run —
        // 17+ significant digits, or many leading zeros — goes to strtod.
        let integerStart = i
        accumulateDigits(&i, end, into: &s.mantissa)
        s.digitCount = i - integerStart
        if i < end && i.pointee == UInt8(ascii: ".") {
            i += 1
            let fractionStart = i
            accumulateDigits(&i, end, into: &s.mantissa)
            let fractionDigits = i - fractionStart
            s.digitCount += fractionDigits
            s.exponent = -fractionDigits
        }
        if s.digitCount == 0 {
            s.field = .invalid
            s.stop = i
            return s
        }
        if i < end && (i.pointee | 0x20) == UInt8(ascii: "e") {
            i += 1
            var expNegative = false
            if i < end && (i.pointee == UInt8(ascii: "-") || i.pointee == UInt8(ascii: "+")) {
                expNegative = i.pointee == UInt8(ascii: "-")
                i += 1
            }
            var value = 0
            let digitsStart = i
            while i < end {
                let d = i.pointee &- 48
                if d >= 10 { break }
                // Saturate: anything this large is 0 or infinity anyway; strtod decides.
                if value < 100_000 { value = value &* 10 &+ Int(d) }
                i += 1
            }
            if i == digitsStart {
                s.field = .invalid
                s.stop = i
                return s
            }
            s.exponent += expNegative ? -value : value
        }
        s.numberEnd = i
        while i < end && (i.pointee == 0x20 || i.pointee == 0x09) { i += 1 }
        s.stop = i
        if i < end && i.pointee != stopByte { s.field = .invalid }
        return s
    }

    @usableFromInline static let powersOfTenUInt64: [UInt64] = [
        1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000,
    ]

    /// Appends the run of decimal digits at `i` to `mantissa` (wrapping past 19 digits; callers
    /// count digits and fall back to `strtod` then), advancing `i` past the run.
    ///
    /// With 8 bytes available, one load finds the run's length — the lowest byte that is not a
    /// digit, from the same carry/borrow test as ``isEightDigits(_:)`` (bytes below it are digits,
    /// so nothing carries into it) — and ``eightDigitsValue(_:)`` converts up to 8 digits at once,
    /// with the bytes past the run replaced by leading '0's.
    @inlinable @inline(__always)
    static func accumulateDigits(_ i: inout UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>, into mantissa: inout UInt64) {
        while end - i >= 8 {
            let word = UnsafeRawPointer(i).loadUnaligned(as: UInt64.self)
            let nonDigits = ((word &+ 0x4646_4646_4646_4646) | (word &- 0x3030_3030_3030_3030)) & 0x8080_8080_8080_8080
            let n = nonDigits == 0 ? 8 : nonDigits.trailingZeroBitCount >> 3
            if n == 0 { return }
            let shift = UInt64(8 * (8 - n))
            let aligned = (word << shift) | (0x3030_3030_3030_3030 >> UInt64(8 * n))
            mantissa = mantissa &* powersOfTenUInt64[n] &+ eightDigitsValue(aligned)
            i += n
            if n < 8 { return }
        }
        while i < end {
            let d = i.pointee &- 48
            if d >= 10 { return }
            mantissa = mantissa &* 10 &+ UInt64(d)
            i += 1
        }
    }

    /// Whether the 8 bytes of `word` (little-endian) are all ASCII digits: adding 0x46 carries
    /// into the top bit for bytes above '9', subtracting 0x30 borrows into it for bytes below '0'.
    @inlinable @inline(__always)
    static func isEightDigits(_ word: UInt64) -> Bool {
        ((word &+ 0x4646_4646_4646_4646) | (word &- 0x3030_3030_3030_3030)) & 0x8080_8080_8080_8080 == 0
    }

    /// The value of 8 ASCII digits loaded little-endian (first digit in the low byte), by SWAR:
    /// pairs, then quads, then the whole, each step one multiply (Lemire, "Fast float parsing").
    @inlinable @inline(__always)
    static func eightDigitsValue(_ word: UInt64) -> UInt64 {
        var v = word &- 0x3030_3030_3030_3030
        v = (v &* 10) &+ (v >> 8)  // each 16-bit lane: two digits
        let mask: UInt64 = 0x0000_00FF_0000_00FF
        let mul1: UInt64 = 0x000F_4240_0000_0064  // 100 + (1_000_000 << 32)
        let mul2: UInt64 = 0x0000_2710_0000_0001  // 1 + (10_000 << 32)
        v = (((v & mask) &* mul1) &+ (((v >> 16) & mask) &* mul2)) >> 32
        return v & 0xFFFF_FFFF
    }

    /// `nan`, `inf`, `infinity` (any case) after the sign, up to the stop byte.
    @usableFromInline
    static func scanSpecial(
        _ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>, stopAt stopByte: UInt8, negative: Bool
    ) -> (Field, UnsafePointer<UInt8>) {
        var i = start
        while i < end && (i.pointee | 0x20) >= UInt8(ascii: "a") && (i.pointee | 0x20) <= UInt8(ascii: "z") { i += 1 }
        let wordEnd = i
        while i < end && (i.pointee == 0x20 || i.pointee == 0x09) { i += 1 }
        if i < end && i.pointee != stopByte { return (.invalid, i) }
        return (parseSpecial(start, wordEnd, negative: negative), i)
    }

    /// `nan`, `inf`, `infinity`, case-insensitive, after the sign.
    @usableFromInline
    static func parseSpecial(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>, negative: Bool) -> Field {
        let n = end - start
        func matches(_ word: StaticString) -> Bool {
            guard n == word.utf8CodeUnitCount else { return false }
            let w = word.utf8Start
            for k in 0..<n where (start[k] | 0x20) != w[k] { return false }
            return true
        }
        if matches("nan") { return .value(.nan) }
        if matches("inf") || matches("infinity") { return .value(negative ? -.infinity : .infinity) }
        return .invalid
    }

    /// Calls `body` with `[start, end)` copied and NUL-terminated (on the stack when short), for
    /// the C library's parsers.
    @usableFromInline
    static func withCString<R>(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>, _ body: (UnsafePointer<CChar>) -> R) -> R {
        let n = end - start
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: n + 1) { buffer in
            // invariant: a temporary allocation of n + 1 > 0 elements has a base address
            let b = buffer.baseAddress! // invariant: see above
            UnsafeMutableRawPointer(b).copyMemory(from: start, byteCount: n)
            b[n] = 0
            return body(b)
        }
    }

    /// Slow path: the C library's correctly rounded `strtod`.
    @usableFromInline
    static func strtodFallback(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> Double {
        withCString(start, end) { strtod($0, nil) }
    }

    /// 10^-1 … 10^-22 rounded to the nearest Double (as the literals are).
    @usableFromInline static let reciprocalPowersOfTen: [Double] = [
        1, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-11,
        1e-12, 1e-13, 1e-14, 1e-15, 1e-16, 1e-17, 1e-18, 1e-19, 1e-20, 1e-21, 1e-22,
    ]

    /// ``scanDouble(_:_:stopAt:)`` rounded once to Float; `.empty` gives NaN (a missing value).
    ///
    /// Negative exponents avoid the division (its latency dominated the CSV hot path): the
    /// mantissa times the rounded reciprocal is within 2 Double ulps of the decimal, so rounding
    /// it to Float is correct unless it lies within a few Double ulps of a Float midpoint — then,
    /// and for Float subnormals, the exact path decides.
    @inlinable @inline(__always)
    public static func scanFloat(
        _ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>, stopAt stopByte: UInt8
    ) -> (field: Field, value: Float, stop: UnsafePointer<UInt8>) {
        let s = scanDecimal(start, end, stopAt: stopByte)
        guard case .value = s.field else { return (s.field, .nan, s.stop) }
        if s.isFastPath && s.mantissa != 0 {
            let m = Double(s.mantissa)
            let d = s.exponent >= 0 ? m * exactPowersOfTen[s.exponent] : m * reciprocalPowersOfTen[-s.exponent]
            // Distance, in Double ulps, from the Float midpoint pattern (1 followed by 28 zeros).
            let dropped = Int(truncatingIfNeeded: d.bitPattern & 0x1FFF_FFFF)
            if abs(dropped - 0x1000_0000) > 8 && d >= Double(Float.leastNormalMagnitude) {
                let f = s.negative ? -Float(d) : Float(d)
                return (.value(Double(f)), f, s.stop)
            }
        }
        return finishFloatSlowly(s)
    }

    /// The exact path for ``scanFloat(_:_:stopAt:)``: correctly rounded Double, then once to Float.
    @usableFromInline
    static func finishFloatSlowly(_ s: Scanned) -> (field: Field, value: Float, stop: UnsafePointer<UInt8>) {
        guard case .value = s.field else { return (s.field, .nan, s.stop) }
        if s.digitCount < 0 {
            // nan / inf: scanSpecial already produced the value.
            guard case .value(let v) = s.field else { return (s.field, .nan, s.stop) }
            return (s.field, Float(v), s.stop)
        }
        let d = s.isFastPath ? s.fastPathValue : strtodFallback(s.numberStart, s.numberEnd)
        if d.isFinite && d != 0 {
            let dropped = d.bitPattern & 0x1FFF_FFFF
            if dropped == 0x1000_0000 || abs(d) < Double(Float.leastNormalMagnitude) {
                return (.value(d), strtofFallback(s.numberStart, s.numberEnd), s.stop)
            }
        }
        return (.value(d), Float(d), s.stop)
    }

    /// Slow path: the C library's correctly rounded `strtof`.
    @usableFromInline
    static func strtofFallback(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> Float {
        withCString(start, end) { strtof($0, nil) }
    }

    /// Parses the bytes `[start, end)` to the nearest Float (see the type's discussion).
    @inlinable
    public static func parseFloat(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> (field: Field, value: Float) {
        let (field, value, stop) = scanFloat(start, end, stopAt: 0x0A)
        return stop == end ? (field, value) : (.invalid, .nan)
    }

    /// Convenience for tests and small inputs: parses a Swift string.
    public static func parseDouble(_ text: String) -> Field {
        var copy = text
        return copy.withUTF8 { u in
            guard let base = u.baseAddress else { return .empty }
            return parseDouble(base, base + u.count)
        }
    }

    /// Convenience for tests and small inputs: parses a Swift string to Float.
    public static func parseFloat(_ text: String) -> Float? {
        var copy = text
        return copy.withUTF8 { u -> Float? in
            guard let base = u.baseAddress else { return nil }
            let r = parseFloat(base, base + u.count)
            if case .value = r.field { return r.value }
            return nil
        }
    }
}

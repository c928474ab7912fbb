import Foundation
import Testing
@testable import MLCore

/// The C library's correctly rounded conversions are the oracle.
private func libcDouble(_ s: String) -> Double { s.withCString { strtod($0, nil) } }
private func libcFloat(_ s: String) -> Float { s.withCString { strtof($0, nil) } }

private func randomDecimal(_ g: inout SeededRandom) -> String {
    var s = ""
    switch g.below(4) {
    case 0: s += "-"
    case 1: s += "+"
    default: break
    }
    let digits = 1 + g.below(25)
    let point = g.below(digits + 1)
    for k in 0..<digits {
        if k == point && g.below(2) == 0 { s += "." }
        s += String(g.below(10))
    }
    if g.below(3) == 0 {
        s += g.below(2) == 0 ? "e" : "E"
        if g.below(2) == 0 { s += "-" }
        s += String(g.below(g.below(4) == 0 ? 330 : 40))
    }
    return s
}

@Suite struct DecimalParserTests {
    @Test(arguments: [
        ("0", 0.0), ("1", 1.0), ("-2.5", -2.5), ("+3", 3.0), ("1e-10", 1e-10), ("1E+3", 1000.0),
        (".5", 0.5), ("5.", 5.0), ("  7  ", 7.0), ("0.1", 0.1), ("123456789012345678901234", 123456789012345678901234.0),
        ("1.7976931348623157e308", 1.7976931348623157e308), ("4.9406564584124654e-324", Double.leastNonzeroMagnitude), ("1e400", .infinity),
        ("-1e400", -.infinity), ("1e-400", 0.0), ("inf", .infinity), ("-Infinity", -.infinity), ("+INF", .infinity),
    ])
    func parsesTheFloatGrammar(text: String, expected: Double) {
        #expect(DecimalParser.parseDouble(text) == .value(expected))
    }

    @Test func nanInAnyCase() {
        for text in ["nan", "NaN", "-nan", "+NAN"] {
            guard case .value(let v) = DecimalParser.parseDouble(text) else {
                Issue.record("\(text) did not parse")
                continue
            }
            #expect(v.isNaN)
        }
    }

    @Test func emptyIsMissing() {
        #expect(DecimalParser.parseDouble("") == .empty)
        #expect(DecimalParser.parseDouble("   ") == .empty)
    }

    @Test(arguments: ["abc", "1.2.3", "1e", "e5", "--1", "+", "-", ".", "1,5", "0x10", "1e+", "nanx", "in", "1 2", "１"])
    func rejectsNonNumbers(text: String) {
        #expect(DecimalParser.parseDouble(text) == .invalid)
    }

    @Test func negativeZeroKeepsItsSign() {
        guard case .value(let v) = DecimalParser.parseDouble("-0.0") else { Issue.record("no value"); return }
        #expect(v == 0 && v.sign == .minus)
    }

    /// 200k random decimals of up to 25 digits and exponents up to ±330: bit-identical to strtod.
    @Test func matchesStrtodBitForBit() {
        expectBitIdentical(seed: 42, oracle: "strtod", parse: { text -> Double? in
            if case .value(let v) = DecimalParser.parseDouble(text) { return v }
            return nil
        }, libc: libcDouble)
    }

    /// The same for Float against strtof, including the double-rounding midpoints.
    @Test func matchesStrtofBitForBit() {
        expectBitIdentical(seed: 7, oracle: "strtof", parse: DecimalParser.parseFloat, libc: libcFloat)
    }

    /// 200k random decimals parsed by `parse` and by the C library's `libc`: the same bits.
    private func expectBitIdentical<F: BinaryFloatingPoint>(
        seed: UInt64, oracle: String, parse: (String) -> F?, libc: (String) -> F
    ) {
        var g = SeededRandom(seed: seed)
        for _ in 0..<200_000 {
            let s = randomDecimal(&g)
            guard let v = parse(s) else {
                Issue.record("\(s) did not parse")
                return
            }
            let expected = libc(s)
            // Bit for bit: sign, exponent field and significand field all equal.
            if v.sign != expected.sign || v.exponentBitPattern != expected.exponentBitPattern
                || v.significandBitPattern != expected.significandBitPattern {
                Issue.record("\(s): got \(v), \(oracle) gives \(expected)")
                return
            }
        }
    }

    /// Decimals just beside a Float midpoint: where rounding through Double would go wrong.
    @Test func floatMidpointsRoundOnce() {
        // 1 + 2^-24 is exactly halfway between 1 and the next Float; nudging the decimal by one
        // unit in the 30th digit must move the result to the correct side.
        let cases = [
            "1.000000059604644775390625",  // exact midpoint: ties to even → 1
            "1.000000059604644775390625000000001",  // just above → next Float
            "1.000000059604644775390624999999999",  // just below → 1
            "3.4028235677973366e38",  // near Float.greatestFiniteMagnitude + half ulp
            "1.1754942e-38", "1e-45", "7.0064923216240854e-46",
        ]
        for s in cases {
            #expect(DecimalParser.parseFloat(s)?.bitPattern == libcFloat(s).bitPattern, "\(s)")
        }
    }

    /// Shortest round-trip output of random Floats parses back to the same Float.
    @Test func roundTripsSwiftFloatDescriptions() {
        var g = SeededRandom(seed: 99)
        for _ in 0..<100_000 {
            let f = Float(bitPattern: UInt32(truncatingIfNeeded: g.next()))
            guard f.isFinite else { continue }
            #expect(DecimalParser.parseFloat(f.description)?.bitPattern == f.bitPattern)
        }
    }

    /// Decimals of 15–16 significant digits right at Float midpoints, and one unit either side:
    /// the window where multiplying by a rounded reciprocal must hand over to the exact path.
    @Test func nearMidpointsWithShortMantissas() {
        var g = SeededRandom(seed: 2024)
        var checked = 0
        for _ in 0..<60_000 {
            let f = Float(bitPattern: UInt32(truncatingIfNeeded: g.next()) & 0x7EFF_FFFF)
            guard f.isNormal else { continue }
            let midpoint = (Double(f) + Double(f.nextUp)) / 2  // exact in Double
            for digits in [14, 15] {
                let text = String(format: "%.\(digits)e", midpoint)
                // One unit in the last place either side, by editing the mantissa digits.
                guard let ePosition = text.firstIndex(of: "e") else { continue }
                let mantissa = String(text[..<ePosition]), exponent = String(text[ePosition...])
                guard let value = Double(mantissa) else { continue }
                let ulp = pow(10.0, Double(-digits))
                for candidate in [mantissa, String(format: "%.\(digits)f", value + ulp), String(format: "%.\(digits)f", value - ulp)] {
                    let s = candidate + exponent
                    guard let parsed = DecimalParser.parseFloat(s) else {
                        Issue.record("\(s) did not parse")
                        return
                    }
                    if parsed.bitPattern != libcFloat(s).bitPattern {
                        Issue.record("\(s): got \(parsed), strtof gives \(libcFloat(s))")
                        return
                    }
                    checked += 1
                }
            }
        }
        #expect(checked > 100_000)
    }
}

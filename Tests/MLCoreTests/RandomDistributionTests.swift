import Foundation
import MLCore
import Testing

/// Statistics for the random tests. Every bound is 5σ (two-sided normal tail 5.7e-7, or the
/// chi-square quantile with the same one-sided tail 2.87e-7), so a correct generator fails a given
/// check with probability below 1e-6. The seeds are fixed, so each test is deterministic: it
/// either always passes or always fails.
enum RandomStats {
    static func mean(_ x: [Double]) -> Double { x.reduce(0, +) / Double(x.count) }

    /// Mean, (population) variance, skewness and excess kurtosis.
    static func moments(_ x: [Double]) -> (mean: Double, variance: Double, skewness: Double, kurtosis: Double) {
        let m = mean(x)
        var m2 = 0.0, m3 = 0.0, m4 = 0.0
        for v in x {
            let d = v - m
            m2 += d * d
            m3 += d * d * d
            m4 += d * d * d * d
        }
        let n = Double(x.count)
        m2 /= n
        m3 /= n
        m4 /= n
        return (m, m2, m3 / pow(m2, 1.5), m4 / (m2 * m2) - 3)
    }

    static func correlation(_ x: [Double], _ y: [Double]) -> Double {
        let mx = mean(x), my = mean(y)
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for i in x.indices {
            sxy += (x[i] - mx) * (y[i] - my)
            sxx += (x[i] - mx) * (x[i] - mx)
            syy += (y[i] - my) * (y[i] - my)
        }
        return sxy / (sxx * syy).squareRoot()
    }

    /// Pearson's statistic against equal expected counts.
    static func chiSquare(_ counts: [Int]) -> Double {
        let expected = Double(counts.reduce(0, +)) / Double(counts.count)
        return counts.reduce(0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
    }

    /// χ² quantiles with upper tail 2.87e-7 (the one-sided 5σ normal tail), from
    /// `.venv/bin/python -c "from scipy.stats import chi2, norm; print(chi2.isf(norm.sf(5), df))"`.
    static func chiSquareBound(degreesOfFreedom df: Int) -> Double {
        switch df {
        case 2: return 30.130
        case 5: return 38.594
        case 9: return 47.732
        case 255: return 384.321
        case 495: return 668.620
        default: preconditionFailure("no χ² bound tabulated for \(df) degrees of freedom")  // invariant: test authoring error
        }
    }

    /// Checks `value` is within 5 standard errors of `expected`.
    static func expectWithin5Sigma(
        _ value: Double, _ expected: Double, standardError: Double, _ what: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(
            abs(value - expected) < 5 * standardError,
            "\(what) = \(value), expected \(expected) ± 5·\(standardError)", sourceLocation: sourceLocation)
    }

    static func expectChiSquare(_ counts: [Int], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let x2 = chiSquare(counts)
        let bound = chiSquareBound(degreesOfFreedom: counts.count - 1)
        #expect(x2 < bound, "\(what): χ² = \(x2) ≥ \(bound) (df \(counts.count - 1))", sourceLocation: sourceLocation)
    }
}

/// Checks that `body` throws ``RandomError/invalidParameter(name:value:rule:)`` naming `name`.
func expectInvalidRandomParameter(
    _ name: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
) {
    do {
        try body()
        Issue.record("expected RandomError for \(name), nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as RandomError {
        guard case let .invalidParameter(got, value, rule) = error else { return }
        #expect(got == name, sourceLocation: sourceLocation)
        #expect(!value.isEmpty && !rule.isEmpty, sourceLocation: sourceLocation)
        #expect(error.description.contains(name) && error.description.contains(rule), sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected RandomError for \(name), got \(error)", sourceLocation: sourceLocation)
    }
}

@Suite struct RandomDistributionTests {
    static let n = 100_000

    // MARK: Uniform floats

    @Test func floatsAreMultiplesOfTwoToTheMinus24AndUseAllTheirBits() {
        var s = RandomStream(seed: 1, stream: 1)
        var lowByte = [Int](repeating: 0, count: 256)
        var highByte = [Int](repeating: 0, count: 256)
        for _ in 0..<Self.n {
            let u = s.nextFloat()
            #expect(u >= 0 && u < 1)
            let k = u * 0x1p24
            #expect(k == k.rounded(.towardZero))
            lowByte[Int(k) & 255] += 1
            highByte[Int(k) >> 16] += 1
        }
        RandomStats.expectChiSquare(lowByte, "Float significand bits 0–7")
        RandomStats.expectChiSquare(highByte, "Float significand bits 16–23")
    }

    @Test func doublesAreMultiplesOfTwoToTheMinus53AndUseAllTheirBits() {
        var s = RandomStream(seed: 1, stream: 2)
        var lowByte = [Int](repeating: 0, count: 256)
        for _ in 0..<Self.n {
            let u = s.nextDouble()
            #expect(u >= 0 && u < 1)
            let k = u * 0x1p53
            #expect(k == k.rounded(.towardZero))
            lowByte[Int(UInt64(k) & 255)] += 1
        }
        RandomStats.expectChiSquare(lowByte, "Double significand bits 0–7")
    }

    /// Uniform[0,1): mean ½, variance 1/12. Standard errors over n draws: √(1/12n) for the mean
    /// and √((μ₄ − σ⁴)/n) = √((1/80 − 1/144)/n) for the variance.
    @Test func uniformMoments() {
        var s = RandomStream(seed: 2)
        let floats = (0..<Self.n).map { _ in Double(s.nextFloat()) }
        let doubles = (0..<Self.n).map { _ in s.nextDouble() }
        let n = Double(Self.n)
        for (name, x) in [("Float", floats), ("Double", doubles)] {
            let m = RandomStats.moments(x)
            RandomStats.expectWithin5Sigma(m.mean, 0.5, standardError: (1 / (12 * n)).squareRoot(), "\(name) mean")
            RandomStats.expectWithin5Sigma(
                m.variance, 1.0 / 12, standardError: ((1.0 / 80 - 1.0 / 144) / n).squareRoot(), "\(name) variance")
        }
    }

    @Test func uniformInRangeStaysInsideAndIsCentred() throws {
        var s = RandomStream(seed: 3)
        var x = [Double]()
        for _ in 0..<Self.n {
            let f = try s.nextFloat(in: Float(-3)..<5)
            let d = try s.nextDouble(in: -3.0..<5)
            #expect(f >= -3 && f < 5 && d >= -3 && d < 5)
            x.append(d)
        }
        RandomStats.expectWithin5Sigma(
            RandomStats.mean(x), 1, standardError: 8 / (12 * Double(Self.n)).squareRoot(), "mean of U[-3, 5)")
        // A one-ulp range has a single value, and rounding never reaches the upper bound.
        for _ in 0..<100 {
            #expect(try s.nextFloat(in: Float(1)..<Float(1).nextUp) == 1)
            #expect(try s.nextDouble(in: 1e300..<1e300.nextUp) == 1e300)
        }
    }

    @Test func fillUniformEqualsElementwiseDraws() throws {
        var a = RandomStream(seed: 4), b = a
        var floats = [Float](repeating: .nan, count: 37)
        try a.fillUniform(&floats, in: -2..<2)
        #expect(try floats == (0..<37).map { _ in try b.nextFloat(in: Float(-2)..<2) })
        var doubles = [Double](repeating: .nan, count: 37)
        try a.fillUniform(&doubles)
        #expect(doubles == (0..<37).map { _ in b.nextDouble() })
        #expect(a == b)
        // Any mutable collection: a slice of a bigger buffer.
        var buffer = [Float](repeating: -1, count: 10)
        try a.fillUniform(&buffer[3..<7])
        #expect(buffer[0..<3].allSatisfy { $0 == -1 } && buffer[7...].allSatisfy { $0 == -1 })
        #expect(buffer[3..<7].allSatisfy { $0 >= 0 && $0 < 1 })
    }

    /// Bulk fills take whole blocks straight from Philox; from every word offset and for lengths
    /// around the block size they must match element-by-element draws and end at the same state.
    @Test func bulkFillsMatchSingleDrawsFromEveryOffset() throws {
        for start in 0..<4 {
            for count in Array(0..<14) + [101] {
                var bulk = RandomStream(seed: 15, stream: UInt64(start))
                for _ in 0..<start { _ = bulk.nextUInt32() }
                var single = bulk
                var floats = [Float](repeating: .nan, count: count)
                try bulk.fillUniform(&floats, in: 2..<3)
                #expect(try floats == (0..<count).map { _ in try single.nextFloat(in: 2..<3) })
                var doubles = [Double](repeating: .nan, count: count)
                try bulk.fillUniform(&doubles)
                #expect(doubles == (0..<count).map { _ in single.nextDouble() })
                #expect(bulk == single, "start \(start), count \(count)")
                #expect(bulk.next() == single.next())
            }
        }
    }

    // MARK: Integers

    @Test func integerBelowTenIsUniform() throws {
        var s = RandomStream(seed: 5)
        var counts = [Int](repeating: 0, count: 10)
        for _ in 0..<Self.n { counts[try s.integer(below: 10)] += 1 }
        RandomStats.expectChiSquare(counts, "integer(below: 10)")
    }

    /// n = 3·2³⁰ (32-bit path) and 3·2⁶¹ (64-bit path): `word % n` would put 1/2 (resp. 3/8) of
    /// the mass in the first third; without bias the thirds are equal.
    @Test(arguments: [3 << 30, 3 << 61])
    func largeBoundsHaveNoModuloBias(_ n: Int) throws {
        var s = RandomStream(seed: 6)
        var thirds = [0, 0, 0]
        for _ in 0..<30_000 {
            let x = try s.integer(below: n)
            #expect(x >= 0 && x < n)
            thirds[x / (n / 3)] += 1
        }
        RandomStats.expectChiSquare(thirds, "thirds of integer(below: \(n))")
    }

    @Test func integerRangesCoverTheirValuesOnly() throws {
        var s = RandomStream(seed: 7)
        var seen = Set<Int>()
        for _ in 0..<2000 {
            let x = try s.integer(in: -5..<5)
            #expect(x >= -5 && x < 5)
            seen.insert(x)
            let y = s.integer(in: -2...2)
            #expect(y >= -2 && y <= 2)
            #expect(try s.integer(below: 1) == 0)
            _ = s.integer(in: Int.min...Int.max)
            let z = try s.integer(in: Int.min..<Int.max)
            #expect(z != Int.max)
        }
        #expect(seen == Set(-5..<5))
    }

    // MARK: Normal

    /// Standard normal: mean 0 (s.e. 1/√n), variance 1 (s.e. √(2/n)), skewness 0 (s.e. √(6/n)),
    /// excess kurtosis 0 (s.e. √(24/n)), P(|z| > 2) = 0.0455 (binomial s.e.), and the two values
    /// of a pair uncorrelated (s.e. 1/√n).
    @Test func normalMoments() {
        var s = RandomStream(seed: 8)
        var first = [Double](), second = [Double]()
        for _ in 0..<(Self.n / 2) {
            let (a, b) = s.normalPair()
            first.append(a)
            second.append(b)
        }
        let z = first + second
        let n = Double(z.count)
        let m = RandomStats.moments(z)
        RandomStats.expectWithin5Sigma(m.mean, 0, standardError: 1 / n.squareRoot(), "normal mean")
        RandomStats.expectWithin5Sigma(m.variance, 1, standardError: (2 / n).squareRoot(), "normal variance")
        RandomStats.expectWithin5Sigma(m.skewness, 0, standardError: (6 / n).squareRoot(), "normal skewness")
        RandomStats.expectWithin5Sigma(m.kurtosis, 0, standardError: (24 / n).squareRoot(), "normal excess kurtosis")
        let tail = 2 * 0.022_750_131_948_179_2  // 2·Φ(−2)
        let beyond2 = Double(z.filter { abs($0) > 2 }.count) / n
        RandomStats.expectWithin5Sigma(beyond2, tail, standardError: (tail * (1 - tail) / n).squareRoot(), "P(|z| > 2)")
        let half = Double(first.count)
        RandomStats.expectWithin5Sigma(
            RandomStats.correlation(first, second), 0, standardError: 1 / half.squareRoot(), "pair correlation")
        #expect(z.allSatisfy { $0.isFinite && abs($0) < 8.6 })
    }

    @Test func normalWithParametersIsShiftedAndScaled() throws {
        var s = RandomStream(seed: 9)
        let x = try (0..<Self.n).map { _ in try s.normal(mean: 3, standardDeviation: 2) }
        let m = RandomStats.moments(x)
        let n = Double(Self.n)
        RandomStats.expectWithin5Sigma(m.mean, 3, standardError: 2 / n.squareRoot(), "N(3, 2²) mean")
        RandomStats.expectWithin5Sigma(m.variance, 4, standardError: 4 * (2 / n).squareRoot(), "N(3, 2²) variance")
        #expect(try s.normal(mean: 1.5, standardDeviation: 0) == 1.5)
    }

    /// The Box–Muller formula with the documented inputs, written out independently.
    @Test func normalPairIsBoxMullerOfTheNextTwo53BitValues() {
        var s = RandomStream(seed: 10, stream: 1)
        var raw = s
        for _ in 0..<100 {
            let u1 = Double((raw.next() >> 11) + 1) / 9_007_199_254_740_992  // (0, 1]
            let u2 = Double(raw.next() >> 11) / 9_007_199_254_740_992
            let r = (-2 * log(u1)).squareRoot()
            let (a, b) = s.normalPair()
            #expect(a == r * cos(2 * .pi * u2))
            #expect(b == r * sin(2 * .pi * u2))
        }
        #expect(s == raw)
    }

    @Test func fillNormalUsesBothValuesOfEachPair() throws {
        var a = RandomStream(seed: 11), b = a
        var x = [Float](repeating: .nan, count: 5)
        try a.fillNormal(&x, mean: 1, standardDeviation: 0.5)
        let p = (0..<3).map { _ in b.normalPair() }
        let expected = [p[0].0, p[0].1, p[1].0, p[1].1, p[2].0].map { Float(1 + 0.5 * $0) }
        #expect(x == expected)
        #expect(a == b)  // 4·⌈5/2⌉ = 12 words
        var c = RandomStream(seed: 12), d = c
        var one = [Double](repeating: .nan, count: 1)
        try c.fillNormal(&one, mean: -2, standardDeviation: 3)
        #expect(one[0] == (try d.normal(mean: -2, standardDeviation: 3)))
        #expect(c == d)
    }

    // MARK: Bernoulli

    /// Bernoulli(0.3): frequency s.e. √(p(1−p)/n).
    @Test func bernoulliFrequency() throws {
        var s = RandomStream(seed: 13)
        let p = 0.3
        var hits = 0
        for _ in 0..<Self.n where try s.bernoulli(probability: p) { hits += 1 }
        let n = Double(Self.n)
        RandomStats.expectWithin5Sigma(
            Double(hits) / n, p, standardError: (p * (1 - p) / n).squareRoot(), "Bernoulli(0.3) frequency")
        for _ in 0..<1000 {
            #expect(try s.bernoulli(probability: 0) == false)
            #expect(try s.bernoulli(probability: 1) == true)
        }
    }

    // MARK: Errors

    @Test func invalidParametersThrowNamingTheParameter() {
        var s = RandomStream(seed: 14)
        expectInvalidRandomParameter("probability") { _ = try s.bernoulli(probability: -0.1) }
        expectInvalidRandomParameter("probability") { _ = try s.bernoulli(probability: 1.5) }
        expectInvalidRandomParameter("probability") { _ = try s.bernoulli(probability: .nan) }
        expectInvalidRandomParameter("standardDeviation") { _ = try s.normal(mean: 0, standardDeviation: -1) }
        expectInvalidRandomParameter("standardDeviation") { _ = try s.normal(mean: 0, standardDeviation: .nan) }
        expectInvalidRandomParameter("standardDeviation") { _ = try s.normal(mean: 0, standardDeviation: .infinity) }
        expectInvalidRandomParameter("mean") { _ = try s.normal(mean: .nan, standardDeviation: 1) }
        expectInvalidRandomParameter("mean") { _ = try s.normal(mean: -.infinity, standardDeviation: 1) }
        var floats = [Float](repeating: 0, count: 3)
        expectInvalidRandomParameter("mean") { try s.fillNormal(&floats, mean: .infinity, standardDeviation: 1) }
        expectInvalidRandomParameter("n") { _ = try s.integer(below: 0) }
        expectInvalidRandomParameter("n") { _ = try s.integer(below: -3) }
        expectInvalidRandomParameter("range") { _ = try s.integer(in: 5..<5) }
        expectInvalidRandomParameter("range") { _ = try s.nextDouble(in: 1.0..<1.0) }
        expectInvalidRandomParameter("range") { _ = try s.nextFloat(in: Float(2)..<2) }
        expectInvalidRandomParameter("range") { _ = try s.nextDouble(in: -Double.infinity..<0) }
        // (A NaN bound cannot reach us: `Range` itself traps on it, even with `uncheckedBounds` in
        // debug builds. The finiteness check would reject it.)
        expectInvalidRandomParameter("range") {
            _ = try s.nextFloat(in: -Float.greatestFiniteMagnitude..<Float.greatestFiniteMagnitude)
        }
        var buffer = [Float](repeating: 0, count: 4)
        expectInvalidRandomParameter("range") { try s.fillUniform(&buffer, in: 3..<3) }
        expectInvalidRandomParameter("standardDeviation") { try s.fillNormal(&buffer, mean: 0, standardDeviation: -2) }
        #expect(buffer == [0, 0, 0, 0])  // validation happens before any write
        #expect(s == RandomStream(seed: 14))  // and before any draw
    }

    @Test func errorMessageNamesParameterValueAndRule() {
        let e = RandomError.invalidParameter(name: "probability", value: "1.5", rule: "must be in [0, 1]")
        #expect(e.description == "invalid random-sampling parameter probability = 1.5: must be in [0, 1]")
    }
}

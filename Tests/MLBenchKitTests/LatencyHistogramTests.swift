import Foundation
@testable import MLBenchKit
import MLCore
import Testing

/// The histogram against the naive oracle: sort the samples and take `sorted[ceil(p·n) − 1]`.
@Suite("LatencyHistogram")
struct LatencyHistogramTests {
    static func naive(_ sorted: [UInt64], _ p: Double) -> Double {
        let rank = max(1, Int((p * Double(sorted.count)).rounded(.up)))
        return Double(sorted[rank - 1])
    }

    @Test(arguments: [1, 2, 3, 17, 1000, 100_000], [UInt64(1), 7, 42])
    func percentilesWithinOnePercentOfTheSortedArray(count: Int, seed: UInt64) throws {
        var g = RandomStream(seed: seed, stream: UInt64(count))
        var h = LatencyHistogram()
        var values: [UInt64] = []
        for _ in 0..<count {
            // Log-uniform from 1 ns to about 30 s: every bucket regime, linear and logarithmic.
            let v = UInt64(exp(g.nextDouble() * log(3e10)))
            values.append(v)
            h.record(nanoseconds: v)
        }
        values.sort()
        #expect(h.count == UInt64(count))
        #expect(h.minimum == values.first && h.maximum == values.last)
        for p in [0.0, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0] {
            let want = Self.naive(values, p)
            let got = try #require(h.percentile(p))
            #expect(abs(got - want) <= 0.01 * want + 0.5, "p\(p): \(got) vs \(want)")
        }
    }

    @Test func bucketsCoverEveryValueWithoutGapsAndStayNarrow() {
        var previous = -1
        for v in stride(from: UInt64(0), to: 5000, by: 1) {
            let i = LatencyHistogram.index(of: v)
            #expect(i == previous || i == previous + 1)
            previous = i
        }
        var g = RandomStream(seed: 3, stream: 0)
        for _ in 0..<10_000 {
            let v = UInt64(exp(g.nextDouble() * log(1e12)))
            let (lower, width) = LatencyHistogram.bounds(of: LatencyHistogram.index(of: v))
            #expect(lower <= v && v < lower + width)
            #expect(Double(width) <= max(1, Double(v) / 128))
        }
    }

    @Test func mergingEqualsRecordingEverything() {
        var a = LatencyHistogram(), b = LatencyHistogram(), all = LatencyHistogram()
        for v in UInt64(1)...5000 {
            if v % 3 == 0 { a.record(nanoseconds: v * 997) } else { b.record(nanoseconds: v * 997) }
            all.record(nanoseconds: v * 997)
        }
        a.merge(b)
        #expect(a == all)
    }

    @Test func emptyAndOutOfRangeInputsDoNotTrap() {
        var h = LatencyHistogram()
        #expect(h.percentile(0.5) == nil)
        #expect(h.meanSeconds == nil)
        h.record(seconds: -1)
        h.record(seconds: .infinity)
        h.record(seconds: .nan)
        h.record(nanoseconds: .max)
        #expect(h.count == 4)
        #expect(h.percentile(.nan) != nil)
        #expect(h.percentile(-3) == 0)
        #expect(h.percentile(7) == Double(UInt64.max))
    }

    @Test func secondsRoundTrip() throws {
        var h = LatencyHistogram()
        h.record(seconds: 0.000_250)
        #expect(abs(try #require(h.percentileSeconds(0.5)) - 0.000_250) <= 0.000_250 * 0.005)
    }
}

/// Latencies in nanoseconds, counted in log-linear buckets (HdrHistogram's layout): values below
/// 256 ns have a bucket each; above, every power of two is split into 128 equal buckets, so a
/// bucket is at most 1/128 of its values wide and a reported percentile (the bucket's midpoint)
/// is within 0.4% of the true sample. Constant memory and O(1) recording, so the load generator
/// can record millions of requests without sorting them; histograms from several threads merge.
///
/// Percentiles use the nearest-rank definition: the `p`-quantile is the smallest recorded value
/// `v` such that at least `ceil(p·count)` samples are ≤ `v` — the same as `sorted[ceil(p·n) − 1]`.
public struct LatencyHistogram: Sendable, Equatable {
    /// Values up to 2^`maximumExponent` ns (about 18 minutes) are resolved; larger ones count in the last bucket.
    static let maximumExponent = 40
    static let linearBits = 8
    static let halfLinear = 1 << (linearBits - 1)

    private(set) var buckets: [UInt64]
    public private(set) var count: UInt64 = 0
    /// Exact extremes and sum of everything recorded.
    public private(set) var minimum: UInt64 = .max
    public private(set) var maximum: UInt64 = 0
    public private(set) var sum: Double = 0

    public init() {
        buckets = [UInt64](repeating: 0, count: Self.index(of: (1 << Self.maximumExponent) - 1) + 1)
    }

    /// Bucket of `value`: itself below 256; else 256 + (shift − 1)·128 + (value >> shift − 128),
    /// where `shift` keeps the top 8 significant bits.
    @inline(__always)
    static func index(of value: UInt64) -> Int {
        let msb = 63 - value.leadingZeroBitCount
        guard msb >= linearBits else { return Int(value) }
        let shift = msb - (linearBits - 1)
        return (1 << linearBits) + (shift - 1) * halfLinear + Int(value >> UInt64(shift)) - halfLinear
    }

    /// The smallest value and width of bucket `index`.
    static func bounds(of index: Int) -> (lower: UInt64, width: UInt64) {
        guard index >= 1 << linearBits else { return (UInt64(index), 1) }
        let shift = (index - (1 << linearBits)) / halfLinear + 1
        let mantissa = (index - (1 << linearBits)) % halfLinear + halfLinear
        return (UInt64(mantissa) << UInt64(shift), 1 << UInt64(shift))
    }

    public mutating func record(nanoseconds value: UInt64) {
        let clamped = min(value, (1 << Self.maximumExponent) - 1)
        buckets[Self.index(of: clamped)] += 1
        count += 1
        minimum = min(minimum, value)
        maximum = max(maximum, value)
        sum += Double(value)
    }

    /// Records a latency given in seconds (negative values, from clock skew, count as 0).
    public mutating func record(seconds: Double) {
        record(nanoseconds: seconds > 0 ? UInt64(min(seconds * 1e9, 1.8e19)) : 0)
    }

    public mutating func merge(_ other: LatencyHistogram) {
        guard other.count > 0 else { return }
        for i in buckets.indices { buckets[i] += other.buckets[i] }
        count += other.count
        minimum = min(minimum, other.minimum)
        maximum = max(maximum, other.maximum)
        sum += other.sum
    }

    /// The nearest-rank `p`-quantile in nanoseconds (`p` in 0...1, clamped), the bucket's
    /// midpoint clamped to the exact minimum and maximum; `nil` when empty.
    public func percentile(_ p: Double) -> Double? {
        guard count > 0 else { return nil }
        let q = p.isNaN ? 1 : min(max(p, 0), 1)
        let rank = max(1, UInt64((q * Double(count)).rounded(.up)))
        // The extremes are known exactly.
        if rank == 1 { return Double(minimum) }
        if rank >= count { return Double(maximum) }
        var seen: UInt64 = 0
        for (i, n) in buckets.enumerated() where n > 0 {
            seen += n
            if seen >= rank {
                let (lower, width) = Self.bounds(of: i)
                let mid = Double(lower) + Double(width - 1) / 2
                return min(max(mid, Double(minimum)), Double(maximum))
            }
        }
        return Double(maximum)
    }

    /// The quantile in seconds (`nil` when empty).
    public func percentileSeconds(_ p: Double) -> Double? { percentile(p).map { $0 / 1e9 } }

    public var meanSeconds: Double? { count > 0 ? sum / Double(count) / 1e9 : nil }
}

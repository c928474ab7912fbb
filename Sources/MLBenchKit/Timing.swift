#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The monotonic clock every timing in `mlbench` uses: `clock_gettime(CLOCK_MONOTONIC)`, the
/// same clock the C peers read, so both sides of a ratio are timed alike.
public enum MonotonicClock {
    /// Seconds since an arbitrary fixed point; only differences mean anything.
    @inline(__always)
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Seconds `body` took.
    @inline(__always)
    public static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = now()
        try body()
        return now() - start
    }
}

/// The median, fastest and slowest of a set of timed runs.
public struct TimingSummary: Sendable, Equatable {
    /// The timed runs in the order they ran, in seconds.
    public let samples: [Double]
    /// The middle sample; for an even count, the mean of the two middle ones.
    public let median: Double
    public let min: Double
    public let max: Double
    public var runs: Int { samples.count }

    /// Summarizes `samples` (seconds). Throws when there are none or one is negative or not finite.
    public init(samples: [Double]) throws(BenchmarkError) {
        guard !samples.isEmpty else { throw .invalidMeasurement("no timed runs") }
        guard samples.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
            throw .invalidMeasurement("a run time is negative or not finite: \(samples)")
        }
        let sorted = samples.sorted()
        let mid = sorted.count / 2
        self.samples = samples
        self.median = sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
        self.min = sorted[0]
        self.max = sorted[sorted.count - 1]
    }

    /// `work / median`, e.g. floating-point operations per second when `work` is a flop count.
    public func rate(_ work: Double) -> Double { median > 0 ? work / median : .infinity }
}

/// Warm-up runs, then timed runs. The body is one run; set-up belongs outside it.
///
/// - Parameters:
///   - warmup: untimed runs first (caches, page faults, OpenBLAS's thread pool), ≥ 0.
///   - repeat: timed runs, ≥ 1.
///   - budgetSeconds: when the warm-up (or, with no warm-up, the first timed run) shows that
///     `repeat` runs would take longer than this, fewer runs are made, never fewer than
///     `minimumRuns`; the result's `runs` says how many. `nil`: always `repeat`.
public func measure(
    warmup: Int, repeat: Int, budgetSeconds: Double? = nil, minimumRuns: Int = 3,
    _ body: () throws -> Void
) throws -> TimingSummary {
    guard warmup >= 0, `repeat` >= 1 else {
        throw BenchmarkError.invalidMeasurement("warm-up \(warmup) must be ≥ 0 and repeat \(`repeat`) ≥ 1")
    }
    var lastWarmup: Double?
    for _ in 0..<warmup { lastWarmup = try MonotonicClock.seconds(body) }
    var runs = `repeat`
    var samples: [Double] = []
    samples.reserveCapacity(runs)
    if let budgetSeconds {
        let probe: Double
        if let lastWarmup { probe = lastWarmup } else { probe = try MonotonicClock.seconds(body); samples.append(probe) }
        if probe * Double(runs) > budgetSeconds {
            runs = Swift.min(runs, Swift.max(minimumRuns, Int(budgetSeconds / Swift.max(probe, 1e-9))))
        }
    }
    while samples.count < runs { samples.append(try MonotonicClock.seconds(body)) }
    return try TimingSummary(samples: samples)
}

/// One implementation measured on one workload: a line of `mlbench --json`.
///
/// The JSON line has exactly these keys, in this order (docs/mlbench.md "JSON lines"):
/// `suite`, `workload`, `impl`, `version`, `threads`, `median_s`, `min_s`, `max_s`, `runs`,
/// `peak_rss_mb`, `metrics`. Peers print the same shape, and ``PeerRunner`` decodes it.
public struct BenchmarkResult: Sendable, Equatable, Codable {
    /// The suite's name (`gemm`).
    public var suite: String
    /// What was measured, unique within the suite (`sgemm_4096`, `sgemv_1000x100`).
    public var workload: String
    /// `mlcore`, or the peer's name (`openblas-c`, `pandas`, `scikit-learn`).
    public var impl: String
    /// The implementation's version: our commit for `mlcore`, the library's version for a peer.
    public var version: String
    /// Threads the implementation was allowed (OpenBLAS threads and/or workers).
    public var threads: Int
    /// Median, fastest and slowest of the timed runs, in seconds.
    public var medianSeconds: Double
    public var minSeconds: Double
    public var maxSeconds: Double
    /// Timed runs (warm-up runs not counted).
    public var runs: Int
    /// Peak resident set of the measuring process when the result was recorded, in MiB: `VmHWM`
    /// from /proc/self/status (``peakRSSMegabytes()``); a peer reports its own the same way. Not
    /// `getrusage`'s `ru_maxrss`: Linux carries a parent's peak across fork and exec, so a peer
    /// (or mlbench under `swift run`) would report its parent's.
    public var peakRSSMegabytes: Double
    /// Workload figures: `gflops`, `calls_per_s`, `mb_per_s`, `auc`, `logloss`, … Encoded with
    /// sorted keys; non-finite values are left out (JSON has no NaN or infinity).
    public var metrics: [String: Double]

    public init(
        suite: String, workload: String, impl: String, version: String, threads: Int,
        medianSeconds: Double, minSeconds: Double, maxSeconds: Double, runs: Int,
        peakRSSMegabytes: Double, metrics: [String: Double] = [:]
    ) {
        self.suite = suite
        self.workload = workload
        self.impl = impl
        self.version = version
        self.threads = threads
        self.medianSeconds = medianSeconds
        self.minSeconds = minSeconds
        self.maxSeconds = maxSeconds
        self.runs = runs
        self.peakRSSMegabytes = peakRSSMegabytes
        self.metrics = metrics
    }

    /// A result from a timing summary.
    public init(
        suite: String, workload: String, impl: String, version: String, threads: Int,
        timing: TimingSummary, peakRSSMegabytes: Double, metrics: [String: Double] = [:]
    ) {
        self.init(
            suite: suite, workload: workload, impl: impl, version: version, threads: threads,
            medianSeconds: timing.median, minSeconds: timing.min, maxSeconds: timing.max, runs: timing.runs,
            peakRSSMegabytes: peakRSSMegabytes, metrics: metrics)
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case suite, workload, impl, version, threads
        case medianSeconds = "median_s"
        case minSeconds = "min_s"
        case maxSeconds = "max_s"
        case runs
        case peakRSSMegabytes = "peak_rss_mb"
        case metrics
    }

    /// The JSON keys in the order ``jsonLine`` writes them.
    public static var jsonKeys: [String] { CodingKeys.allCases.map(\.rawValue) }

    /// The result as one line of JSON (no trailing newline), keys in the documented order.
    ///
    /// Written by hand rather than with `JSONEncoder` so the key order is stable and numbers
    /// keep their shortest round-trip form.
    public var jsonLine: String {
        var out = "{"
        out += "\"suite\":" + JSON.string(suite)
        out += ",\"workload\":" + JSON.string(workload)
        out += ",\"impl\":" + JSON.string(impl)
        out += ",\"version\":" + JSON.string(version)
        out += ",\"threads\":" + String(threads)
        out += ",\"median_s\":" + JSON.number(medianSeconds)
        out += ",\"min_s\":" + JSON.number(minSeconds)
        out += ",\"max_s\":" + JSON.number(maxSeconds)
        out += ",\"runs\":" + String(runs)
        out += ",\"peak_rss_mb\":" + JSON.number(peakRSSMegabytes)
        out += ",\"metrics\":{"
        var first = true
        for key in metrics.keys.sorted() {
            guard let value = metrics[key], value.isFinite else { continue }
            out += (first ? "" : ",") + JSON.string(key) + ":" + JSON.number(value)
            first = false
        }
        out += "}}"
        return out
    }
}

/// The little JSON writing the harness needs.
enum JSON {
    /// A JSON string literal with `"`, `\` and control characters escaped.
    static func string(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// A JSON number: Swift's shortest round-trip form (`0.25`, `1e-05`), `null` if not finite.
    static func number(_ x: Double) -> String {
        guard x.isFinite else { return "null" }
        return x.description
    }
}

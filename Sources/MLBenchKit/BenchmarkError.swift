/// Why a benchmark could not run or its result was rejected. Never a trap: `mlbench` prints the
/// description and exits non-zero.
public enum BenchmarkError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A command-line option out of range.
    case invalidOption(name: String, value: String, rule: String)
    /// No suite of that name.
    case unknownSuite(String, available: [String])
    /// The computed result disagrees with the reference: nothing is timed.
    case wrongResult(workload: String, detail: String)
    /// Timing that cannot be summarized (no runs, a negative time).
    case invalidMeasurement(String)
    /// A workload could not be set up (allocation, file, BLAS argument).
    case setupFailed(workload: String, detail: String)

    public var description: String {
        switch self {
        case let .invalidOption(name, value, rule):
            return "--\(name) \(value) is invalid: \(rule)"
        case let .unknownSuite(name, available):
            return "unknown suite '\(name)'; available: \(available.joined(separator: ", ")) (mlbench list)"
        case let .wrongResult(workload, detail):
            return "\(workload): wrong result, not timed: \(detail)"
        case let .invalidMeasurement(detail):
            return "invalid measurement: \(detail)"
        case let .setupFailed(workload, detail):
            return "\(workload): \(detail)"
        }
    }
}

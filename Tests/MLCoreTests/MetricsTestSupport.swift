import Foundation
import MLCore
import Testing

/// The metrics test suites (fixtures from scikit-learn, naive oracles, bad input) hang off this
/// one suite so that `swift test --filter MetricsTests` selects all of them.
@Suite("Metrics") struct MetricsTests {}

// MARK: - Closeness

/// Checks `|actual − expected| ≤ atol + rtol·max(|actual|, |expected|)`, symmetric in its
/// arguments. Unlike the shared `expectClose`, two NaNs count as equal (a metric defined to be
/// NaN, such as a macro average with `zeroDivision: .nan` over no class, matched), and the
/// defaults are the metrics' Double tolerances rather than exact equality.
func expectMetricClose(
    _ actual: Double, _ expected: Double, rtol: Double = 1e-12, atol: Double = 1e-12,
    _ comment: @autoclosure () -> String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    precondition(rtol >= 0 && atol >= 0, "tolerances are never negative")  // invariant: test bug
    if actual.isNaN || expected.isNaN {
        #expect(actual.isNaN && expected.isNaN, "\(comment()): \(actual) vs \(expected)",
                sourceLocation: sourceLocation)
        return
    }
    let bound = atol + rtol * max(abs(actual), abs(expected))
    #expect(abs(actual - expected) <= bound,
            "\(comment()): \(actual) vs expected \(expected) (|Δ| = \(abs(actual - expected)) > \(bound))",
            sourceLocation: sourceLocation)
}

/// Runs `body` and checks that it throws exactly `expected`; also checks that the message names
/// the metric.
func expectMetricError(
    _ expected: MetricError, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws(MetricError) -> Double
) {
    do {
        let value = try body()
        Issue.record("expected \(expected), got the value \(value)", sourceLocation: sourceLocation)
    } catch {
        #expect(error == expected, sourceLocation: sourceLocation)
        #expect(error.description.hasPrefix(error.metric + ": "), "\(error)", sourceLocation: sourceLocation)
    }
}

// MARK: - Fixtures written by Fixtures/make_metrics_fixtures.py (scikit-learn)

struct MetricsFixtures: Decodable {
    struct BetaValue: Decodable { var beta: Double; var value: Double }
    struct KValue: Decodable { var k: Int; var value: Double }

    struct Binary: Decodable {
        var name: String
        var labels: [Double]
        var predictions: [Double]
        var scores: [Double]
        var probabilities: [Double]
        var weights: [Double]?
        var accuracy: Double
        var precision: Double
        var precisionZeroDivision1: Double
        var recall: Double
        var f1: Double
        var fBeta: [BetaValue]
        var balancedAccuracy: Double
        var logLoss: Double
        var rocAuc: Double?
    }

    struct Regression: Decodable {
        var name: String
        var labels: [Double]
        var predictions: [Double]
        var weights: [Double]?
        var mse: Double
        var rmse: Double
        var mae: Double
        var r2: Double
    }

    struct Multiclass: Decodable {
        var name: String
        var classCount: Int
        var labels: [Double]
        var predictions: [Double]
        var scores: [Double]
        var probabilities: [Double]
        var weights: [Double]?
        var accuracy: Double
        var balancedAccuracy: Double
        var macroPrecision: Double
        var macroRecall: Double
        var macroF1: Double
        var macroFBeta: [BetaValue]
        var macroPrecisionAllClasses: Double
        var macroRecallAllClasses: Double
        var macroF1AllClasses: Double
        var macroPrecisionZeroDivision1: Double
        var macroRecallZeroDivision1: Double
        var macroPrecisionZeroDivisionNan: Double
        var macroF1ZeroDivisionNan: Double
        var topK: [KValue]
        var logLoss: Double
    }

    struct ArbitraryLabels: Decodable {
        var labels: [Double]
        var predictions: [Double]
        var weights: [Double]
        var accuracy: Double
        var balancedAccuracy: Double
        var macroPrecision: Double
        var macroRecall: Double
        var macroF1: Double
        var accuracyWeighted: Double
        var balancedAccuracyWeighted: Double
        var macroPrecisionWeighted: Double
        var macroRecallWeighted: Double
        var macroF1Weighted: Double
    }

    struct Float32: Decodable {
        struct BinaryCase: Decodable {
            var labels: [Double]
            var probabilities: [Double]
            var weights: [Double]
            var logLoss: Double
            var logLossWeighted: Double
        }
        struct MulticlassCase: Decodable {
            var classCount: Int
            var labels: [Double]
            var probabilities: [Double]
            var logLoss: Double
        }
        var eps: Double
        var binary: BinaryCase
        var multiclass: MulticlassCase
    }

    var generator: String
    var sklearnVersion: String
    var numpyVersion: String
    var seed: Int
    var binary: [Binary]
    var regression: [Regression]
    var multiclass: [Multiclass]
    var arbitraryLabels: ArbitraryLabels
    var float32: Float32

    /// Decodes `Fixtures/metrics.json` from the test bundle's copied `Fixtures` directory.
    static func load() throws -> MetricsFixtures {
        let url = try fixturesDirectory().appendingPathComponent("metrics.json")
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(MetricsFixtures.self, from: Data(contentsOf: url))
    }
}

// MARK: - Seeded randomness

extension Array where Element == Double {
    func floats() -> [Float] { map { Float($0) } }
}

extension Optional where Wrapped == [Double] {
    func floats() -> [Float]? { map { $0.floats() } }
}

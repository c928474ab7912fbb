import Foundation
import MLCore
import Testing

// Bad input never traps: every rule each metric checks, with the exact typed error and a
// message that starts with the metric's name.

extension MetricsTests {
    @Suite("bad input") struct BadInput {
        let empty: [Double] = []

        @Test("empty input")
        func emptyInput() {
            for metric in ["accuracy", "balancedAccuracy", "precision", "recall", "fBetaScore", "f1Score", "logLoss",
                           "rocAUC", "meanSquaredError", "rootMeanSquaredError", "meanAbsoluteError", "r2Score",
                           "macroPrecision", "macroRecall", "macroFBetaScore", "macroF1Score", "topKAccuracy",
                           "multiclassLogLoss"] {
                expectMetricError(.empty(metric: metric)) { () throws(MetricError) -> Double in
                    switch metric {
                    case "accuracy": try Metrics.accuracy(labels: empty, predictions: empty)
                    case "balancedAccuracy": try Metrics.balancedAccuracy(labels: empty, predictions: empty)
                    case "precision": try Metrics.precision(labels: empty, predictions: empty)
                    case "recall": try Metrics.recall(labels: empty, predictions: empty)
                    case "fBetaScore": try Metrics.fBetaScore(labels: empty, predictions: empty, beta: 2)
                    case "f1Score": try Metrics.f1Score(labels: empty, predictions: empty)
                    case "logLoss": try Metrics.logLoss(labels: empty, probabilities: empty)
                    case "rocAUC": try Metrics.rocAUC(labels: empty, scores: empty)
                    case "meanSquaredError": try Metrics.meanSquaredError(labels: empty, predictions: empty)
                    case "rootMeanSquaredError": try Metrics.rootMeanSquaredError(labels: empty, predictions: empty)
                    case "meanAbsoluteError": try Metrics.meanAbsoluteError(labels: empty, predictions: empty)
                    case "r2Score": try Metrics.r2Score(labels: empty, predictions: empty)
                    case "macroPrecision": try Metrics.macroPrecision(labels: empty, predictions: empty)
                    case "macroRecall": try Metrics.macroRecall(labels: empty, predictions: empty, classCount: 3)
                    case "macroFBetaScore": try Metrics.macroFBetaScore(labels: empty, predictions: empty, beta: 1)
                    case "macroF1Score": try Metrics.macroF1Score(labels: empty, predictions: empty)
                    case "topKAccuracy": try Metrics.topKAccuracy(labels: empty, scores: [[Double]](), k: 1)
                    default: try Metrics.multiclassLogLoss(labels: empty, probabilities: empty, classCount: 3)
                    }
                }
            }
        }

        @Test("mismatched lengths")
        func lengths() {
            let y: [Double] = [0, 1, 1]
            expectMetricError(.lengthMismatch(metric: "accuracy", argument: "predictions", expected: 3, actual: 2)) {
                () throws(MetricError) -> Double in try Metrics.accuracy(labels: y, predictions: [0, 1])
            }
            expectMetricError(.lengthMismatch(metric: "rocAUC", argument: "scores", expected: 3, actual: 4)) {
                () throws(MetricError) -> Double in try Metrics.rocAUC(labels: y, scores: [0, 1, 2, 3])
            }
            expectMetricError(.lengthMismatch(metric: "precision", argument: "weights", expected: 3, actual: 1)) {
                () throws(MetricError) -> Double in try Metrics.precision(labels: y, predictions: y, weights: [1])
            }
            expectMetricError(.lengthMismatch(metric: "r2Score", argument: "weights", expected: 3, actual: 4)) {
                () throws(MetricError) -> Double in
                try Metrics.r2Score(labels: y, predictions: y, weights: [1, 1, 1, 1])
            }
            expectMetricError(.lengthMismatch(metric: "topKAccuracy",
                                              argument: "scores (flat, row-major, labels × classCount)",
                                              expected: 9, actual: 8)) { () throws(MetricError) -> Double in
                try Metrics.topKAccuracy(labels: y, scores: [Double](repeating: 0, count: 8), classCount: 3, k: 1)
            }
            expectMetricError(.lengthMismatch(metric: "multiclassLogLoss", argument: "probabilities (rows)",
                                              expected: 3, actual: 2)) { () throws(MetricError) -> Double in
                try Metrics.multiclassLogLoss(labels: y, probabilities: [[0.5, 0.5], [0.5, 0.5]])
            }
            expectMetricError(.lengthMismatch(metric: "topKAccuracy", argument: "scores (rows)", expected: 3, actual: 1)) {
                () throws(MetricError) -> Double in
                try Metrics.topKAccuracy(labels: y, scores: Matrix<Double>(rows: 1, columns: 3), k: 1)
            }
        }

        @Test("NaN and infinity anywhere")
        func nonFinite() {
            let y: [Double] = [0, 1, 1]
            expectMetricError(.nonFinite(metric: "rocAUC", argument: "scores", index: 1)) {
                () throws(MetricError) -> Double in try Metrics.rocAUC(labels: y, scores: [0.1, .nan, 0.3])
            }
            expectMetricError(.nonFinite(metric: "precision", argument: "labels", index: 2)) {
                () throws(MetricError) -> Double in try Metrics.precision(labels: [0, 1, .infinity], predictions: y)
            }
            expectMetricError(.nonFinite(metric: "accuracy", argument: "predictions", index: 0)) {
                () throws(MetricError) -> Double in try Metrics.accuracy(labels: y, predictions: [.nan, 1, 1])
            }
            expectMetricError(.nonFinite(metric: "meanSquaredError", argument: "predictions", index: 2)) {
                () throws(MetricError) -> Double in
                try Metrics.meanSquaredError(labels: y, predictions: [0, 0, -.infinity])
            }
            expectMetricError(.nonFinite(metric: "meanAbsoluteError", argument: "weights", index: 0)) {
                () throws(MetricError) -> Double in
                try Metrics.meanAbsoluteError(labels: y, predictions: y, weights: [.nan, 1, 1])
            }
            expectMetricError(.nonFinite(metric: "logLoss", argument: "probabilities", index: 0)) {
                () throws(MetricError) -> Double in try Metrics.logLoss(labels: y, probabilities: [.nan, 0.5, 0.5])
            }
            expectMetricError(.nonFinite(metric: "topKAccuracy", argument: "scores", index: 3)) {
                () throws(MetricError) -> Double in
                try Metrics.topKAccuracy(labels: [0, 1 as Float], scores: [[1, 2], [3, .infinity]], k: 1)
            }
        }

        @Test("binary metrics reject labels other than 0 and 1")
        func notBinary() {
            expectMetricError(.notBinary(metric: "rocAUC", argument: "labels", index: 2, value: 2)) {
                () throws(MetricError) -> Double in try Metrics.rocAUC(labels: [0, 1, 2.0], scores: [1, 2, 3])
            }
            expectMetricError(.notBinary(metric: "f1Score", argument: "predictions", index: 0, value: -1)) {
                () throws(MetricError) -> Double in try Metrics.f1Score(labels: [0, 1.0], predictions: [-1, 1])
            }
            expectMetricError(.notBinary(metric: "logLoss", argument: "labels", index: 1, value: 0.5)) {
                () throws(MetricError) -> Double in try Metrics.logLoss(labels: [0, 0.5], probabilities: [0.1, 0.2])
            }
        }

        @Test("class labels must be integers, and class indices when a class count is given")
        func classLabels() {
            expectMetricError(.invalidClassLabel(metric: "accuracy", argument: "labels", index: 1, value: 1.5,
                                                 classCount: nil)) { () throws(MetricError) -> Double in
                try Metrics.accuracy(labels: [0, 1.5], predictions: [0, 1])
            }
            expectMetricError(.invalidClassLabel(metric: "macroRecall", argument: "predictions", index: 0, value: 3,
                                                 classCount: 3)) { () throws(MetricError) -> Double in
                try Metrics.macroRecall(labels: [0, 1.0], predictions: [3, 1], classCount: 3)
            }
            expectMetricError(.invalidClassLabel(metric: "topKAccuracy", argument: "labels", index: 1, value: -1,
                                                 classCount: 2)) { () throws(MetricError) -> Double in
                try Metrics.topKAccuracy(labels: [0, -1.0], scores: [1, 2, 3, 4], classCount: 2, k: 1)
            }
            expectMetricError(.invalidClassLabel(metric: "multiclassLogLoss", argument: "labels", index: 0, value: 3,
                                                 classCount: 3)) { () throws(MetricError) -> Double in
                try Metrics.multiclassLogLoss(labels: [3.0], probabilities: [0.2, 0.3, 0.5], classCount: 3)
            }
        }

        @Test("ROC AUC over one class (or one class with positive weight)")
        func singleClass() {
            expectMetricError(.singleClass(metric: "rocAUC", presentClass: 1)) { () throws(MetricError) -> Double in
                try Metrics.rocAUC(labels: [1, 1, 1.0], scores: [0.1, 0.2, 0.3])
            }
            expectMetricError(.singleClass(metric: "rocAUC", presentClass: 0)) { () throws(MetricError) -> Double in
                try Metrics.rocAUC(labels: [0 as Float], scores: [0.1])
            }
            expectMetricError(.singleClass(metric: "rocAUC", presentClass: 0)) { () throws(MetricError) -> Double in
                try Metrics.rocAUC(labels: [0, 1, 0.0], scores: [0.1, 0.2, 0.3], weights: [1, 0, 2])
            }
        }

        @Test("probabilities outside [0, 1], rows not summing to 1")
        func probabilities() {
            expectMetricError(.probabilityOutOfRange(metric: "logLoss", index: 1, value: 1.25)) {
                () throws(MetricError) -> Double in try Metrics.logLoss(labels: [0, 1.0], probabilities: [0.5, 1.25])
            }
            expectMetricError(.probabilityOutOfRange(metric: "logLoss", index: 0, value: -0.125)) {
                () throws(MetricError) -> Double in try Metrics.logLoss(labels: [0, 1.0], probabilities: [-0.125, 1])
            }
            expectMetricError(.probabilityOutOfRange(metric: "multiclassLogLoss", index: 2, value: -1)) {
                () throws(MetricError) -> Double in
                try Metrics.multiclassLogLoss(labels: [0, 1.0], probabilities: [[0.5, 0.5], [-1, 2]])
            }
            let tolerance = Metrics.probabilityRowSumTolerance
            expectMetricError(.probabilitiesDoNotSumToOne(metric: "multiclassLogLoss", row: 1, sum: 0.5,
                                                          tolerance: tolerance)) { () throws(MetricError) -> Double in
                try Metrics.multiclassLogLoss(labels: [0, 1.0], probabilities: [0.5, 0.5, 0.25, 0.25], classCount: 2)
            }
            // Within the tolerance (a Float softmax widened to Double): accepted, not renormalised.
            let slightlyOff = [0.3 + 1e-5, 0.7]
            #expect(throws: Never.self) {
                let loss = try Metrics.multiclassLogLoss(labels: [1.0], probabilities: slightlyOff, classCount: 2)
                expectMetricClose(loss, -log(0.7))
            }
        }

        @Test("negative weights, weights summing to zero")
        func weights() {
            expectMetricError(.negativeWeight(metric: "accuracy", index: 1, value: -1)) {
                () throws(MetricError) -> Double in
                try Metrics.accuracy(labels: [0, 1.0], predictions: [0, 1], weights: [1, -1])
            }
            expectMetricError(.zeroTotalWeight(metric: "macroF1Score")) { () throws(MetricError) -> Double in
                try Metrics.macroF1Score(labels: [0, 1.0], predictions: [0, 1], weights: [0, 0])
            }
            expectMetricError(.zeroTotalWeight(metric: "meanSquaredError")) { () throws(MetricError) -> Double in
                try Metrics.meanSquaredError(labels: [0, 1.0], predictions: [0, 1], weights: [0, 0])
            }
        }

        @Test("parameters out of their domain: k, beta, classCount")
        func parameters() {
            let y: [Double] = [0, 1]
            expectMetricError(.invalidParameter(metric: "topKAccuracy", name: "k", value: "0", rule: "k must be ≥ 1")) {
                () throws(MetricError) -> Double in
                try Metrics.topKAccuracy(labels: y, scores: [1, 2, 3, 4], classCount: 2, k: 0)
            }
            for beta in [-1.0, .nan] {
                #expect(throws: MetricError.self) {
                    try Metrics.fBetaScore(labels: y, predictions: y, beta: beta)
                }
                #expect(throws: MetricError.self) {
                    try Metrics.macroFBetaScore(labels: y, predictions: y, beta: beta)
                }
            }
            expectMetricError(.invalidParameter(metric: "multiclassLogLoss", name: "classCount", value: "1",
                                                rule: "a classification needs at least 2 classes")) {
                () throws(MetricError) -> Double in
                try Metrics.multiclassLogLoss(labels: [0.0], probabilities: [1.0], classCount: 1)
            }
            expectMetricError(.invalidParameter(metric: "macroPrecision", name: "classCount", value: "0",
                                                rule: "a classification needs at least 2 classes")) {
                () throws(MetricError) -> Double in try Metrics.macroPrecision(labels: y, predictions: y, classCount: 0)
            }
            expectMetricError(.invalidParameter(metric: "topKAccuracy", name: "classCount", value: "\(Int.max)",
                                                rule: "labels × classCount must fit in an Int")) {
                () throws(MetricError) -> Double in
                try Metrics.topKAccuracy(labels: y, scores: [1, 2], classCount: .max, k: 1)
            }
        }

        @Test("ragged [[T]] rows, too few samples for R²")
        func shapes() {
            expectMetricError(.raggedRows(metric: "topKAccuracy", row: 1, expected: 3, actual: 2)) {
                () throws(MetricError) -> Double in
                try Metrics.topKAccuracy(labels: [0, 1.0], scores: [[1, 2, 3], [1, 2]], k: 1)
            }
            expectMetricError(.tooFewSamples(metric: "r2Score", minimum: 2, actual: 1)) {
                () throws(MetricError) -> Double in try Metrics.r2Score(labels: [1.0], predictions: [1.0])
            }
        }

        @Test("every message names the metric and states the rule")
        func messages() {
            let errors: [MetricError] = [
                .empty(metric: "m"), .lengthMismatch(metric: "m", argument: "a", expected: 1, actual: 2),
                .nonFinite(metric: "m", argument: "a", index: 0), .notBinary(metric: "m", argument: "a", index: 0, value: 2),
                .invalidClassLabel(metric: "m", argument: "a", index: 0, value: 0.5, classCount: nil),
                .invalidClassLabel(metric: "m", argument: "a", index: 0, value: 7, classCount: 3),
                .singleClass(metric: "m", presentClass: 1), .probabilityOutOfRange(metric: "m", index: 0, value: 2),
                .probabilitiesDoNotSumToOne(metric: "m", row: 0, sum: 2, tolerance: 1e-4),
                .negativeWeight(metric: "m", index: 0, value: -1), .zeroTotalWeight(metric: "m"),
                .invalidParameter(metric: "m", name: "k", value: "0", rule: "k must be ≥ 1"),
                .raggedRows(metric: "m", row: 1, expected: 2, actual: 3), .tooFewSamples(metric: "m", minimum: 2, actual: 1),
            ]
            for error in errors {
                #expect(error.metric == "m")
                #expect(error.description.hasPrefix("m: "), "\(error)")
                #expect(error.description.count > 30, "\(error)")
            }
            #expect(MetricError.invalidClassLabel(metric: "m", argument: "a", index: 0, value: 7, classCount: 3)
                .description.contains("0..<3"))
        }
    }
}

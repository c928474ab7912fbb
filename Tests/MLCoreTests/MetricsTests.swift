import Foundation
import MLCore
import Testing

// Reference values: Tests/MLCoreTests/Fixtures/metrics.json, written by
// Tests/MLCoreTests/Fixtures/make_metrics_fixtures.py with scikit-learn (version recorded in the
// JSON). Regenerate with `.venv/bin/python Tests/MLCoreTests/Fixtures/make_metrics_fixtures.py`.

extension MetricsTests {
    @Suite("scikit-learn fixtures") struct SklearnFixtures {
        @Test("fixture file loads from the test bundle and records its provenance")
        func provenance() throws {
            let f = try MetricsFixtures.load()
            #expect(f.generator == "Tests/MLCoreTests/Fixtures/make_metrics_fixtures.py")
            #expect(!f.sklearnVersion.isEmpty && !f.numpyVersion.isEmpty)
            #expect(f.binary.count >= 7 && f.regression.count >= 7 && f.multiclass.count >= 4)
            #expect(f.multiclass.contains { $0.classCount == 5 })
            #expect(Set(f.multiclass.flatMap { $0.topK.map(\.k) }).isSuperset(of: [1, 2, 3]))
            #expect(f.binary.contains { $0.weights != nil } && f.regression.contains { $0.weights != nil })
        }

        @Test("binary metrics match scikit-learn (Double)")
        func binaryDouble() throws {
            for c in try MetricsFixtures.load().binary {
                let y = c.labels, p = c.predictions, w = c.weights
                let name = c.name
                expectMetricClose(try Metrics.accuracy(labels: y, predictions: p, weights: w), c.accuracy, "\(name) accuracy")
                expectMetricClose(try Metrics.precision(labels: y, predictions: p, weights: w), c.precision, "\(name) precision")
                expectMetricClose(try Metrics.precision(labels: y, predictions: p, weights: w, zeroDivision: .one),
                                  c.precisionZeroDivision1, "\(name) precision zero_division=1")
                expectMetricClose(try Metrics.recall(labels: y, predictions: p, weights: w), c.recall, "\(name) recall")
                expectMetricClose(try Metrics.f1Score(labels: y, predictions: p, weights: w), c.f1, "\(name) f1")
                for fb in c.fBeta {
                    expectMetricClose(try Metrics.fBetaScore(labels: y, predictions: p, beta: fb.beta, weights: w), fb.value,
                                      "\(name) f-beta \(fb.beta)")
                }
                expectMetricClose(try Metrics.balancedAccuracy(labels: y, predictions: p, weights: w), c.balancedAccuracy,
                                  "\(name) balanced accuracy")
                expectMetricClose(try Metrics.logLoss(labels: y, probabilities: c.probabilities, weights: w), c.logLoss,
                                  "\(name) log-loss")
                if let auc = c.rocAuc {
                    expectMetricClose(try Metrics.rocAUC(labels: y, scores: c.scores, weights: w), auc, "\(name) ROC AUC")
                } else {
                    #expect(throws: MetricError.singleClass(metric: "rocAUC", presentClass: 1)) {
                        try Metrics.rocAUC(labels: y, scores: c.scores, weights: w)
                    }
                }
            }
        }

        /// Float inputs: labels are exact; scores and weights round to Float, which keeps every
        /// fixture's score order, so the results agree to Float precision. (Log-loss is checked
        /// separately: Float clips at 2⁻²³, not 2⁻⁵².)
        @Test("binary metrics match scikit-learn (Float inputs)")
        func binaryFloat() throws {
            for c in try MetricsFixtures.load().binary {
                let y = c.labels.floats(), p = c.predictions.floats(), w = c.weights.floats()
                let name = c.name
                let tol = 1e-6
                expectMetricClose(try Metrics.accuracy(labels: y, predictions: p, weights: w), c.accuracy, rtol: tol, "\(name)")
                expectMetricClose(try Metrics.precision(labels: y, predictions: p, weights: w), c.precision, rtol: tol, "\(name)")
                expectMetricClose(try Metrics.recall(labels: y, predictions: p, weights: w), c.recall, rtol: tol, "\(name)")
                expectMetricClose(try Metrics.f1Score(labels: y, predictions: p, weights: w), c.f1, rtol: tol, "\(name)")
                expectMetricClose(try Metrics.balancedAccuracy(labels: y, predictions: p, weights: w), c.balancedAccuracy,
                                  rtol: tol, "\(name)")
                if let auc = c.rocAuc {
                    expectMetricClose(try Metrics.rocAUC(labels: y, scores: c.scores.floats(), weights: w), auc, rtol: tol,
                                      "\(name) ROC AUC")
                }
            }
        }

        @Test("regression metrics match scikit-learn (Double and Float)")
        func regression() throws {
            for c in try MetricsFixtures.load().regression {
                let y = c.labels, p = c.predictions, w = c.weights
                let name = c.name
                expectMetricClose(try Metrics.meanSquaredError(labels: y, predictions: p, weights: w), c.mse, "\(name) MSE")
                expectMetricClose(try Metrics.rootMeanSquaredError(labels: y, predictions: p, weights: w), c.rmse, "\(name) RMSE")
                expectMetricClose(try Metrics.meanAbsoluteError(labels: y, predictions: p, weights: w), c.mae, "\(name) MAE")
                expectMetricClose(try Metrics.r2Score(labels: y, predictions: p, weights: w), c.r2, "\(name) R²")

                // Float: inputs round to 24 bits, so errors and R² move by ~1e-7 relative to the
                // spread of the data.
                let yf = y.floats(), pf = p.floats(), wf = w.floats()
                expectMetricClose(try Metrics.meanSquaredError(labels: yf, predictions: pf, weights: wf), c.mse,
                                  rtol: 1e-5, atol: 1e-6, "\(name) MSE Float")
                expectMetricClose(try Metrics.meanAbsoluteError(labels: yf, predictions: pf, weights: wf), c.mae,
                                  rtol: 1e-5, atol: 1e-6, "\(name) MAE Float")
                expectMetricClose(try Metrics.r2Score(labels: yf, predictions: pf, weights: wf), c.r2,
                                  rtol: 1e-5, atol: 1e-6, "\(name) R² Float")
            }
        }

        @Test("multiclass metrics match scikit-learn (5 classes; flat, [[T]] and Matrix layouts)")
        func multiclass() throws {
            for c in try MetricsFixtures.load().multiclass {
                let y = c.labels, p = c.predictions, w = c.weights, k = c.classCount
                let name = c.name
                expectMetricClose(try Metrics.accuracy(labels: y, predictions: p, weights: w), c.accuracy, "\(name) accuracy")
                expectMetricClose(try Metrics.balancedAccuracy(labels: y, predictions: p, weights: w), c.balancedAccuracy,
                                  "\(name) balanced accuracy")

                // Classes inferred from labels ∪ predictions (sklearn labels=None).
                expectMetricClose(try Metrics.macroPrecision(labels: y, predictions: p, weights: w), c.macroPrecision,
                                  "\(name) macro precision")
                expectMetricClose(try Metrics.macroRecall(labels: y, predictions: p, weights: w), c.macroRecall,
                                  "\(name) macro recall")
                expectMetricClose(try Metrics.macroF1Score(labels: y, predictions: p, weights: w), c.macroF1, "\(name) macro F1")
                for fb in c.macroFBeta {
                    expectMetricClose(try Metrics.macroFBetaScore(labels: y, predictions: p, beta: fb.beta, weights: w),
                                      fb.value, "\(name) macro F-beta \(fb.beta)")
                }

                // All classes 0..<K (sklearn labels=range(K)).
                expectMetricClose(try Metrics.macroPrecision(labels: y, predictions: p, classCount: k, weights: w),
                                  c.macroPrecisionAllClasses, "\(name) macro precision, all classes")
                expectMetricClose(try Metrics.macroRecall(labels: y, predictions: p, classCount: k, weights: w),
                                  c.macroRecallAllClasses, "\(name) macro recall, all classes")
                expectMetricClose(try Metrics.macroF1Score(labels: y, predictions: p, classCount: k, weights: w),
                                  c.macroF1AllClasses, "\(name) macro F1, all classes")
                expectMetricClose(try Metrics.macroPrecision(labels: y, predictions: p, classCount: k, weights: w,
                                                       zeroDivision: .one),
                                  c.macroPrecisionZeroDivision1, "\(name) macro precision, zero_division=1")
                expectMetricClose(try Metrics.macroRecall(labels: y, predictions: p, classCount: k, weights: w,
                                                    zeroDivision: .one),
                                  c.macroRecallZeroDivision1, "\(name) macro recall, zero_division=1")
                expectMetricClose(try Metrics.macroPrecision(labels: y, predictions: p, classCount: k, weights: w,
                                                       zeroDivision: .nan),
                                  c.macroPrecisionZeroDivisionNan, "\(name) macro precision, zero_division=nan")
                expectMetricClose(try Metrics.macroF1Score(labels: y, predictions: p, classCount: k, weights: w,
                                                     zeroDivision: .nan),
                                  c.macroF1ZeroDivisionNan, "\(name) macro F1, zero_division=nan")

                let rows = (0..<y.count).map { Array(c.scores[$0 * k ..< ($0 + 1) * k]) }
                let matrix = try Matrix(rows: y.count, columns: k, elements: c.scores)
                for tk in c.topK {
                    expectMetricClose(try Metrics.topKAccuracy(labels: y, scores: c.scores, classCount: k, k: tk.k, weights: w),
                                      tk.value, "\(name) top-\(tk.k) (flat)")
                    expectMetricClose(try Metrics.topKAccuracy(labels: y, scores: rows, k: tk.k, weights: w),
                                      tk.value, "\(name) top-\(tk.k) ([[Double]])")
                    expectMetricClose(try Metrics.topKAccuracy(labels: y, scores: matrix, k: tk.k, weights: w),
                                      tk.value, "\(name) top-\(tk.k) (Matrix)")
                    expectMetricClose(try Metrics.topKAccuracy(labels: y.floats(), scores: c.scores.floats(), classCount: k,
                                                         k: tk.k, weights: w.floats()),
                                      tk.value, rtol: 1e-6, "\(name) top-\(tk.k) (Float)")
                }

                let probabilityRows = (0..<y.count).map { Array(c.probabilities[$0 * k ..< ($0 + 1) * k]) }
                let probabilityMatrix = try Matrix(rows: y.count, columns: k, elements: c.probabilities)
                expectMetricClose(try Metrics.multiclassLogLoss(labels: y, probabilities: c.probabilities, classCount: k,
                                                          weights: w), c.logLoss, "\(name) log-loss (flat)")
                expectMetricClose(try Metrics.multiclassLogLoss(labels: y, probabilities: probabilityRows, weights: w),
                                  c.logLoss, "\(name) log-loss ([[Double]])")
                expectMetricClose(try Metrics.multiclassLogLoss(labels: y, probabilities: probabilityMatrix, weights: w),
                                  c.logLoss, "\(name) log-loss (Matrix)")
            }
        }

        @Test("class-inferring metrics accept any integer labels (negative, with gaps)")
        func arbitraryLabels() throws {
            let c = try MetricsFixtures.load().arbitraryLabels
            let y = c.labels, p = c.predictions
            for (w, tag) in [(nil, ""), (c.weights, " weighted")] as [([Double]?, String)] {
                let weighted = w != nil
                expectMetricClose(try Metrics.accuracy(labels: y, predictions: p, weights: w),
                                  weighted ? c.accuracyWeighted : c.accuracy, "accuracy\(tag)")
                expectMetricClose(try Metrics.balancedAccuracy(labels: y, predictions: p, weights: w),
                                  weighted ? c.balancedAccuracyWeighted : c.balancedAccuracy, "balanced accuracy\(tag)")
                expectMetricClose(try Metrics.macroPrecision(labels: y, predictions: p, weights: w),
                                  weighted ? c.macroPrecisionWeighted : c.macroPrecision, "macro precision\(tag)")
                expectMetricClose(try Metrics.macroRecall(labels: y, predictions: p, weights: w),
                                  weighted ? c.macroRecallWeighted : c.macroRecall, "macro recall\(tag)")
                expectMetricClose(try Metrics.macroF1Score(labels: y, predictions: p, weights: w),
                                  weighted ? c.macroF1Weighted : c.macroF1, "macro F1\(tag)")
            }
        }

        /// scikit-learn on float32 probabilities clips at float32's eps and computes in float32;
        /// we clip at `Float.ulpOfOne` and sum in Double, so the results agree to ~1e-7.
        @Test("Float log-loss clips at Float's epsilon, as scikit-learn does for float32")
        func float32LogLoss() throws {
            let f = try MetricsFixtures.load().float32
            #expect(f.eps == Double(Float.ulpOfOne))
            let b = f.binary
            let y = b.labels.floats(), p = b.probabilities.floats()
            expectMetricClose(try Metrics.logLoss(labels: y, probabilities: p), b.logLoss, rtol: 1e-6, "binary")
            expectMetricClose(try Metrics.logLoss(labels: y, probabilities: p, weights: b.weights.floats()), b.logLossWeighted,
                              rtol: 1e-6, "binary weighted")
            let m = f.multiclass
            expectMetricClose(try Metrics.multiclassLogLoss(labels: m.labels.floats(), probabilities: m.probabilities.floats(),
                                                      classCount: m.classCount), m.logLoss, rtol: 1e-6, "multiclass")
        }
    }
}

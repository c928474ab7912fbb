import MLAlgorithms
import Foundation
import MLCore
import Testing

/// The trainer against scikit-learn on the same data (fixtures from
/// `Fixtures/make_linear_learner_references.py`): the same regularized objective, minimized by
/// our optimizer instead of lbfgs or a closed form, reaches the same validation metrics.
///
/// Models are selected on the training objective (no validation channel), so the result is the
/// optimum of the objective scikit-learn minimizes; the held-out rows are scored as `test`.
/// Full-batch Adam with a decaying rate converges tightly enough for the log-loss bounds, which
/// are sensitive (a training-objective gap of 1e-4 can move breast cancer's validation log-loss by
/// 0.4%: the fixture's `sensitivity`).
@Suite("Linear learner vs scikit-learn")
struct LinearLearnerSklearnTests {
    private func converge(_ predictor: String, wd: Double, rows: Int, extra: [String: String] = [:]) throws -> LinearLearnerTrainer {
        let env = ProcessInfo.processInfo.environment
        var strings = ["predictor_type": predictor, "wd": String(wd), "mini_batch_size": env["LL_BATCH"] ?? String(rows),
                       "epochs": env["LL_EPOCHS"] ?? "3000", "learning_rate": env["LL_LR"] ?? "0.05",
                       "lr_scheduler_step": env["LL_STEP"] ?? "100", "lr_scheduler_factor": env["LL_FACTOR"] ?? "0.9",
                       "lr_scheduler_minimum_lr": "1e-6", "early_stopping_patience": "1000",
                       // One model, kept on its loss: the optimum of scikit-learn's objective,
                       // with every training row trained on (nothing held out for selection).
                       "num_models": "1", "binary_classifier_model_selection_criteria": "loss_function"]
        strings.merge(extra) { _, new in new }
        return try trainer(strings, workers: 2)
    }

    private func asTest(_ d: LinearDataset) -> LinearDataset {
        var t = d
        t.channel = "test"
        return t
    }

    @Test("breast cancer: validation log-loss within 0.5% of LogisticRegression")
    func breastCancer() throws {
        let ref = try sklearnReference("breast_cancer_logistic")
        let expected = try #require(ref["validation_logloss"] as? Double)
        let train = try bundledDataset("breast-cancer", "train")
        let result = try converge("binary_classifier", wd: try #require(ref["wd"] as? Double), rows: train.rows)
            .fit(train: train, test: asTest(try bundledDataset("breast-cancer", "validation")))
        let got = try #require(metric(result.finalMetrics, "test", "binary_classification_cross_entropy_objective"))
        #expect(abs(got - expected) / expected < 0.005, "ours \(got), scikit-learn \(expected)")
        let accuracy = try #require(metric(result.finalMetrics, "test", "binary_classification_accuracy"))
        #expect(abs(accuracy - (try #require(ref["validation_accuracy"] as? Double))) < 0.02)
    }

    @Test("synthetic logistic data: validation log-loss within 0.5% of LogisticRegression")
    func syntheticLogistic() throws {
        let ref = try sklearnReference("synthetic_logistic")
        let expected = try #require(ref["validation_logloss"] as? Double)
        let train = try fixtureDataset("synthetic_logistic_train", channel: "train")
        let result = try converge("binary_classifier", wd: try #require(ref["wd"] as? Double), rows: train.rows)
            .fit(train: train, test: try fixtureDataset("synthetic_logistic_validation", channel: "test"))
        let got = try #require(metric(result.finalMetrics, "test", "binary_classification_cross_entropy_objective"))
        #expect(abs(got - expected) / expected < 0.005, "ours \(got), scikit-learn \(expected)")
    }

    @Test("squared loss with wd: ridge's closed-form solution in raw space")
    func ridge() throws {
        let ref = try sklearnReference("ridge")
        let train = try fixtureDataset("ridge_train", channel: "train")
        // A quadratic: full-batch gradient descent converges linearly to the exact optimum, where
        // Adam would keep a residual wobble the size of its step.
        let result = try converge("regressor", wd: try #require(ref["wd"] as? Double), rows: train.rows,
                                  extra: ["optimizer": "sgd", "learning_rate": "0.5", "use_lr_scheduler": "false", "epochs": "1000"])
            .fit(train: train, test: try fixtureDataset("ridge_validation", channel: "test"))
        let coefficients = try #require(ref["raw_coefficients"] as? [Double])
        let intercept = try #require(ref["raw_intercept"] as? Double)
        let model = result.model
        for (j, c) in coefficients.enumerated() {
            #expect(abs(Double(model.parameters[j]) - c) <= 1e-3 * max(1, abs(c)), "coefficient \(j): ours \(model.parameters[j]), ridge \(c)")
        }
        #expect(abs(Double(model.parameters[model.layout.biasOffset]) - intercept) <= 1e-3 * max(1, abs(intercept)))
        let mse = try #require(metric(result.finalMetrics, "test", "mse"))
        let expectedMSE = try #require(ref["validation_mse"] as? Double)
        #expect(abs(mse - expectedMSE) / expectedMSE < 1e-3, "ours \(mse), ridge \(expectedMSE)")
    }

    @Test("multiclass on digits: accuracy within 1 point of multinomial LogisticRegression")
    func digits() throws {
        let ref = try sklearnReference("digits_softmax")
        let expected = try #require(ref["validation_accuracy"] as? Double)
        let train = try bundledDataset("digits", "train")
        let result = try converge("multiclass_classifier", wd: try #require(ref["wd"] as? Double), rows: train.rows,
                                  extra: ["num_classes": "10"])
            .fit(train: train, test: asTest(try bundledDataset("digits", "validation")))
        let got = try #require(metric(result.finalMetrics, "test", "multiclass_accuracy"))
        #expect(abs(got - expected) <= 0.01, "ours \(got), scikit-learn \(expected)")
        let logLoss = try #require(metric(result.finalMetrics, "test", "multiclass_cross_entropy_objective"))
        print("digits: accuracy \(got) vs \(expected); log-loss \(logLoss) vs \(ref["validation_logloss"] ?? 0); epochs \(result.history.count)")
    }
}

import Foundation
import Testing
@testable import MLAlgorithms

@Suite struct LinearLearnerHyperparametersTests {
    /// Every name of the reference's §4.1 table is recognised — none is ever "unknown".
    @Test func everyDocumentedNameIsRecognised() {
        let documented = [
            "predictor_type", "num_classes", "feature_dim", "accuracy_top_k", "balance_multiclass_weights", "beta_1", "beta_2",
            "bias_lr_mult", "bias_wd_mult", "binary_classifier_model_selection_criteria", "early_stopping_patience",
            "early_stopping_tolerance", "epochs", "f_beta", "huber_delta", "init_bias", "init_method", "init_scale", "init_sigma",
            "l1", "learning_rate", "loss", "loss_insensitivity", "lr_scheduler_factor", "lr_scheduler_minimum_lr",
            "lr_scheduler_step", "margin", "mini_batch_size", "momentum", "normalize_data", "normalize_label",
            "num_calibration_samples", "num_models", "num_point_for_scaler", "optimizer", "positive_example_weight_mult",
            "quantile", "target_precision", "target_recall", "unbias_data", "unbias_label", "use_bias", "use_lr_scheduler", "wd",
        ]
        #expect(Set(LinearLearnerHyperparameters.definitions.map(\.name)) == Set(documented))
        #expect(LinearLearnerHyperparameters.definitions.count == documented.count, "no name defined twice")
    }

    /// What the SageMaker Python SDK sends for a default binary job, hidden names included.
    @Test func sdkDefaultsParse() throws {
        let h = try LinearLearnerHyperparameters(strings: [
            "predictor_type": "binary_classifier", "feature_dim": "100", "mini_batch_size": "200",
            "_kvstore": "auto", "_num_gpus": "auto", "_tuning_objective_metric": "",
        ])
        #expect(h.predictorType == .binaryClassifier && h.classCount == 2)
        #expect(h.values.integer("epochs") == 15)
        #expect(h.values.isAuto("optimizer"))
        #expect(h.values.real("positive_example_weight_mult") == 1.0)
        #expect(h.values.boolean("normalize_data") == true)
        #expect(h.values.isAuto("normalize_label"))
    }

    @Test func keywordsBesideNumbers() throws {
        let h = try LinearLearnerHyperparameters(strings: [
            "predictor_type": "binary_classifier", "positive_example_weight_mult": "balanced", "normalize_data": "AUTO",
        ])
        #expect(h.values.word("positive_example_weight_mult") == "balanced")
        #expect(h.values.isAuto("normalize_data"))
    }

    @Test func multiclassNeedsNumClasses() throws {
        #expect(throws: HyperparameterError.missing(name: "num_classes",
                                                    rule: "integer in [3, 1000000] when predictor_type is multiclass_classifier")) {
            _ = try LinearLearnerHyperparameters(strings: ["predictor_type": "multiclass_classifier"])
        }
        let h = try LinearLearnerHyperparameters(strings: ["predictor_type": "multiclass_classifier", "num_classes": "5"])
        #expect(h.classCount == 5)
        #expect(throws: HyperparameterError.invalid(name: "num_classes", value: "2", rule: "integer in [3, 1000000]")) {
            _ = try LinearLearnerHyperparameters(strings: ["predictor_type": "multiclass_classifier", "num_classes": "2"])
        }
        #expect(throws: HyperparameterError.invalid(name: "accuracy_top_k", value: "6", rule: "at most num_classes (5)")) {
            _ = try LinearLearnerHyperparameters(strings: [
                "predictor_type": "multiclass_classifier", "num_classes": "5", "accuracy_top_k": "6",
            ])
        }
    }

    @Test func optionsThatBelongToAnotherPredictorType() {
        #expect(throws: HyperparameterError.self) {
            _ = try LinearLearnerHyperparameters(strings: ["predictor_type": "regressor", "num_classes": "3"])
        }
        #expect(throws: HyperparameterError.self) {
            _ = try LinearLearnerHyperparameters(strings: ["predictor_type": "regressor", "positive_example_weight_mult": "2"])
        }
        #expect(throws: HyperparameterError.self) {
            _ = try LinearLearnerHyperparameters(strings: ["predictor_type": "binary_classifier", "balance_multiclass_weights": "true"])
        }
    }

    @Test(arguments: [
        ("predictor_type", "classifier"), ("beta_1", "1"), ("momentum", "-0.1"), ("lr_scheduler_factor", "1.0"),
        ("mini_batch_size", "0"), ("init_method", "xavier"), ("optimizer", "lbfgs"), ("quantile", "0"),
    ])
    func outOfRangeValuesAreRefused(name: String, value: String) {
        var strings = ["predictor_type": "regressor"]
        strings[name] = value
        #expect(throws: HyperparameterError.self) { _ = try LinearLearnerHyperparameters(strings: strings) }
    }

    /// Part 2's hyperparameters are recognised: their defaults pass, other values are refused with a reason.
    @Test func partTwoNamesAreRecognisedNotUnknown() throws {
        _ = try LinearLearnerHyperparameters(strings: ["predictor_type": "regressor", "loss": "auto", "num_models": "auto"])
        do {
            _ = try LinearLearnerHyperparameters(strings: ["predictor_type": "regressor", "loss": "huber_loss"])
            Issue.record("huber_loss should be refused until part 2")
        } catch {
            guard case .unsupported(let name, let value, let reason) = error else {
                Issue.record("expected unsupported, got \(error)")
                return
            }
            #expect(name == "loss" && value == "huber_loss" && reason.contains("part 2"))
        }
    }

    /// docs/algorithms/linear-learner.md's table is generated from the definitions; this fails when
    /// they drift. Regenerate with `MLCORE_UPDATE_DOCS=1 swift test --filter LinearLearnerHyperparameters`.
    @Test func documentationTableMatchesTheDefinitions() throws {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/algorithms/linear-learner.md")
        let table = HyperparameterDefinition.markdownTable(LinearLearnerHyperparameters.definitions)
        let begin = "<!-- hyperparameters:begin (generated from LinearLearnerHyperparameters.definitions) -->\n"
        let end = "<!-- hyperparameters:end -->"
        var text = try String(contentsOf: docs, encoding: .utf8)
        guard let a = text.range(of: begin), let b = text.range(of: end), a.upperBound <= b.lowerBound else {
            Issue.record("\(docs.path) lacks the generated-table markers")
            return
        }
        if ProcessInfo.processInfo.environment["MLCORE_UPDATE_DOCS"] == "1" {
            text.replaceSubrange(a.upperBound..<b.lowerBound, with: table)
            try text.write(to: docs, atomically: true, encoding: .utf8)
        } else {
            #expect(String(text[a.upperBound..<b.lowerBound]) == table, "regenerate: MLCORE_UPDATE_DOCS=1 swift test --filter LinearLearnerHyperparameters")
        }
    }
}

@Suite struct LinearLearnerPartOneAcceptedValuesTests {
    @Test("num_models=1 and each predictor type's own loss are accepted; other values are refused as not supported yet")
    func acceptedValues() throws {
        _ = try LinearLearnerHyperparameters(strings: ["predictor_type": "binary_classifier", "num_models": "1", "loss": "logistic"])
        _ = try LinearLearnerHyperparameters(strings: ["predictor_type": "regressor", "loss": "squared_loss"])
        _ = try LinearLearnerHyperparameters(strings: ["predictor_type": "multiclass_classifier", "num_classes": "4", "loss": "softmax_loss"])
        #expect(throws: HyperparameterError.invalid(name: "loss", value: "logistic", rule: "regressor trains with squared_loss (or auto)")) {
            _ = try LinearLearnerHyperparameters(strings: ["predictor_type": "regressor", "loss": "logistic"])
        }
        do {
            _ = try LinearLearnerHyperparameters(strings: ["predictor_type": "regressor", "loss": "huber_loss"])
            Issue.record("expected unsupported")
        } catch let HyperparameterError.unsupported(name, value, _) {
            #expect(name == "loss" && value == "huber_loss")
        }
        #expect(throws: HyperparameterError.self) {
            _ = try LinearLearnerHyperparameters(strings: ["predictor_type": "regressor", "num_models": "2"])
        }
    }
}

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
        // Ours, documented as such: sample weights (SageMaker's Linear Learner has none).
        let extensions = ["csv_weights"]
        #expect(Set(LinearLearnerHyperparameters.definitions.map(\.name)) == Set(documented + extensions))
        #expect(LinearLearnerHyperparameters.definitions.count == documented.count + extensions.count, "no name defined twice")
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

    /// Every §4.1 value works: no hyperparameter is "not supported yet".
    @Test func noHyperparameterIsUnsupported() {
        for definition in LinearLearnerHyperparameters.definitions {
            if case .unsupported = definition.support { Issue.record("\(definition.name) is still unsupported") }
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

@Suite struct LinearLearnerLossPairingTests {
    @Test("each predictor type accepts exactly its losses; any other is refused naming the ones it takes",
          arguments: PredictorType.allCases)
    func lossesByPredictorType(type: PredictorType) throws {
        let all = ["logistic", "hinge_loss", "softmax_loss", "squared_loss", "absolute_loss", "eps_insensitive_squared_loss",
                   "eps_insensitive_absolute_loss", "quantile_loss", "huber_loss"]
        let allowed = LinearLearnerHyperparameters.allowedLosses(for: type)
        var base = ["predictor_type": type.rawValue]
        if type == .multiclassClassifier { base["num_classes"] = "4" }
        for loss in all {
            var strings = base
            strings["loss"] = loss
            if allowed.contains(loss) {
                let settings = LinearLearnerSettings(try LinearLearnerHyperparameters(strings: strings))
                #expect(settings.objective.lossName == loss)
            } else {
                #expect(throws: HyperparameterError.invalid(name: "loss", value: loss,
                                                            rule: "predictor_type \(type.rawValue) trains with " + (["auto"] + allowed).joined(separator: ", "))) {
                    _ = try LinearLearnerHyperparameters(strings: strings)
                }
            }
        }
        // `auto` is the first allowed loss.
        #expect(LinearLearnerSettings(try LinearLearnerHyperparameters(strings: base)).objective.lossName == allowed[0])
    }

    @Test("the loss constants reach the objective; huber_delta=0 is refused with huber_loss")
    func lossConstants() throws {
        func objective(_ strings: [String: String]) throws -> LinearObjective {
            LinearLearnerSettings(try LinearLearnerHyperparameters(strings: strings)).objective
        }
        #expect(try objective(["predictor_type": "binary_classifier", "loss": "hinge_loss", "margin": "0.5"]) == .hinge(margin: 0.5))
        #expect(try objective(["predictor_type": "regressor", "loss": "quantile_loss", "quantile": "0.9"]) == .quantile(0.9))
        #expect(try objective(["predictor_type": "regressor", "loss": "huber_loss", "huber_delta": "2"]) == .huber(delta: 2))
        #expect(try objective(["predictor_type": "regressor", "loss": "eps_insensitive_absolute_loss", "loss_insensitivity": "0.2"])
            == .epsilonInsensitiveAbsolute(epsilon: 0.2))
        #expect(try objective(["predictor_type": "regressor", "loss": "eps_insensitive_squared_loss"]) == .epsilonInsensitiveSquared(epsilon: 0.01))
        #expect(throws: HyperparameterError.self) {
            _ = try LinearLearnerHyperparameters(strings: ["predictor_type": "regressor", "loss": "huber_loss", "huber_delta": "0"])
        }
    }

    @Test("num_models: auto is 32, a number is that many, and under tuning always 1")
    func modelCount() throws {
        func count(_ strings: [String: String]) throws -> Int {
            LinearLearnerSettings(try LinearLearnerHyperparameters(strings: strings)).variants.count
        }
        #expect(try count(["predictor_type": "regressor"]) == 32)
        #expect(try count(["predictor_type": "regressor", "num_models": "5"]) == 5)
        #expect(try count(["predictor_type": "regressor", "_tuning_objective_metric": "validation:mse"]) == 1)
        #expect(try count(["predictor_type": "regressor", "num_models": "8", "_tuning_objective_metric": "validation:mse"]) == 1)
        #expect(throws: HyperparameterError.self) { _ = try count(["predictor_type": "regressor", "num_models": "0"]) }
    }

    @Test("the model grid: model 0 is the one-model run; what is set explicitly is the same in every model")
    func grid() throws {
        let auto = LinearLearnerSettings(try LinearLearnerHyperparameters(strings: ["predictor_type": "binary_classifier"]))
        #expect(auto.variants[0] == LinearModelVariant(learningRate: auto.learningRate, weightDecay: 0, l1: 0, schedule: auto.schedule))
        // 4 rates × 4 wd × 2 l1, each combination once.
        let combos = Set(auto.variants.map { "\($0.learningRate) \($0.weightDecay) \($0.l1)" })
        #expect(combos.count == 32)
        #expect(Set(auto.variants.map(\.learningRate)).count == 4 && Set(auto.variants.map(\.l1)).count == 2)
        #expect(auto.variants.allSatisfy { $0.schedule?.initial == $0.learningRate })
        let fixed = LinearLearnerSettings(try LinearLearnerHyperparameters(strings: [
            "predictor_type": "binary_classifier", "learning_rate": "0.05", "wd": "0.01", "num_models": "6"]))
        #expect(fixed.variants.allSatisfy { $0.learningRate == 0.05 && $0.weightDecay == 0.01 })
        #expect(fixed.variants.map(\.l1) == [0, 1e-4, 0, 1e-4, 0, 1e-4])
    }

    @Test("the selection criterion and its constants; f1 and cross_entropy_loss are the SDK's older spellings")
    func selection() throws {
        func selection(_ strings: [String: String]) throws -> ModelSelection {
            var all = strings
            all["predictor_type"] = "binary_classifier"
            return LinearLearnerSettings(try LinearLearnerHyperparameters(strings: all)).selection
        }
        #expect(try selection([:]) == ModelSelection(criterion: .accuracy))
        #expect(try selection(["binary_classifier_model_selection_criteria": "f_beta", "f_beta": "2"]) == ModelSelection(criterion: .fBeta, fBeta: 2))
        #expect(try selection(["binary_classifier_model_selection_criteria": "f1", "f_beta": "2"]) == ModelSelection(criterion: .fBeta, fBeta: 1))
        #expect(try selection(["binary_classifier_model_selection_criteria": "cross_entropy_loss"]).criterion == .lossFunction)
        #expect(try selection(["binary_classifier_model_selection_criteria": "precision_at_target_recall", "target_recall": "0.9"])
            == ModelSelection(criterion: .precisionAtTargetRecall, targetRecall: 0.9))
        #expect(throws: HyperparameterError.self) { _ = try selection(["target_precision": "1"]) }
    }
}

import MLCore
import Testing
@testable import MLAlgorithms

/// §4.5's hyperparameters: defaults, every rule, the refused values and the rules that tie two
/// hyperparameters together, each error naming the hyperparameter, the value and the rule.
@Suite struct ImageClassificationHyperparametersTests {
    static let required = ["num_classes": "10", "num_training_samples": "1000"]

    static func parse(_ extra: [String: String]) throws(HyperparameterError) -> ImageClassificationHyperparameters {
        try ImageClassificationHyperparameters(strings: required.merging(extra) { _, new in new })
    }

    @Test func defaultsAreSageMakers() throws {
        let hp = try Self.parse([:])
        #expect(hp.numLayers == 152)
        #expect(hp.imageShape == FeatureShape(channels: 3, height: 224, width: 224))
        #expect(hp.epochs == 30 && hp.miniBatchSize == 32)
        #expect(hp.learningRate == 0.1 && hp.momentum == 0.9 && hp.weightDecay == 0.0001)
        #expect(hp.optimizer == "sgd" && hp.lrSchedulerFactor == 0.1 && hp.lrSchedulerSteps.isEmpty)
        #expect(hp.augmentation == nil && hp.resize == nil && hp.topK == nil && !hp.multiLabel)
        #expect(!hp.earlyStopping && hp.earlyStoppingMinEpochs == 10 && hp.earlyStoppingPatience == 5 && hp.earlyStoppingTolerance == 0)
        #expect(hp.optimizerSetting == .sgd(learningRate: 0.1, momentum: 0.9, weightDecay: 0.0001))
        #expect(hp.decay == .constant)
    }

    @Test func requiredNamesAreRequired() {
        #expect(throws: HyperparameterError.self) { try ImageClassificationHyperparameters(strings: ["num_classes": "3"]) }
        #expect(throws: HyperparameterError.self) { try ImageClassificationHyperparameters(strings: ["num_training_samples": "3"]) }
    }

    @Test func optimizersMapToTorchsUpdateRules() throws {
        #expect(try Self.parse(["optimizer": "nag", "momentum": "0.5", "learning_rate": "0.05", "weight_decay": "0"]).optimizerSetting
                == .sgd(learningRate: 0.05, momentum: 0.5, nesterov: true, weightDecay: 0))
        #expect(try Self.parse(["optimizer": "adam", "beta_1": "0.8", "beta_2": "0.99", "eps": "1e-6"]).optimizerSetting
                == .adam(learningRate: 0.1, beta1: 0.8, beta2: 0.99, epsilon: 1e-6, weightDecay: 0.0001))
        #expect(try Self.parse(["optimizer": "rmsprop", "gamma": "0.95"]).optimizerSetting
                == .rmsProp(learningRate: 0.1, alpha: 0.95, epsilon: 1e-8, weightDecay: 0.0001))
    }

    @Test func schedulerStepsAreEpochMilestones() throws {
        let hp = try Self.parse(["lr_scheduler_step": "\"10, 20\"", "lr_scheduler_factor": "0.5"])
        #expect(hp.lrSchedulerSteps == [10, 20])
        #expect(hp.decay == .multiStep(milestones: [10, 20], factor: 0.5))
        #expect(hp.decay.rate(base: 1, after: 9) == 1 && hp.decay.rate(base: 1, after: 10) == 0.5 && hp.decay.rate(base: 1, after: 25) == 0.25)
        for bad in ["10,5", "0", "a", "10,,20", "40"] {
            #expect(throws: HyperparameterError.self, "\(bad)") { try Self.parse(["lr_scheduler_step": bad]) }
        }
    }

    @Test func imageShapeSyntax() throws {
        #expect(try Self.parse(["image_shape": "1, 28, 28"]).imageShape == FeatureShape(channels: 1, height: 28, width: 28))
        for bad in ["3,224", "2,32,32", "3,0,32", "3,32,x", "3,32,32,1", "3,5000,32"] {
            #expect(throws: HyperparameterError.invalid(name: "image_shape", value: bad,
                                                        rule: "`channels,height,width` with 1 or 3 channels and sides of 1 to 4096, e.g. 3,224,224")) {
                try Self.parse(["image_shape": bad])
            }
        }
    }

    @Test func refusedValuesSayWhy() {
        for (name, value) in [("precision_dtype", "float16"), ("use_pretrained_model", "1")] {
            do {
                _ = try Self.parse([name: value])
                Issue.record("\(name)=\(value) was accepted")
            } catch {
                guard case .unsupported(let n, let v, let reason) = error else {
                    Issue.record("\(name)=\(value): \(error)")
                    continue
                }
                #expect(n == name && v == value && !reason.isEmpty)
            }
        }
        for value in ["local", "device", "dist_sync", "dist_device_sync", "dist_async", "dist_device_async"] {
            #expect(throws: Never.self) { try Self.parse(["kv_store": value]) }
        }
        #expect(throws: HyperparameterError.self) { try Self.parse(["kv_store": "nccl"]) }
        #expect(throws: HyperparameterError.self) { try Self.parse(["num_layers": "19"]) }
        #expect(throws: HyperparameterError.self) { try Self.parse(["augmentation_type": "flip"]) }
    }

    @Test func rulesThatTieTwoHyperparameters() {
        let cases: [([String: String], String)] = [
            (["image_shape": "3,32,32", "resize": "30"], "resize"),
            (["top_k": "11"], "top_k"),
            (["checkpoint_frequency": "5", "epochs": "4"], "checkpoint_frequency"),
            (["use_weighted_loss": "1"], "use_weighted_loss"),
            (["optimizer": "nag", "momentum": "0"], "momentum"),
            (["num_classes": "1"], "num_classes"),
            (["lr_scheduler_step": "5", "epochs": "4"], "lr_scheduler_step"),
        ]
        for (strings, name) in cases {
            do {
                _ = try Self.parse(strings)
                Issue.record("\(strings) was accepted")
            } catch {
                guard case .invalid(let n, _, let rule) = error else {
                    Issue.record("\(strings): \(error)")
                    continue
                }
                #expect(n == name, "\(strings): \(error)")
                #expect(!rule.isEmpty)
            }
        }
        #expect(throws: Never.self) { try Self.parse(["num_classes": "1", "multi_label": "1"]) }
        #expect(throws: Never.self) { try Self.parse(["image_shape": "3,32,32", "resize": "32", "top_k": "10"]) }
    }

    @Test func everyDocumentedNameIsDefined() {
        let names = Set(ImageClassificationHyperparameters.definitions.map(\.name))
        for name in ["num_classes", "num_training_samples", "augmentation_type", "beta_1", "beta_2", "checkpoint_frequency", "early_stopping",
                     "early_stopping_min_epochs", "early_stopping_patience", "early_stopping_tolerance", "epochs", "eps", "gamma",
                     "image_shape", "kv_store", "learning_rate", "lr_scheduler_factor", "lr_scheduler_step", "mini_batch_size",
                     "momentum", "multi_label", "num_layers", "optimizer", "precision_dtype", "resize", "top_k",
                     "use_pretrained_model", "use_weighted_loss", "weight_decay"] {
            #expect(names.contains(name), "\(name)")
        }
        #expect(Set(ImageClassificationHyperparameters.depths) == Set(ResNet.imageNetDepths + ResNet.smallImageDepths))
    }

    /// docs/algorithms/image-classification.md's table is generated from the definitions.
    /// Regenerate with `MLCORE_UPDATE_DOCS=1 swift test -c release --filter ImageClassificationHyperparametersTests`.
    @Test func documentationTableMatchesTheDefinitions() throws {
        try checkGeneratedTable(doc: "docs/algorithms/image-classification.md", definitions: ImageClassificationHyperparameters.definitions,
                                source: "ImageClassificationHyperparameters.definitions", filter: "ImageClassificationHyperparametersTests")
    }
}

/// The task a linear learner solves.
public enum PredictorType: String, Sendable, Equatable, CaseIterable {
    case binaryClassifier = "binary_classifier"
    case multiclassClassifier = "multiclass_classifier"
    case regressor
}

/// Linear Learner's hyperparameters, parsed and validated from SageMaker's string map before any
/// data is read: each value against its own rule (``definitions``), then the rules that tie
/// several together.
public struct LinearLearnerHyperparameters: Sendable, Equatable {
    /// Every value, parsed; defaults filled in.
    public let values: HyperparameterSet
    public let predictorType: PredictorType
    /// Classes for `multiclass_classifier`; 2 for binary, 1 for regression.
    public let classCount: Int

    public init(strings: [String: String]) throws(HyperparameterError) {
        values = try HyperparameterSet(definitions: Self.definitions, strings: strings)
        guard let type = values.word("predictor_type").flatMap(PredictorType.init(rawValue:)) else {
            throw .missing(name: "predictor_type", rule: "one of binary_classifier, multiclass_classifier, regressor")
        }
        predictorType = type
        switch predictorType {
        case .multiclassClassifier:
            guard let n = values.integer("num_classes") else {
                throw .missing(name: "num_classes", rule: "integer in [3, 1000000] when predictor_type is multiclass_classifier")
            }
            classCount = n
        case .binaryClassifier:
            classCount = 2
        case .regressor:
            classCount = 1
        }
        if predictorType != .multiclassClassifier, let n = values.integer("num_classes") {
            throw .invalid(name: "num_classes", value: String(n), rule: "only for predictor_type multiclass_classifier")
        }
        if predictorType != .binaryClassifier, values.explicitlySet.contains("positive_example_weight_mult") {
            throw .invalid(name: "positive_example_weight_mult", value: values["positive_example_weight_mult"]?.description ?? "",
                           rule: "only for predictor_type binary_classifier")
        }
        if predictorType != .multiclassClassifier, values.boolean("balance_multiclass_weights") == true {
            throw .invalid(name: "balance_multiclass_weights", value: "true", rule: "only for predictor_type multiclass_classifier")
        }
        if let loss = values.word("loss"), loss != "auto" {
            let fitting = ["binary_classifier": "logistic", "multiclass_classifier": "softmax_loss", "regressor": "squared_loss"]
            if fitting[predictorType.rawValue] != loss {
                throw .invalid(name: "loss", value: loss,
                               rule: "\(predictorType.rawValue) trains with \(fitting[predictorType.rawValue] ?? "auto") (or auto)")
            }
        }
        if let k = values.integer("accuracy_top_k"), predictorType == .multiclassClassifier, k > classCount {
            throw .invalid(name: "accuracy_top_k", value: String(k), rule: "at most num_classes (\(classCount))")
        }
    }
}

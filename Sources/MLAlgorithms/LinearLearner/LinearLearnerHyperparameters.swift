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
            let allowed = Self.allowedLosses(for: predictorType)
            if !allowed.contains(loss) {
                throw .invalid(name: "loss", value: loss,
                               rule: "predictor_type \(predictorType.rawValue) trains with " + (["auto"] + allowed).joined(separator: ", "))
            }
            if loss == "huber_loss", let delta = values.real("huber_delta"), delta <= 0 {
                throw .invalid(name: "huber_delta", value: String(delta), rule: "greater than 0 with loss huber_loss (0 would make the loss 0 everywhere)")
            }
        }
        if let k = values.integer("accuracy_top_k"), predictorType == .multiclassClassifier, k > classCount {
            throw .invalid(name: "accuracy_top_k", value: String(k), rule: "at most num_classes (\(classCount))")
        }
    }

    /// The `loss` values each predictor type accepts besides `auto` (the first is what `auto`
    /// means). SageMaker's own table of legal pairs is not published (reference §4.1); these are
    /// the pairs whose labels and scores make sense: the binary losses take 0/1 labels, softmax
    /// K classes, and the regression losses real labels.
    public static func allowedLosses(for type: PredictorType) -> [String] {
        switch type {
        case .binaryClassifier: ["logistic", "hinge_loss"]
        case .multiclassClassifier: ["softmax_loss"]
        case .regressor: ["squared_loss", "absolute_loss", "eps_insensitive_squared_loss", "eps_insensitive_absolute_loss",
                          "quantile_loss", "huber_loss"]
        }
    }
}

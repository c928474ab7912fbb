import MLCore

/// Linear Learner's hyperparameters with every `auto` resolved to a concrete value: what the
/// trainer actually runs. SageMaker documents what `auto` means for some names and not for
/// others; where it is silent the choice is ours, listed in docs/algorithms/linear-learner.md
/// ("What `auto` means").
public struct LinearLearnerSettings: Sendable, Equatable {
    public var predictorType: PredictorType
    /// Classes for multiclass, 2 for binary, 1 for regression.
    public var classCount: Int
    /// The feature count the data must have; `nil` takes it from the data.
    public var featureDim: Int?
    public var miniBatchSize: Int
    public var epochs: Int
    public var earlyStoppingPatience: Int
    public var earlyStoppingTolerance: Double

    public var optimizerName: String
    public var rule: OptimizerRule
    public var learningRate: Double
    /// `nil` when `use_lr_scheduler` is false.
    public var schedule: LearningRateSchedule?
    public var weightDecay: Double
    public var l1: Double
    public var biasLearningRateMultiplier: Double
    public var biasWeightDecayMultiplier: Double

    public enum Initialization: Sendable, Equatable {
        case uniform(scale: Double)
        case normal(sigma: Double)
    }
    public var initialization: Initialization
    public var initialBias: Double
    public var useBias: Bool

    public var normalizeData: Bool
    public var unbiasData: Bool
    public var normalizeLabel: Bool
    public var unbiasLabel: Bool
    public var pointsForScaler: Int

    public enum PositiveWeight: Sendable, Equatable {
        case value(Double)
        /// `n_negative / n_positive` of the training data.
        case balanced
    }
    public var positiveWeight: PositiveWeight
    public var balanceMulticlassWeights: Bool
    public var accuracyTopK: Int

    /// The loss (`loss`, `auto` resolved by predictor type), with its constant.
    public var objective: LinearObjective
    /// The models trained side by side (`num_models`), model 0 first: model 0 has exactly the
    /// settings above; the others vary what was left `auto` (``LinearModelVariant/grid(count:base:varyLearningRate:varyWeightDecay:varyL1:)``).
    public var variants: [LinearModelVariant]
    /// How the kept model and the binary threshold are chosen.
    public var selection: ModelSelection
    /// Rows of validation (or of the held-out part of train) used for selection and the threshold.
    public var calibrationSamples: Int
    /// `csv_weights=1`: CSV rows carry a weight after the label.
    public var csvWeights: Bool

    /// The `auto` learning rate per optimizer (chosen on the benchmark and scikit-learn comparison
    /// sets, with features normalized: docs/algorithms/linear-learner.md).
    public static func automaticLearningRate(optimizer: String) -> Double {
        switch optimizer {
        case "sgd": 0.1
        case "rmsprop": 0.001
        default: 0.01
        }
    }

    /// Resolves `hyperparameters` (for sparse data the scaler leaves out centring).
    public init(_ hyperparameters: LinearLearnerHyperparameters) {
        let v = hyperparameters.values
        predictorType = hyperparameters.predictorType
        classCount = hyperparameters.classCount
        featureDim = v.integer("feature_dim")
        // invariant: the definitions give these a numeric default, and parsing checked the kind
        miniBatchSize = v.integer("mini_batch_size")!
        epochs = v.integer("epochs")!
        earlyStoppingPatience = v.integer("early_stopping_patience")!
        earlyStoppingTolerance = v.real("early_stopping_tolerance")!
        pointsForScaler = v.integer("num_point_for_scaler")!
        accuracyTopK = v.integer("accuracy_top_k")!

        optimizerName = v.word("optimizer") ?? "adam"
        switch optimizerName {
        case "sgd": rule = .sgd(momentum: v.real("momentum") ?? 0)
        case "rmsprop": rule = .rmsprop(alpha: 0.99, epsilon: 1e-8)
        default: rule = .adam(beta1: v.real("beta_1") ?? 0.9, beta2: v.real("beta_2") ?? 0.999, epsilon: 1e-8)
        }
        learningRate = v.real("learning_rate") ?? Self.automaticLearningRate(optimizer: optimizerName)
        if v.boolean("use_lr_scheduler") ?? true {
            // `auto`: the values SageMaker's logged best models used (reference §4.1).
            schedule = LearningRateSchedule(
                initial: learningRate, factor: v.real("lr_scheduler_factor") ?? 0.99,
                step: v.integer("lr_scheduler_step") ?? 100, minimum: v.real("lr_scheduler_minimum_lr") ?? 1e-5)
        } else {
            schedule = nil
        }
        weightDecay = v.real("wd") ?? 0
        l1 = v.real("l1") ?? 0
        biasLearningRateMultiplier = v.real("bias_lr_mult") ?? 1
        biasWeightDecayMultiplier = v.real("bias_wd_mult") ?? 0

        initialization = v.word("init_method") == "normal"
            ? .normal(sigma: v.real("init_sigma") ?? 0.01) : .uniform(scale: v.real("init_scale") ?? 0.07)
        initialBias = v.real("init_bias") ?? 0
        useBias = v.boolean("use_bias") ?? true

        let regression = predictorType == .regressor
        normalizeData = v.boolean("normalize_data") ?? true
        // `auto`: dense data is centred; sparse data never is (LinearScaler.fit(sparseSample:)).
        unbiasData = v.boolean("unbias_data") ?? true
        // Labels are only ever scaled for regression, whatever the flags say (SageMaker ignores them
        // for classification).
        normalizeLabel = regression && (v.boolean("normalize_label") ?? true)
        unbiasLabel = regression && (v.boolean("unbias_label") ?? true)

        switch v["positive_example_weight_mult"] {
        case .word("balanced")?: positiveWeight = .balanced
        // `auto`: 1 in every model (the models vary the learning rate, `wd` and `l1` only).
        case .real(let x)?: positiveWeight = .value(x)
        case .integer(let x)?: positiveWeight = .value(Double(x))
        default: positiveWeight = .value(1)
        }
        balanceMulticlassWeights = v.boolean("balance_multiclass_weights") ?? false

        objective = Self.objective(loss: v.word("loss") ?? "auto", predictorType: predictorType, classCount: classCount, values: v)
        // SageMaker's automatic model tuning trains one model per job (reference §4.1).
        let tuning = !(v.hidden["_tuning_objective_metric"] ?? "").isEmpty
        let count = tuning ? 1 : (v.integer("num_models") ?? Self.automaticModelCount)
        let base = LinearModelVariant(learningRate: learningRate, weightDecay: weightDecay, l1: l1, schedule: schedule)
        variants = LinearModelVariant.grid(
            count: count, base: base, varyLearningRate: v.real("learning_rate") == nil,
            varyWeightDecay: v.real("wd") == nil, varyL1: v.real("l1") == nil)
        selection = ModelSelection(
            criterion: ModelSelection.Criterion(v.word("binary_classifier_model_selection_criteria") ?? "accuracy"),
            fBeta: v.word("binary_classifier_model_selection_criteria") == "f1" ? 1 : (v.real("f_beta") ?? 1),
            targetRecall: v.real("target_recall") ?? 0.8, targetPrecision: v.real("target_precision") ?? 0.8)
        calibrationSamples = v.integer("num_calibration_samples") ?? 10_000_000
        csvWeights = v.integer("csv_weights") == 1
    }

    /// `num_models=auto`: as many as SageMaker's logs show it training.
    public static let automaticModelCount = 32

    /// The objective of `loss` for the predictor type (`auto`: logistic, softmax or squared).
    /// The hyperparameters' own check has already refused a loss that does not fit the type.
    static func objective(loss: String, predictorType: PredictorType, classCount: Int, values v: HyperparameterSet) -> LinearObjective {
        switch loss {
        case "hinge_loss": .hinge(margin: v.real("margin") ?? 1)
        case "absolute_loss": .absolute
        case "eps_insensitive_squared_loss": .epsilonInsensitiveSquared(epsilon: v.real("loss_insensitivity") ?? 0.01)
        case "eps_insensitive_absolute_loss": .epsilonInsensitiveAbsolute(epsilon: v.real("loss_insensitivity") ?? 0.01)
        case "quantile_loss": .quantile(v.real("quantile") ?? 0.5)
        case "huber_loss": .huber(delta: v.real("huber_delta") ?? 1)
        default:
            switch predictorType {
            case .binaryClassifier: .logistic
            case .multiclassClassifier: .softmax(classes: classCount)
            case .regressor: .squared
            }
        }
    }
}

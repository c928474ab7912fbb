/// SageMaker Image Classification's hyperparameters (reference §4.5), parsed and validated from
/// the string map before any data is read.
///
/// Every name of §4.5's table is recognised. `precision_dtype=float16`, `use_pretrained_model=1`
/// and the asynchronous `kv_store` values are refused with the reason; the other rules that tie
/// two hyperparameters together (`resize` ≥ the crop, `top_k` ≤ `num_classes`,
/// `checkpoint_frequency` ≤ `epochs`, `use_weighted_loss` only with `multi_label`, `nag` needs
/// momentum) are checked here too, each error naming the hyperparameter, its value and the rule.
public struct ImageClassificationHyperparameters: Sendable, Equatable {
    /// The ResNet depths `num_layers` takes: torchvision's ImageNet ResNets and the small-image
    /// (CIFAR) ResNets of He et al.
    public static let depths = [18, 20, 32, 34, 44, 50, 56, 101, 110, 152, 200]

    public let values: HyperparameterSet
    public let numClasses: Int
    public let numTrainingSamples: Int
    /// The network's input, `[channels, height, width]`.
    public let imageShape: FeatureShape
    public let numLayers: Int
    public let epochs: Int
    public let miniBatchSize: Int
    public let learningRate: Double
    public let lrSchedulerFactor: Double
    /// Epochs (1-based counts of completed epochs) after which the learning rate drops, ascending.
    public let lrSchedulerSteps: [Int]
    public let optimizer: String
    public let momentum: Double
    public let weightDecay: Double
    public let beta1: Double
    public let beta2: Double
    public let eps: Double
    public let gamma: Double
    public let augmentation: ImageAugmentation.Kind?
    public let resize: Int?
    public let topK: Int?
    public let multiLabel: Bool
    public let useWeightedLoss: Bool
    public let checkpointFrequency: Int?
    public let earlyStopping: Bool
    public let earlyStoppingMinEpochs: Int
    public let earlyStoppingPatience: Int
    public let earlyStoppingTolerance: Double
    public let kvStore: String?
    public let seed: UInt64

    public init(strings: [String: String]) throws(HyperparameterError) {
        values = try HyperparameterSet(definitions: Self.definitions, strings: strings)
        // invariant: required definitions without defaults are present after parsing
        numClasses = values.integer("num_classes")!
        numTrainingSamples = values.integer("num_training_samples")! // invariant: required, checked by the parser
        imageShape = try Self.parseImageShape(values.word("image_shape") ?? "3,224,224")
        numLayers = Int(values.word("num_layers") ?? "152") ?? 152
        epochs = values.integer("epochs") ?? 30
        miniBatchSize = values.integer("mini_batch_size") ?? 32
        learningRate = values.real("learning_rate") ?? 0.1
        lrSchedulerFactor = values.real("lr_scheduler_factor") ?? 0.1
        lrSchedulerSteps = try values.word("lr_scheduler_step").map { text throws(HyperparameterError) in
            try Self.parseSchedulerSteps(text)
        } ?? []
        optimizer = values.word("optimizer") ?? "sgd"
        momentum = values.real("momentum") ?? 0.9
        weightDecay = values.real("weight_decay") ?? 0.0001
        beta1 = values.real("beta_1") ?? 0.9
        beta2 = values.real("beta_2") ?? 0.999
        eps = values.real("eps") ?? 1e-8
        gamma = values.real("gamma") ?? 0.9
        augmentation = values.word("augmentation_type").flatMap(ImageAugmentation.Kind.init(rawValue:))
        resize = values.integer("resize")
        topK = values.integer("top_k")
        multiLabel = values.integer("multi_label") == 1
        useWeightedLoss = values.integer("use_weighted_loss") == 1
        checkpointFrequency = values.integer("checkpoint_frequency")
        earlyStopping = values.boolean("early_stopping") ?? false
        earlyStoppingMinEpochs = values.integer("early_stopping_min_epochs") ?? 10
        earlyStoppingPatience = values.integer("early_stopping_patience") ?? 5
        earlyStoppingTolerance = values.real("early_stopping_tolerance") ?? 0
        kvStore = values.word("kv_store")
        seed = UInt64(values.integer("seed") ?? 0)

        if let resize, resize < max(imageShape.height, imageShape.width) {
            throw .invalid(name: "resize", value: String(resize),
                           rule: "at least image_shape's height and width (\(imageShape.height) × \(imageShape.width)): the shorter side is resized to it, then cropped")
        }
        if let topK, topK > numClasses {
            throw .invalid(name: "top_k", value: String(topK), rule: "at most num_classes (\(numClasses))")
        }
        if let checkpointFrequency, checkpointFrequency > epochs {
            throw .invalid(name: "checkpoint_frequency", value: String(checkpointFrequency), rule: "at most epochs (\(epochs))")
        }
        if useWeightedLoss && !multiLabel {
            throw .invalid(name: "use_weighted_loss", value: "1", rule: "only with multi_label=1 (the class weights come from the label distribution)")
        }
        if optimizer == "nag" && momentum <= 0 {
            throw .invalid(name: "momentum", value: String(momentum), rule: "> 0 with optimizer nag (Nesterov momentum)")
        }
        if !multiLabel && numClasses < 2 {
            throw .invalid(name: "num_classes", value: String(numClasses), rule: "at least 2 unless multi_label=1")
        }
        if let last = lrSchedulerSteps.last, last > epochs {
            throw .invalid(name: "lr_scheduler_step", value: values.word("lr_scheduler_step") ?? "",
                           rule: "epochs in 1 … epochs (\(epochs))")
        }
    }

    /// `image_shape`: `channels,height,width` (spaces allowed), 1 or 3 channels, each side 1 … 4,096.
    static func parseImageShape(_ text: String) throws(HyperparameterError) -> FeatureShape {
        let rule = "`channels,height,width` with 1 or 3 channels and sides of 1 to 4096, e.g. 3,224,224"
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 3, let c = Int(parts[0]), let h = Int(parts[1]), let w = Int(parts[2]),
              c == 1 || c == 3, (1...4096).contains(h), (1...4096).contains(w) else {
            throw .invalid(name: "image_shape", value: text, rule: rule)
        }
        return FeatureShape(channels: c, height: h, width: w)
    }

    /// `lr_scheduler_step`: comma-separated epochs, strictly increasing, each ≥ 1.
    static func parseSchedulerSteps(_ text: String) throws(HyperparameterError) -> [Int] {
        let rule = "comma-separated epochs in increasing order, each ≥ 1, e.g. 10, 20"
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty { return [] }
        var steps: [Int] = []
        for part in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            guard let v = Int(part.trimmingCharacters(in: .whitespaces)), v >= 1, v > (steps.last ?? 0) else {
                throw .invalid(name: "lr_scheduler_step", value: text, rule: rule)
            }
            steps.append(v)
        }
        return steps
    }

    /// The optimizer as MLCore's (torch.optim's) update rule: sgd with momentum, nag =
    /// Nesterov momentum, adam, rmsprop (`gamma` is the squared-gradient decay, torch's `alpha`);
    /// `weight_decay` is added to every gradient (L2), as MXNet's `wd` does.
    public var optimizerSetting: Optimizer {
        let lr = Float(learningRate), wd = Float(weightDecay)
        switch optimizer {
        case "adam": return .adam(learningRate: lr, beta1: Float(beta1), beta2: Float(beta2), epsilon: Float(eps), weightDecay: wd)
        case "rmsprop": return .rmsProp(learningRate: lr, alpha: Float(gamma), epsilon: Float(eps), weightDecay: wd)
        case "nag": return .sgd(learningRate: lr, momentum: Float(momentum), nesterov: true, weightDecay: wd)
        default: return .sgd(learningRate: lr, momentum: Float(momentum), weightDecay: wd)
        }
    }

    /// The learning-rate schedule: multiplied by `lr_scheduler_factor` after each epoch listed
    /// in `lr_scheduler_step` (MXNet's MultiFactorScheduler counts those epochs in updates; one
    /// epoch of updates is one epoch here).
    public var decay: LearningRateDecay {
        lrSchedulerSteps.isEmpty ? .constant : .multiStep(milestones: lrSchedulerSteps, factor: Float(lrSchedulerFactor))
    }

    /// The resolved values (defaults filled in), for the log's final-configuration line and the
    /// checkpoint fingerprint.
    public var resolved: [String: String] {
        var out: [String: String] = [:]
        for (name, value) in values.values { out[name] = value.description }
        return out
    }
}

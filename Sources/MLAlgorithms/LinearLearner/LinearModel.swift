import Foundation
import MLCore

/// A trained linear learner in raw-feature space: what `train` saves and `serve` loads.
///
/// Prediction follows §4.1 "Inference": binary → `score` = σ(s) and `predicted_label` =
/// 1 when `score > threshold` (default 0.5, or 0 on a hinge model's raw score; tuned on the
/// calibration rows for `binary_classifier_model_selection_criteria`);
/// multiclass → `score` = softmax over classes and `predicted_label` = the arg-max (ties go
/// to the lower class); regression → `score` = s, no label.
public struct LinearModel: Sendable, Equatable {
    public let predictorType: PredictorType
    public let layout: LinearParameterLayout
    /// Weights (features × outputs) then biases, with the scaler already folded in.
    public var parameters: [Float]
    /// The statistics the model was trained with (kept for provenance; already folded in).
    public var scaler: LinearScaler
    /// Binary decision threshold on the `score` (the probability, or the raw score for hinge_loss).
    public var threshold: Float
    /// The `loss` it was trained with: a binary `hinge_loss` model's score is the raw score.
    public var loss: String

    public init(predictorType: PredictorType, layout: LinearParameterLayout, parameters: [Float],
                scaler: LinearScaler, threshold: Float? = nil, loss: String? = nil) throws(ShapeError) {
        let outputs = predictorType == .multiclassClassifier ? layout.outputs : 1
        guard parameters.count == layout.count, layout.outputs == outputs, scaler.featureMean.count == layout.features,
              predictorType != .multiclassClassifier || layout.outputs >= 3
        else {
            throw .mismatch(operation: "LinearModel", left: "\(parameters.count) parameters, \(layout.outputs) outputs",
                            right: "\(predictorType.rawValue) with \(layout.features) features")
        }
        self.predictorType = predictorType
        self.layout = layout
        self.parameters = parameters
        self.scaler = scaler
        self.loss = loss ?? LinearLearnerHyperparameters.allowedLosses(for: predictorType)[0]
        self.threshold = threshold ?? (self.loss == "hinge_loss" ? 0 : Self.defaultThreshold)
    }

    /// Whether a binary model's score is σ(s) (logistic) rather than s (hinge_loss).
    public var scoresAreProbabilities: Bool { loss != "hinge_loss" }

    public struct Prediction: Sendable, Equatable {
        /// One value, or one per class.
        public var score: [Float]
        public var predictedLabel: Float?
    }

    /// Predictions for every row of `x` (raw features, `layout.features` columns).
    public func predict(_ x: Matrix<Float>) throws -> [Prediction] { try predict(.dense(x)) }

    /// Predictions for every row of dense or sparse `features`.
    /// Sparse rows are scored through their non-zeros, never made dense.
    public func predict(_ features: Features) throws -> [Prediction] {
        let n = features.rows, d = layout.features
        guard features.columns == d else {
            throw ShapeError.mismatch(operation: "LinearModel.predict", left: "\(features.columns) features", right: "the model's \(d)")
        }
        if n == 0 { return [] }
        var scores = Matrix<Float>(rows: n, columns: layout.outputs)
        try layout.scores(features, parameters: parameters, into: &scores)
        let labels = Self.labels(fromScores: scores, threshold: threshold, probabilities: scoresAreProbabilities)
        return (0..<n).map { i in
            switch predictorType {
            case .regressor:
                return Prediction(score: [scores[i, 0]], predictedLabel: nil)
            case .binaryClassifier:
                let s = scores[i, 0]
                return Prediction(score: [scoresAreProbabilities ? Float(sigmoid(Double(s))) : s], predictedLabel: labels[i])
            case .multiclassClassifier:
                let row = scores.row(i).map(Double.init)
                let m = row.max() ?? 0
                let e = row.map { exp($0 - m) }
                let total = e.reduce(0, +)
                return Prediction(score: e.map { Float($0 / total) }, predictedLabel: labels[i])
            }
        }
    }

    /// The decision threshold on a probability before it is tuned.
    public static let defaultThreshold: Float = 0.5

    /// The untuned threshold of a binary objective: 0.5 on σ(s), 0 on a hinge model's raw score.
    public static func defaultThreshold(for objective: LinearObjective) -> Float {
        objective.scoresAreProbabilities ? defaultThreshold : 0
    }

    /// The predicted label of each row of raw scores (`X·W + b`): for one output, 1 when the
    /// score (σ(s) when `probabilities`, else s) is above `threshold`; for several, the arg-max
    /// (ties to the lower class). The one rule both prediction and the trainer's metrics use.
    static func labels(fromScores scores: Matrix<Float>, threshold: Float, probabilities: Bool = true) -> [Float] {
        let k = scores.columns
        return scores.withUnsafeBufferPointer { s in
            (0..<scores.rows).map { i in
                if k == 1 { return (probabilities ? Float(sigmoid(Double(s[i]))) : s[i]) > threshold ? 1 : 0 }
                var best = 0
                for j in 1..<k where s[i * k + j] > s[i * k + best] { best = j }
                return Float(best)
            }
        }
    }

    // MARK: Artifacts

    /// `model.safetensors` + `model.json` format version.
    public static let formatVersion = 1

    /// Writes `model.safetensors` (tensors `weight` [features, outputs], `bias` [outputs],
    /// `scaler.feature_mean`, `scaler.feature_scale` [features], `scaler.label` [mean, scale],
    /// `threshold` [1]) and `model.json` (deterministic fields only), each atomically.
    public func save(to directory: String) throws(ArtifactError) {
        let file = Safetensors(tensors: [
            "weight": .init(Array(parameters[0..<layout.weightCount]), shape: [layout.features, layout.outputs]),
            "bias": .init(Array(parameters[layout.biasOffset...]), shape: [layout.outputs]),
            "scaler.feature_mean": .init(scaler.featureMean, shape: [layout.features]),
            "scaler.feature_scale": .init(scaler.featureScale, shape: [layout.features]),
            "scaler.label": .init([scaler.labelMean, scaler.labelScale], shape: [2]),
            "threshold": .init([threshold], shape: [1]),
        ], metadata: ["algorithm": "linear-learner", "format_version": String(Self.formatVersion)])
        try file.write(to: directory + "/model.safetensors")
        let json: [String: Any] = [
            "algorithm": "linear-learner", "format_version": Self.formatVersion, "predictor_type": predictorType.rawValue,
            "feature_dim": layout.features, "outputs": layout.outputs, "loss": loss,
        ]
        try ModelJSON.write(json, to: directory + "/model.json")
    }

    /// Loads what ``save(to:)`` wrote; every tensor's dtype and shape is checked.
    public static func load(from directory: String) throws(ArtifactError) -> LinearModel {
        let jsonPath = directory + "/model.json", tensorPath = directory + "/model.safetensors"
        guard let json = try ModelJSON.read(jsonPath), json["algorithm"] as? String == "linear-learner",
              let version = json["format_version"] as? Int, version == formatVersion,
              let type = (json["predictor_type"] as? String).flatMap(PredictorType.init(rawValue:)),
              let features = json["feature_dim"] as? Int, let outputs = json["outputs"] as? Int, features > 0, outputs > 0
        else {
            throw .invalid(path: jsonPath, reason: "expected a linear-learner model.json of format_version \(formatVersion)")
        }
        let file = try Safetensors.read(path: tensorPath)
        func tensor<T: BLASScalar>(_ name: String, _ shape: [Int], as: T.Type) throws(ArtifactError) -> [T] {
            guard let t = file.tensors[name] else { throw .tensor(path: tensorPath, name: name, reason: "missing") }
            guard t.shape == shape, let values = t.values(as: T.self) else {
                throw .tensor(path: tensorPath, name: name, reason: "expected \(T.self) of shape \(shape), found \(t.dtype.rawValue) \(t.shape)")
            }
            return values
        }
        let layout = LinearParameterLayout(features: features, outputs: outputs)
        var scaler = LinearScaler(features: features)
        scaler.featureMean = try tensor("scaler.feature_mean", [features], as: Double.self)
        scaler.featureScale = try tensor("scaler.feature_scale", [features], as: Double.self)
        let label = try tensor("scaler.label", [2], as: Double.self)
        scaler.labelMean = label[0]
        scaler.labelScale = label[1]
        let parameters = try tensor("weight", [features, outputs], as: Float.self) + tensor("bias", [outputs], as: Float.self)
        let threshold = try tensor("threshold", [1], as: Float.self)[0]
        do {
            // `loss` arrived with part 2; a model without it was trained with the default loss.
            let loss = json["loss"] as? String
            if let loss, !LinearLearnerHyperparameters.allowedLosses(for: type).contains(loss) {
                throw ArtifactError.invalid(path: jsonPath, reason: "loss \(loss) does not fit predictor_type \(type.rawValue)")
            }
            return try LinearModel(predictorType: type, layout: layout, parameters: parameters, scaler: scaler, threshold: threshold, loss: loss)
        } catch let error as ArtifactError {
            throw error
        } catch {
            throw .invalid(path: jsonPath, reason: "\(error)")
        }
    }
}

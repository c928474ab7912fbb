import MLAlgorithms
import MLCore

/// The linear learner as the inference container serves it (reference §4.1 "Inference"):
/// `score` (a probability for classifiers — one per class for multiclass — or the value for
/// regressors) and `predicted_label` for classifiers.
public struct LinearLearnerInference: InferenceModel {
    public static let algorithm = "linear-learner"
    public static let requestFormats: [RequestFormat] = [.csv, .json, .jsonLines, .recordIOProtobuf, .npy]
    public static let defaultResponseFormat = ResponseFormat.json

    public let model: LinearModel

    public init(model: LinearModel) {
        self.model = model
    }

    /// Loads `model.safetensors` and `model.json` from the model directory (what `mlc train` writes).
    public init(modelDirectory: String) throws(ContainerError) {
        do {
            model = try LinearModel.load(from: modelDirectory)
        } catch {
            throw .client("cannot load the linear-learner model from \(modelDirectory): \(error)")
        }
    }

    public var featureCount: Int { model.layout.features }

    public func respond(dense x: UnsafePointer<Float>, rows: Int, as format: ResponseFormat, into out: inout [UInt8]) throws(InvocationFailure) {
        try withPredictions(rows: rows, out: &out, format: format) { scores, labels throws(InvocationFailure) in
            do {
                try model.predict(dense: x, rows: rows, scores: scores, labels: labels)
            } catch {
                throw InvocationFailure(500, "prediction failed: \(error)")
            }
        }
    }

    public func respond(sparse x: SparseMatrix<Float>, as format: ResponseFormat, into out: inout [UInt8]) throws(InvocationFailure) {
        try withPredictions(rows: x.rows, out: &out, format: format) { scores, labels throws(InvocationFailure) in
            do {
                try model.predict(sparse: x, scores: scores, labels: labels)
            } catch {
                throw InvocationFailure(400, "\(error)")
            }
        }
    }

    /// Scratch for scores and labels (on the stack for small requests), filled by `predict`,
    /// then encoded.
    private func withPredictions(rows: Int, out: inout [UInt8], format: ResponseFormat,
                                 _ predict: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) throws(InvocationFailure) -> Void) throws(InvocationFailure) {
        let k = model.layout.outputs, width = model.scoreWidth
        try withUnsafeTemporaryAllocation(of: Float.self, capacity: rows * (k + 1)) { (buffer: UnsafeMutableBufferPointer<Float>) throws(InvocationFailure) in
            // invariant: rows ≥ 1 (callers return 204 for none) and k ≥ 1
            let scores = buffer.baseAddress!, labels = scores + rows * k // invariant: see above
            try predict(scores, labels)
            if model.hasPredictedLabel {
                try PredictionEncoder.encode(rows: rows, fields: [
                    PredictionField(name: "score", width: width, isList: model.predictorType == .multiclassClassifier, values: scores),
                    PredictionField(name: "predicted_label", width: 1, isList: false, isInteger: true, values: labels),
                ], as: format, into: &out)
            } else {
                try PredictionEncoder.encode(rows: rows, fields: [
                    PredictionField(name: "score", width: 1, isList: false, values: scores),
                ], as: format, into: &out)
            }
        }
    }
}

import MLAlgorithms
import MLCore

/// PCA as the inference container serves it (reference §4.2 "Inference"): `projection`, a list
/// of num_components values per row (`{"projections": [...]}` in JSON, as SageMaker names it).
public struct PCAInference: InferenceModel {
    public static let algorithm = "pca"
    public static let requestFormats: [RequestFormat] = [.csv, .json, .jsonLines, .recordIOProtobuf, .npy]
    public static let defaultResponseFormat = ResponseFormat.json

    public let model: PCAModel

    public init(model: PCAModel) { self.model = model }

    public init(modelDirectory: String) throws(ContainerError) {
        do {
            model = try PCAModel.load(from: modelDirectory)
        } catch {
            throw .client("cannot load the pca model from \(modelDirectory): \(error)")
        }
    }

    public var featureCount: Int { model.features }

    public func respond(dense x: UnsafePointer<Float>, rows: Int, as format: ResponseFormat, into out: inout [UInt8]) throws(InvocationFailure) {
        try encode(rows: rows, format: format, out: &out) { (p: UnsafeMutablePointer<Float>) throws(InvocationFailure) in
            do {
                try model.project(dense: x, rows: rows, into: p)
            } catch {
                throw InvocationFailure(500, "projection failed: \(error)")
            }
        }
    }

    public func respond(sparse x: SparseMatrix<Float>, as format: ResponseFormat, into out: inout [UInt8]) throws(InvocationFailure) {
        try encode(rows: x.rows, format: format, out: &out) { (p: UnsafeMutablePointer<Float>) throws(InvocationFailure) in model.project(sparse: x, into: p) }
    }

    private func encode(rows: Int, format: ResponseFormat, out: inout [UInt8],
                        _ fill: (UnsafeMutablePointer<Float>) throws(InvocationFailure) -> Void) throws(InvocationFailure) {
        let k = model.componentCount
        try withUnsafeTemporaryAllocation(of: Float.self, capacity: rows * k) { (buffer: UnsafeMutableBufferPointer<Float>) throws(InvocationFailure) in
            // invariant: rows ≥ 1 (callers answer 204 for none) and k ≥ 1
            let p = buffer.baseAddress! // invariant: see above
            try fill(p)
            try PredictionEncoder.encode(rows: rows, fields: [PredictionField(name: "projection", width: k, isList: true, values: p)],
                                         as: format, into: &out, listKey: "projections")
        }
    }
}

/// K-means as the inference container serves it (reference §4.3 "Inference"): `closest_cluster`
/// (a float, as SageMaker emits it) and `distance_to_cluster` (Euclidean); CSV `cluster,distance`.
public struct KMeansInference: InferenceModel {
    public static let algorithm = "kmeans"
    public static let requestFormats: [RequestFormat] = [.csv, .json, .jsonLines, .recordIOProtobuf, .npy]
    public static let defaultResponseFormat = ResponseFormat.json

    public let model: KMeansModel

    public init(model: KMeansModel) { self.model = model }

    public init(modelDirectory: String) throws(ContainerError) {
        do {
            model = try KMeansModel.load(from: modelDirectory)
        } catch {
            throw .client("cannot load the kmeans model from \(modelDirectory): \(error)")
        }
    }

    public var featureCount: Int { model.features }

    public func respond(dense x: UnsafePointer<Float>, rows: Int, as format: ResponseFormat, into out: inout [UInt8]) throws(InvocationFailure) {
        try encode(rows: rows, format: format, out: &out) { clusters, distances in
            model.predict(dense: x, rows: rows, clusters: clusters, distances: distances)
        }
    }

    public func respond(sparse x: SparseMatrix<Float>, as format: ResponseFormat, into out: inout [UInt8]) throws(InvocationFailure) {
        try encode(rows: x.rows, format: format, out: &out) { clusters, distances in
            model.predict(sparse: x, clusters: clusters, distances: distances)
        }
    }

    private func encode(rows: Int, format: ResponseFormat, out: inout [UInt8],
                        _ fill: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void) throws(InvocationFailure) {
        try withUnsafeTemporaryAllocation(of: Float.self, capacity: rows * 2) { (buffer: UnsafeMutableBufferPointer<Float>) throws(InvocationFailure) in
            // invariant: rows ≥ 1 (callers answer 204 for none)
            let clusters = buffer.baseAddress!, distances = clusters + rows // invariant: see above
            fill(clusters, distances)
            // Cluster ids are emitted as floats (`1.0`), as SageMaker does.
            try PredictionEncoder.encode(rows: rows, fields: [
                PredictionField(name: "closest_cluster", width: 1, isList: false, values: clusters),
                PredictionField(name: "distance_to_cluster", width: 1, isList: false, values: distances),
            ], as: format, into: &out)
        }
    }
}

import Foundation
import MLCore

/// A trained k-means model: k centroids. Prediction gives each row's `closest_cluster` and
/// `distance_to_cluster`, the **Euclidean** (not squared) distance to it — SageMaker does not
/// say which (reference §4.3); Euclidean is what the name says and what scikit-learn's
/// `transform` returns. Metrics (msd, ssd) are squared distances, as their names say.
public struct KMeansModel: Sendable, Equatable {
    /// k × feature_dim.
    public var centroids: Matrix<Float>

    public init(centroids: Matrix<Float>) {
        self.centroids = centroids
    }

    public var k: Int { centroids.rows }
    public var features: Int { centroids.columns }

    /// Closest cluster (as a Float, as SageMaker emits it) and Euclidean distance of `rows` rows at `x`.
    public func predict(dense x: UnsafePointer<Float>, rows: Int, clusters: UnsafeMutablePointer<Float>, distances: UnsafeMutablePointer<Float>) {
        guard rows > 0 else { return }
        let prepared = KMeansCentres(centroids)
        var labels = [Int32](repeating: 0, count: rows)
        var scratch: [Float] = []
        labels.withUnsafeMutableBufferPointer { l in
            // invariant: rows ≥ 1
            prepared.assign(rows: rows, x: x, labels: l.baseAddress!, distances: distances, scratch: &scratch) // invariant: see above
        }
        for i in 0..<rows {
            clusters[i] = Float(labels[i])
            distances[i] = distances[i].squareRoot()
        }
    }

    /// ``predict(dense:rows:clusters:distances:)`` for sparse rows: each row made dense in turn.
    public func predict(sparse x: SparseMatrix<Float>, clusters: UnsafeMutablePointer<Float>, distances: UnsafeMutablePointer<Float>) {
        let d = features
        var row = [Float](repeating: 0, count: d)
        x.withUnsafeBuffers { offsets, columns, values in
            for i in 0..<x.rows {
                for p in offsets[i]..<offsets[i + 1] { row[Int(columns[p])] = values[p] }
                row.withUnsafeBufferPointer { r in
                    // invariant: d ≥ 1
                    predict(dense: r.baseAddress!, rows: 1, clusters: clusters + i, distances: distances + i) // invariant: see above
                }
                for p in offsets[i]..<offsets[i + 1] { row[Int(columns[p])] = 0 }
            }
        }
    }

    /// Σ squared distances of `x`'s rows to their closest centroid, and the row count (for msd/ssd).
    public func squaredDistanceSum(_ x: Matrix<Float>) -> Double {
        guard x.rows > 0 else { return 0 }
        let prepared = KMeansCentres(centroids)
        var labels = [Int32](repeating: 0, count: x.rows)
        var distances = [Float](repeating: 0, count: x.rows)
        var scratch: [Float] = []
        x.withUnsafeBufferPointer { xb in
            labels.withUnsafeMutableBufferPointer { l in
                distances.withUnsafeMutableBufferPointer { dd in
                    // invariant: rows ≥ 1
                    prepared.assign(rows: x.rows, x: xb.baseAddress!, labels: l.baseAddress!, distances: dd.baseAddress!, scratch: &scratch) // invariant: see above
                }
            }
        }
        return distances.reduce(0.0) { $0 + Double($1) }
    }

    // MARK: Artifacts

    /// `model.safetensors` + `model.json` format version.
    public static let formatVersion = 1

    /// Writes `model.safetensors` (F32 `centroids` [k, feature_dim]) and `model.json`, each atomically.
    public func save(to directory: String) throws(ArtifactError) {
        try Safetensors(tensors: ["centroids": .init(centroids)], metadata: ["algorithm": "kmeans", "format_version": String(Self.formatVersion)])
            .write(to: directory + "/model.safetensors")
        try ModelJSON.write(["algorithm": "kmeans", "format_version": Self.formatVersion, "k": k, "feature_dim": features,
                             "distance": "euclidean"], to: directory + "/model.json")
    }

    public static func load(from directory: String) throws(ArtifactError) -> KMeansModel {
        let jsonPath = directory + "/model.json", tensorPath = directory + "/model.safetensors"
        guard let json = try ModelJSON.read(jsonPath), json["algorithm"] as? String == "kmeans", json["format_version"] as? Int == formatVersion,
              let k = json["k"] as? Int, let d = json["feature_dim"] as? Int, k > 0, d > 0 else {
            throw .invalid(path: jsonPath, reason: "expected a kmeans model.json of format_version \(formatVersion) with k and feature_dim")
        }
        let values = try ModelJSON.tensorReader(try Safetensors.read(path: tensorPath), path: tensorPath)("centroids", [k, d])
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw .tensor(path: tensorPath, name: "centroids", reason: "value \(bad) is not finite")
        }
        // invariant: the reader checked the shape [k, d]
        return KMeansModel(centroids: try! Matrix(rows: k, columns: d, elements: values)) // invariant: see above
    }
}

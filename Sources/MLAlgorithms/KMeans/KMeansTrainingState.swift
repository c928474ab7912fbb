import Foundation
import MLCore

/// Everything streaming k-means needs to continue: the K centres and their (decayed) weights,
/// and where in the data it is. Encoded as safetensors bytes (readable outside the project).
public struct KMeansTrainingState: Sendable, Equatable {
    public var epoch: Int
    /// Mini-batches of `epoch` already applied.
    public var batch: Int
    /// K × d, empty before the first mini-batch.
    public var centres: [Float]
    public var weights: [Double]
    /// The current epoch's Σ squared distance at assignment time and its rows (train msd).
    public var epochLoss: Double
    public var epochRows: Int

    public init(epoch: Int = 0, batch: Int = 0, centres: [Float] = [], weights: [Double] = [], epochLoss: Double = 0, epochRows: Int = 0) {
        self.epoch = epoch
        self.batch = batch
        self.centres = centres
        self.weights = weights
        self.epochLoss = epochLoss
        self.epochRows = epochRows
    }

    public func encoded() throws -> Data {
        try Safetensors(tensors: [
            "centres": .init(centres, shape: [centres.count]),
            "weights": .init(weights, shape: [weights.count]),
            "position": .init([Double(epoch), Double(batch), epochLoss, Double(epochRows)], shape: [4]),
        ], metadata: ["format": "mlcore-kmeans-state", "version": "1"]).serialized()
    }

    public static func decode(_ data: Data) throws -> KMeansTrainingState {
        let file = try Safetensors.decode(data)
        guard file.metadata["format"] == "mlcore-kmeans-state", file.metadata["version"] == "1",
              let centres = file.tensors["centres"]?.values(as: Float.self), let weights = file.tensors["weights"]?.values(as: Double.self),
              let position = file.tensors["position"]?.values(as: Double.self), position.count == 4 else {
            throw UnsupervisedDataError.incompatibleState(reason: "not a k-means training state of version 1")
        }
        return KMeansTrainingState(epoch: Int(position[0]), batch: Int(position[1]), centres: centres, weights: weights,
                                   epochLoss: position[2], epochRows: Int(position[3]))
    }
}

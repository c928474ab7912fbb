import Foundation
import MLCore

/// Everything a linear-learner run carries between steps, as one value (DESIGN.md "Resumable,
/// cancellable, guarded"): restoring it and continuing gives the same bits as never stopping.
///
/// Random draws are functions of (seed, purpose, epoch) — the initial weights, the scaler's
/// sample, each epoch's shuffle — so the seed and the data position (epoch, mini-batch) are the
/// RNG positions.
public struct LinearTrainingState: Sendable, Equatable, Codable {
    public static let formatVersion = 2
    public var formatVersion = Self.formatVersion
    public var seed: UInt64
    public var layout: Layout
    /// The epoch in progress (0-based) and the next mini-batch in it.
    public var epoch: Int
    public var batch: Int
    /// Parameters in the scaled training space (``LinearParameterLayout``).
    public var parameters: [Float]
    /// The exponential moving average of the iterates (scaled space): the epoch's model. SGD's
    /// last iterate jitters around the optimum by about the step size; the average of the recent
    /// ones sits much closer (Polyak–Ruppert averaging, here as a moving average so the early
    /// iterates far from the optimum are forgotten).
    public var averaged: [Double]
    public var optimizer: OptimizerState<Float>
    public var scaler: LinearScaler
    /// Loss weight per class (binary: [1, positive weight]; empty for regression).
    public var classWeights: [Double]
    /// Σ weighted loss per model and Σ weight of the epoch in progress so far.
    public var epochLosses: [Double]
    public var epochWeight: Double
    /// Each model's first mini-batch mean loss: the yardstick for "the loss exploded".
    public var referenceLosses: [Double]?
    /// Models whose loss or parameters stopped being finite, or whose loss exploded: frozen at
    /// zero and never selected (with one model, divergence is an error instead).
    public var diverged: [Bool]
    public var best: Best?
    public var epochsWithoutImprovement: Int
    /// Every finished epoch's summary, so a resumed run reports the whole history.
    public var history: [EpochSummary]
    /// Set once training has ended (epochs exhausted or early stopping).
    public var finished: Bool

    public struct Layout: Sendable, Equatable, Codable {
        public var features: Int
        public var outputs: Int
        public var models: Int
        var parameterLayout: LinearParameterLayout { LinearParameterLayout(features: features, outputs: outputs, models: models) }
    }

    /// Each model's best epoch so far, its criterion there, and every model's best parameters
    /// side by side (scaled space, the state's layout).
    public struct Best: Sendable, Equatable, Codable {
        public var epochs: [Int]
        public var criteria: [Double]
        public var parameters: [Float]
    }

    /// JSON (exact: floats are written in their shortest round-trip form).
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(self)
    }

    public static func decode(_ data: Data) throws(LinearLearnerError) -> LinearTrainingState {
        let state: LinearTrainingState
        do {
            state = try JSONDecoder().decode(LinearTrainingState.self, from: data)
        } catch {
            throw .incompatibleState(reason: "not a linear-learner training state: \(error)")
        }
        guard state.formatVersion == formatVersion else {
            throw .incompatibleState(reason: "format version \(state.formatVersion), this build reads \(formatVersion)")
        }
        return state
    }
}

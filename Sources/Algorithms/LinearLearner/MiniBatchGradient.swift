import MLCore

/// A mini-batch's summed loss and mean gradient, computed over fixed micro-shards in parallel and
/// reduced in a fixed order, so the result is bit-identical for any thread count (DESIGN.md
/// "Determinism").
///
/// The batch is cut into micro-shards of ``microShardRows`` rows — a constant of the trainer,
/// never derived from the thread count — each shard's loss and gradient are computed serially
/// (BLAS on the calling thread), and the per-shard results are added in the pairwise tree of
/// ``DeterministicReduction``. The same shards and the same tree serve Dispatch workers now and
/// MPI ranks later.
public struct MiniBatchGradient: Sendable, Equatable {
    public let microShardRows: Int

    public init(microShardRows: Int = 256) {
        self.microShardRows = max(1, microShardRows)
    }

    /// The result for one mini-batch.
    public struct Result<T: BLASScalar>: Sendable, Equatable {
        /// `Σᵢ wᵢ·ℓᵢ`.
        public var loss: Double
        /// `Σᵢ wᵢ`.
        public var weight: Double
        /// `Σᵢ wᵢ·∇ℓᵢ / Σᵢ wᵢ` (zeros for an empty batch).
        public var meanGradient: [T]
    }

    private struct Partial<T: BLASScalar>: Sendable {
        var loss: Double
        var weight: Double
        var gradient: [T]
        var failure: (any Error)?
    }

    public func compute<T: BLASScalar>(
        _ objective: LinearObjective, features x: Matrix<T>, labels: [T], weights: [T]?,
        parameters: [T], layout: LinearParameterLayout, threads: Int
    ) throws -> Result<T> {
        guard layout.features > 0, layout.outputs == objective.outputs, x.columns == layout.features, labels.count == x.rows,
              weights.map({ $0.count == x.rows }) ?? true, parameters.count == layout.count
        else {
            throw ShapeError.mismatch(
                operation: "MiniBatchGradient.compute", left: "x \(x.rows)×\(x.columns), \(labels.count) labels, \(parameters.count) parameters",
                right: "\(layout.features) features × \(layout.outputs) outputs")
        }
        let count = layout.count
        let empty = Partial<T>(loss: 0, weight: 0, gradient: [T](repeating: 0, count: count), failure: nil)
        let total = DeterministicReduction.reduce(
            count: x.rows, blockSize: microShardRows, threads: threads, identity: empty,
            map: { rows in
                var gradient = [T](repeating: 0, count: count)
                var scratch = Matrix<T>(rows: rows.count, columns: layout.outputs)
                do {
                    let (loss, weight) = try objective.accumulate(
                        features: x.rows(rows), labels: Array(labels[rows]), weights: weights.map { Array($0[rows]) },
                        parameters: parameters, layout: layout, gradient: &gradient, scratch: &scratch)
                    return Partial(loss: loss, weight: weight, gradient: gradient, failure: nil)
                } catch let e as LinearObjective.LabelError {
                    // Report the row of the batch, not of the shard.
                    return Partial(loss: 0, weight: 0, gradient: gradient,
                                   failure: LinearObjective.LabelError(row: rows.lowerBound + e.row, label: e.label, rule: e.rule))
                } catch {
                    return Partial(loss: 0, weight: 0, gradient: gradient, failure: error)
                }
            },
            combine: { a, b in
                // The first failure in row order wins, whatever the scheduling.
                if a.failure != nil { return a }
                if b.failure != nil { return b }
                var sum = a
                sum.loss += b.loss
                sum.weight += b.weight
                for j in 0..<count { sum.gradient[j] += b.gradient[j] }
                return sum
            })
        if let failure = total.failure { throw failure }
        let scale = total.weight > 0 ? 1 / total.weight : 0
        return Result(loss: total.loss, weight: total.weight, meanGradient: total.gradient.map { T(Double($0) * scale) })
    }
}

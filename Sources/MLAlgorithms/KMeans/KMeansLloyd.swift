import MLCore

/// Full-batch Lloyd iterations on rows in memory — the local reduction step of SageMaker's
/// algorithm, exposed on its own for exact comparison with scikit-learn's `KMeans(algorithm="lloyd")`.
///
/// Each iteration assigns every row to its closest centre (``KMeansCentres/assign(rows:x:labels:distances:scratch:)``),
/// sums the rows per centre per micro-shard, reduces the shards' sums in the fixed tree over the
/// ``Communicator`` (the same bits for any worker count), and moves each centre to the mean of
/// its rows. A centre that lost all its rows is re-seeded at the row farthest from its own
/// centre (the farthest first, ties to the lower row index) — deterministic, as scikit-learn does.
public enum KMeansLloyd {
    /// When iterating stops before `maxIterations`.
    public enum Tolerance: Sendable, Equatable {
        /// scikit-learn's rule: stop when Σ‖c_new − c_old‖² ≤ this (scikit-learn scales its `tol`
        /// by the mean feature variance first; pass the scaled value). Also stops when no label changed.
        case centreShift(Double)
        /// SageMaker's `local_lloyd_tol`: stop when the loss improves by less than this fraction.
        case relativeLoss(Double)
    }

    public struct Result: Sendable, Equatable {
        /// k × d.
        public var centres: Matrix<Float>
        /// Σ w·‖x − c(x)‖² with the final centres and labels.
        public var inertia: Double
        /// Iterations run (scikit-learn's `n_iter_`).
        public var iterations: Int
        /// The closest final centre of each row.
        public var labels: [Int32]
        /// Rows measured against every centre (by the GEMM kernel), over all iterations: n per
        /// iteration for the plain method, far fewer with bounds. Not part of the result's equality.
        public var measuredRows: Int = 0

        public static func == (a: Result, b: Result) -> Bool {
            a.centres == b.centres && a.inertia == b.inertia && a.iterations == b.iterations && a.labels == b.labels
        }
    }

    /// Rows of a micro-shard.
    public static let shardRows = 8192

    /// How each iteration finds every row's closest centre.
    public enum Method: Sendable, Equatable {
        /// ``bounded`` when the tolerance is a centre shift and k ≥ 2, else ``plain``.
        case automatic
        /// Every row against every centre, every iteration (the GEMM kernel).
        case plain
        /// Hamerly's bounds skip the rows whose closest centre cannot have changed (`KMeansLloyd+Bounds.swift`).
        case bounded
    }

    /// Runs Lloyd from `initial` (k × d) on `x`; `weights` (one per row) default to 1.
    public static func run(_ x: Matrix<Float>, weights: [Float]? = nil, initial: Matrix<Float>, maxIterations: Int,
                           tolerance: Tolerance = .centreShift(0), workers: Int = 1, method: Method = .automatic) throws -> Result {
        let n = x.rows, d = x.columns, k = initial.rows
        guard initial.columns == d else { throw UnsupervisedDataError.featureCount(channel: "initial centres", expected: d, found: initial.columns) }
        guard n >= k else {
            throw UnsupervisedDataError.tooFewRows(channel: "train", rows: n, parameter: "k", value: k, rule: "at least k rows")
        }
        if case .centreShift(let tol) = tolerance, k >= 2, method != .plain {
            return try runBounded(x, weights: weights, initial: initial, maxIterations: maxIterations, tolerance: tol, workers: workers)
        }
        let shards = MicroShards(rows: n, shardRows: shardRows)
        let width = KMeansAccumulator.width(k: k, d: d)
        var labels = [Int32](repeating: -1, count: n)
        var distances = [Float](repeating: 0, count: n)
        var centres = initial.elements
        var iterations = 0
        var previousLoss = Double.infinity
        var previousLabels: [Int32]? = nil

        /// One E-step over all rows (labels and distances filled in) and the reduced sums.
        func estep(_ centres: [Float]) throws -> [Double] {
            let prepared = KMeansCentres(values: centres, count: k, features: d)
            return try labels.withUnsafeMutableBufferPointer { lb in
                try distances.withUnsafeMutableBufferPointer { db in
                    // invariant: n ≥ k ≥ 1 rows, so the buffers are non-empty
                    let lp = SharedMutablePointer(lb.baseAddress!), dp = SharedMutablePointer(db.baseAddress!) // invariant: see above
                    return try x.withUnsafeBufferPointer { xb in
                        let xp = SharedPointer(xb.baseAddress!) // invariant: n, d ≥ 1
                        let wp = weights
                        let outcomes = try InProcessCommunicator.run(workers: workers) { comm -> [Double] in
                            var local: [Double] = []
                            var scratch: [Float] = []
                            for s in shards.shards(forRank: comm.rank, of: comm.size) {
                                let r = shards.rows(ofShard: s)
                                prepared.assign(rows: r.count, x: xp + r.lowerBound * d, labels: lp + r.lowerBound, distances: dp + r.lowerBound,
                                                scratch: &scratch)
                                var acc = KMeansAccumulator(k: k, d: d)
                                if let wp {
                                    wp.withUnsafeBufferPointer { w in
                                        // invariant: one weight per row
                                        acc.add(rows: r.count, x: xp + r.lowerBound * d, weights: w.baseAddress! + r.lowerBound, // invariant: see above
                                                labels: lp + r.lowerBound, distances: dp + r.lowerBound)
                                    }
                                } else {
                                    acc.add(rows: r.count, x: xp + r.lowerBound * d, weights: nil, labels: lp + r.lowerBound, distances: dp + r.lowerBound)
                                }
                                local += acc.values
                            }
                            return try comm.reduceMicroShards(local, width: width, shards: shards)
                        }
                        return outcomes[0]
                    }
                }
            }
        }

        while iterations < maxIterations {
            let totals = try estep(centres)
            iterations += 1
            var updated = totals
            relocateEmpty(&updated, k: k, d: d, x: x, weights: weights, labels: labels, distances: distances)
            var next = centres
            var shift = 0.0
            for j in 0..<k {
                let w = updated[k * d + j]
                guard w > 0 else { continue }
                for t in 0..<d {
                    let v = Float(updated[j * d + t] / w)
                    let diff = Double(v) - Double(centres[j * d + t])
                    shift += diff * diff
                    next[j * d + t] = v
                }
            }
            centres = next
            if let previousLabels, previousLabels == labels { break }
            var stop = false
            switch tolerance {
            case .centreShift(let tol):
                stop = shift <= tol
            case .relativeLoss(let tol):
                let loss = totals[width - 1]
                stop = previousLoss.isFinite && previousLoss - loss <= tol * previousLoss
                previousLoss = loss
            }
            if stop { break }
            previousLabels = labels
        }
        // The labels and inertia of the final centres.
        let totals = try estep(centres)
        // invariant: k × d elements
        let matrix = try! Matrix(rows: k, columns: d, elements: centres) // invariant: see above
        return Result(centres: matrix, inertia: totals[width - 1], iterations: iterations, labels: labels, measuredRows: n * (iterations + 1))
    }

    /// Centres with no weight take the rows farthest from their own centres (scikit-learn's
    /// relocation): the farthest row goes to the lowest-numbered empty centre, and its weight and
    /// sum move out of the centre it came from.
    static func relocateEmpty(_ totals: inout [Double], k: Int, d: Int, x: Matrix<Float>, weights: [Float]?, labels: [Int32], distances: [Float]) {
        let empty = (0..<k).filter { totals[k * d + $0] <= 0 }
        guard !empty.isEmpty else { return }
        // The len(empty) largest distances, ties to the lower index.
        var far: [Int] = []
        for i in 0..<distances.count where (weights?[i] ?? 1) > 0 {
            if far.count < empty.count {
                far.append(i)
                far.sort { distances[$0] > distances[$1] || (distances[$0] == distances[$1] && $0 < $1) }
            } else if let last = far.last, distances[i] > distances[last] {
                far[far.count - 1] = i
                far.sort { distances[$0] > distances[$1] || (distances[$0] == distances[$1] && $0 < $1) }
            }
        }
        for (target, row) in zip(empty, far) {
            let w = Double(weights?[row] ?? 1), from = Int(labels[row])
            for t in 0..<d {
                let v = w * Double(x[row, t])
                totals[from * d + t] -= v
                totals[target * d + t] = v
            }
            totals[k * d + from] -= w
            totals[k * d + target] = w
        }
    }
}

import Foundation
import MLCore

/// A gradient-boosted tree ensemble as XGBoost defines it: margin = base margin + the sum of the
/// trees of each output (class), then the objective's transform.
///
/// Margins are summed in Float in tree order, as XGBoost's CPU predictor does, so a model read
/// from XGBoost's JSON predicts what XGBoost predicts.
public struct BoostedTreesModel: Sendable, Equatable {
    public var objective: TreeObjective
    /// Classes for multiclass objectives, else 1.
    public var numClass: Int
    public var featureCount: Int
    /// XGBoost's `base_score`: one value in the prediction space for single-output objectives
    /// (a probability for logistic ones), one margin per class for multiclass ones (XGBoost 3
    /// fits the classes' centred log frequencies).
    public var baseScores: [Double]
    public var trees: [RegressionTree]
    /// The output (class) of each tree.
    public var treeGroups: [Int]
    /// The best round when early stopping chose one.
    public var bestIteration: Int?
    public var bestScore: Double?
    /// `huber_slope` etc. that XGBoost keeps in the objective's parameters.
    public var huberSlope: Double = 1
    /// Trees per round per output (`num_parallel_tree`: a boosted random forest when > 1).
    public var numParallelTree = 1
    /// Margins per row: one per class for multiclass objectives, else 1.
    public var outputs: Int { objective.isMulticlass ? numClass : 1 }
    /// Trees added per round: `numParallelTree` per output, grouped by output.
    public var treesPerRound: Int { max(1, outputs * numParallelTree) }
    public var rounds: Int { trees.count / treesPerRound }

    public init(objective: TreeObjective, numClass: Int, featureCount: Int, baseScores: [Double],
                trees: [RegressionTree] = [], treeGroups: [Int] = []) {
        self.objective = objective
        self.numClass = numClass
        self.featureCount = featureCount
        self.baseScores = baseScores
        self.trees = trees
        self.treeGroups = treeGroups
    }

    /// The base score of each output as a margin.
    public var baseMargins: [Float] {
        (0..<outputs).map { k in
            let score = baseScores.count == outputs ? baseScores[k] : baseScores.first ?? 0.5
            return Float(objective.isMulticlass ? score : objective.margin(ofBaseScore: score))
        }
    }

    /// Margins, rows × outputs (row-major). `features` must have `featureCount` columns.
    public func margins(_ x: Features, threads: Int = 1, trees treeLimit: Int? = nil) throws(TreeDataError) -> [Float] {
        guard x.columns == featureCount else {
            throw TreeDataError("the data has \(x.columns) features; the model was trained on \(featureCount)")
        }
        let k = outputs, n = x.rows
        let used = min(trees.count, treeLimit ?? trees.count)
        let bases = baseMargins
        var out = [Float](repeating: 0, count: n * k)
        for i in 0..<n { for c in 0..<k { out[i * k + c] = bases[c] } }
        let trees = self.trees, groups = self.treeGroups
        let block = 512
        out.withUnsafeMutableBufferPointer { o in
            guard let base = o.baseAddress else { return }
            let op = SharedMutablePointer(base)
            switch x {
            case .dense(let m):
                m.withUnsafeBufferPointer { xb in
                    guard let xbase = xb.baseAddress else { return }
                    let xp = SharedPointer(xbase)
                    let d = m.columns
                    parallelFor(blocks: (n + block - 1) / block, threads: threads) { b in
                        let lo = b * block, hi = min(n, lo + block)
                        // Tree by tree over the block: each tree's nodes stay in cache.
                        for t in 0..<used {
                            let tree = trees[t], g = groups[t]
                            for i in lo..<hi {
                                op.base[i * k + g] += tree.splitConditions[tree.leaf(xp.base + i * d)]
                            }
                        }
                    }
                }
            case .sparse(let s):
                parallelFor(blocks: (n + block - 1) / block, threads: threads) { b in
                    let lo = b * block, hi = min(n, lo + block)
                    var dense = [Float](repeating: .nan, count: s.columns)
                    for i in lo..<hi {
                        let range = s.rowOffsets[i]..<s.rowOffsets[i + 1]
                        for j in range { dense[Int(s.columnIndices[j])] = s.values[j] }
                        dense.withUnsafeBufferPointer { row in
                            // invariant: a sparse matrix with rows has columns
                            let r = row.baseAddress!
                            for t in 0..<used { op.base[i * k + groups[t]] += trees[t].splitConditions[trees[t].leaf(r)] }
                        }
                        for j in range { dense[Int(s.columnIndices[j])] = .nan }
                    }
                }
            }
        }
        return out
    }

    /// Predictions: probabilities for logistic objectives, class-probability rows for
    /// multi:softprob, class indices for multi:softmax, 0/1 for binary:hinge, the margin itself
    /// for the rest (exp for the log-link objectives). Returns rows × ``predictionWidth``.
    public func predict(_ x: Features, threads: Int = 1) throws(TreeDataError) -> [Float] {
        transform(margins: try margins(x, threads: threads))
    }

    /// Values per row ``predict(_:threads:)`` returns.
    public var predictionWidth: Int { objective == .multiSoftprob ? numClass : 1 }

    public func transform(margins: [Float]) -> [Float] {
        switch objective {
        case .multiSoftprob:
            var out = margins
            for r in 0..<(margins.count / numClass) { Self.softmax(&out, at: r * numClass, count: numClass) }
            return out
        case .multiSoftmax:
            return (0..<(margins.count / numClass)).map { r in
                Float(TreeMetric.argmax(margins[(r * numClass)..<((r + 1) * numClass)]))
            }
        default:
            return margins.map { objective.transform($0) }
        }
    }

    static func softmax(_ v: inout [Float], at start: Int, count: Int) {
        var top = -Float.infinity
        for k in 0..<count { top = max(top, v[start + k]) }
        var sum: Float = 0
        for k in 0..<count {
            v[start + k] = exp(v[start + k] - top)
            sum += v[start + k]
        }
        for k in 0..<count { v[start + k] /= sum }
    }
}

import MLCore

/// XGBoost's `get_score` importance types.
public enum FeatureImportanceType: String, CaseIterable, Sendable {
    /// Splits on the feature.
    case weight
    /// Average loss reduction of those splits (`total_gain / weight`).
    case gain
    /// Average hessian sum reaching those splits (`total_cover / weight`).
    case cover
    /// Summed loss reduction of the feature's splits.
    case totalGain = "total_gain"
    /// Summed hessian of the rows reaching the feature's splits.
    case totalCover = "total_cover"
}

extension BoostedTreesModel {
    /// Feature importance as XGBoost's `Booster.get_score(importance_type:)` computes it: over
    /// every split of every tree (all classes together), counts, summed `loss_chg` and summed
    /// split-node hessians, in float32 as XGBoost sums them; `gain`/`cover` divide by the count.
    /// Features never split on are absent; the result is in ascending feature order.
    public func featureImportance(_ type: FeatureImportanceType) -> [(feature: Int, value: Double)] {
        var counts = [Int](repeating: 0, count: featureCount)
        var gains = [Float](repeating: 0, count: featureCount)
        var covers = [Float](repeating: 0, count: featureCount)
        for tree in trees {
            for node in 0..<tree.nodeCount where !tree.isLeaf(node) {
                let f = Int(tree.splitIndices[node])
                guard f < featureCount else { continue }
                counts[f] += 1
                gains[f] += tree.lossChanges[node]
                covers[f] += tree.sumHessians[node]
            }
        }
        return (0..<featureCount).compactMap { f in
            guard counts[f] > 0 else { return nil }
            let value: Double = switch type {
            case .weight: Double(counts[f])
            case .gain: Double(gains[f]) / Double(counts[f])
            case .cover: Double(covers[f]) / Double(counts[f])
            case .totalGain: Double(gains[f])
            case .totalCover: Double(covers[f])
            }
            return (f, value)
        }
    }

    /// Every importance type as one JSON object keyed by type, then by XGBoost's default
    /// feature names (`f0`, `f1`, …) — the shape of `{t: booster.get_score(importance_type=t)}`.
    public func featureImportanceJSON() -> String {
        let types = FeatureImportanceType.allCases.map { type in
            let entries = featureImportance(type).map { "\"f\($0.feature)\": \($0.value.description)" }
            return "  \"\(type.rawValue)\": {" + entries.joined(separator: ", ") + "}"
        }
        return "{\n" + types.joined(separator: ",\n") + "\n}\n"
    }

    /// Exact TreeSHAP feature contributions per row, as XGBoost's `predict(pred_contribs=True)`:
    /// `rows × outputs × (featureCount + 1)` values, the last of each row (and class) the bias —
    /// the base margin plus every tree's cover-weighted mean prediction — so each row's values add
    /// up to its margin. Lundberg's path algorithm in float32 with XGBoost's operation order, so the
    /// values agree with XGBoost's to float rounding. Missing values follow each split's default
    /// direction. `trees` limits the trees used (whole rounds, as XGBoost's iteration end).
    public func contributions(_ x: Features, threads: Int = 1, trees treeLimit: Int? = nil) throws(TreeDataError) -> [Float] {
        guard x.columns == featureCount else {
            throw TreeDataError("the data has \(x.columns) features; the model was trained on \(featureCount)")
        }
        let k = outputs, n = x.rows, width = featureCount + 1
        let used = min(trees.count, treeLimit ?? trees.count)
        let explained = (0..<used).map { TreeExplainer(tree: trees[$0]) }
        let groups = treeGroups, bases = baseMargins, d = featureCount
        var out = [Float](repeating: 0, count: n * k * width)
        out.withUnsafeMutableBufferPointer { o in
            guard let base = o.baseAddress else { return }
            let op = SharedMutablePointer(base)
            let block = 64
            parallelFor(blocks: (n + block - 1) / block, threads: threads) { b in
                var row = [Float](repeating: .nan, count: d)
                var phi = [Float](repeating: 0, count: width)
                var scratch = TreeExplainer.Scratch()
                for i in (b * block)..<min(n, (b + 1) * block) {
                    x.copyRow(i, into: &row)
                    for g in 0..<k {
                        let target = op.base + (i * k + g) * width
                        for t in 0..<used where groups[t] == g {
                            for c in 0..<width { phi[c] = 0 }
                            explained[t].contributions(row, into: &phi, scratch: &scratch)
                            for c in 0..<width { target[c] += phi[c] }
                        }
                        target[width - 1] += bases[g]
                    }
                }
            }
        }
        return out
    }
}

extension Features {
    /// Row `i` as dense values (NaN where a sparse row has no entry), into `row` (`columns` long
    /// at least; values beyond `columns` are left NaN).
    func copyRow(_ i: Int, into row: inout [Float]) {
        switch self {
        case .dense(let m):
            m.elements.withUnsafeBufferPointer { e in
                for j in 0..<m.columns { row[j] = e[i * m.columns + j] }
            }
            for j in m.columns..<row.count { row[j] = .nan }
        case .sparse(let s):
            for j in row.indices { row[j] = .nan }
            for p in s.rowOffsets[i]..<s.rowOffsets[i + 1] where Int(s.columnIndices[p]) < row.count {
                row[Int(s.columnIndices[p])] = s.values[p]
            }
        }
    }
}

/// One tree prepared for TreeSHAP: its node means (XGBoost's `FillNodeMeanValues`) and the
/// recursion of Lundberg et al. (2018), Algorithm 2, with XGBoost's float32 arithmetic.
struct TreeExplainer: Sendable {
    let tree: RegressionTree
    /// Each node's expected prediction: leaves their value, inner nodes the hessian-weighted mean
    /// of their children's.
    let means: [Float]
    let depth: Int

    struct PathElement {
        var feature: Int32 = -1
        var zero: Float = 0
        var one: Float = 0
        var weight: Float = 0
    }

    /// Per-thread path storage, grown to the deepest tree seen.
    struct Scratch {
        var path: [PathElement] = []
    }

    init(tree: RegressionTree) {
        self.tree = tree
        var means = [Float](repeating: 0, count: tree.nodeCount)
        // Children always come after their parent in XGBoost's layout (ours too), so one pass
        // from the last node backwards sees every child before its parent.
        for node in stride(from: tree.nodeCount - 1, through: 0, by: -1) {
            if tree.isLeaf(node) {
                means[node] = tree.splitConditions[node]
            } else {
                let l = Int(tree.leftChildren[node]), r = Int(tree.rightChildren[node])
                var result = means[l] * tree.sumHessians[l]
                result += means[r] * tree.sumHessians[r]
                means[node] = result / tree.sumHessians[node]
            }
        }
        self.means = means
        self.depth = tree.depth
    }

    /// Adds this tree's contributions for `row` to `phi` (`features + 1` long; the bias last).
    func contributions(_ row: [Float], into phi: inout [Float], scratch: inout Scratch) {
        guard tree.nodeCount > 0 else { return }
        phi[phi.count - 1] += means[0]
        let maxd = depth + 2
        let needed = maxd * (maxd + 1) / 2
        if scratch.path.count < needed { scratch.path = [PathElement](repeating: PathElement(), count: needed) }
        row.withUnsafeBufferPointer { x in
            phi.withUnsafeMutableBufferPointer { p in
                scratch.path.withUnsafeMutableBufferPointer { path in
                    // invariant: all three buffers are non-empty (nodeCount > 0, phi has the bias, path sized above)
                    shap(x: x.baseAddress!, phi: p.baseAddress!, node: 0, uniqueDepth: 0, parentPath: path.baseAddress!,
                         parentZero: 1, parentOne: 1, parentFeature: -1)
                }
            }
        }
    }

    private func shap(x: UnsafePointer<Float>, phi: UnsafeMutablePointer<Float>, node: Int, uniqueDepth: Int,
                      parentPath: UnsafeMutablePointer<PathElement>, parentZero: Float, parentOne: Float, parentFeature: Int32) {
        var d = uniqueDepth
        let path = parentPath + d + 1
        path.update(from: parentPath, count: d + 1)
        Self.extend(path, d, parentZero, parentOne, parentFeature)
        if tree.isLeaf(node) {
            let leaf = tree.splitConditions[node]
            if d >= 1 {
                for i in 1...d {
                    let w = Self.unwoundSum(path, d, i)
                    let element = path[i]
                    phi[Int(element.feature)] += w * (element.one - element.zero) * leaf
                }
            }
            return
        }
        let feature = tree.splitIndices[node]
        let v = x[Int(feature)]
        let left = Int(tree.leftChildren[node]), right = Int(tree.rightChildren[node])
        let goLeft = v.isNaN ? tree.defaultLeft[node] : v < tree.splitConditions[node]
        let hot = goLeft ? left : right, cold = goLeft ? right : left
        let w = tree.sumHessians[node]
        let hotZero = tree.sumHessians[hot] / w
        let coldZero = tree.sumHessians[cold] / w
        var incomingZero: Float = 1, incomingOne: Float = 1
        var index = 0
        while index <= d && path[index].feature != feature { index += 1 }
        if index != d + 1 {
            incomingZero = path[index].zero
            incomingOne = path[index].one
            Self.unwind(path, d, index)
            d -= 1
        }
        shap(x: x, phi: phi, node: hot, uniqueDepth: d + 1, parentPath: path, parentZero: hotZero * incomingZero, parentOne: incomingOne, parentFeature: feature)
        shap(x: x, phi: phi, node: cold, uniqueDepth: d + 1, parentPath: path, parentZero: coldZero * incomingZero, parentOne: 0, parentFeature: feature)
    }

    static func extend(_ path: UnsafeMutablePointer<PathElement>, _ d: Int, _ zero: Float, _ one: Float, _ feature: Int32) {
        path[d] = PathElement(feature: feature, zero: zero, one: one, weight: d == 0 ? 1 : 0)
        var i = d - 1
        while i >= 0 {
            path[i + 1].weight += one * path[i].weight * Float(i + 1) / Float(d + 1)
            path[i].weight = zero * path[i].weight * Float(d - i) / Float(d + 1)
            i -= 1
        }
    }

    static func unwind(_ path: UnsafeMutablePointer<PathElement>, _ d: Int, _ index: Int) {
        let one = path[index].one, zero = path[index].zero
        var next = path[d].weight
        var i = d - 1
        while i >= 0 {
            if one != 0 {
                let t = path[i].weight
                path[i].weight = next * Float(d + 1) / (Float(i + 1) * one)
                next = t - path[i].weight * zero * Float(d - i) / Float(d + 1)
            } else {
                path[i].weight = (path[i].weight * Float(d + 1)) / (zero * Float(d - i))
            }
            i -= 1
        }
        for j in index..<d {
            path[j].feature = path[j + 1].feature
            path[j].zero = path[j + 1].zero
            path[j].one = path[j + 1].one
        }
    }

    static func unwoundSum(_ path: UnsafeMutablePointer<PathElement>, _ d: Int, _ index: Int) -> Float {
        let one = path[index].one, zero = path[index].zero
        var next = path[d].weight
        var total: Float = 0
        var i = d - 1
        while i >= 0 {
            if one != 0 {
                let t = next * Float(d + 1) / (Float(i + 1) * one)
                total += t
                next = path[i].weight - t * zero * (Float(d - i) / Float(d + 1))
            } else if zero != 0 {
                total += (path[i].weight / zero) / (Float(d - i) / Float(d + 1))
            }
            i -= 1
        }
        return total
    }
}

import Foundation
import MLCore
import Testing
@testable import MLAlgorithms

/// Monotone and interaction constraints, column sampling by level and node, and boosted forests
/// (`num_parallel_tree`): each checked by what the trained model must obey, with a model that
/// is not constrained shown to break it (so the checks can fail). Node-for-node equality with
/// XGBoost for the constrained and forest settings is in ``TreeGrowthPolicyTests``.
@Suite struct TreeConstraintTests {
    /// 1,200 rows, 6 features, trends that are not monotone locally (as in the XGBoost fixture,
    /// larger), 3% missing values in feature 2.
    static let data: TreeDataset = {
        var rng = RandomStream(seed: 7)
        let n = 1_200, d = 6
        var x = Matrix<Float>(rows: n, columns: d, repeating: 0)
        var y = [Float](repeating: 0, count: n)
        for i in 0..<n {
            for j in 0..<d { x[i, j] = Float(rng.nextDouble() * 6 - 3) }
            let f = { (j: Int) in Double(x[i, j]) }
            let z = 0.8 * f(0) + 0.8 * sin(2 * f(0)) + 0.6 * f(1) * f(3) - 0.8 * f(2) + 0.5 * cos(2.5 * f(2)) + 0.8 * (f(4) > 0.5 ? 1 : 0)
            y[i] = Float(z + (rng.nextDouble() - 0.5))
            if rng.nextDouble() < 0.03 { x[i, 2] = .nan }
        }
        return TreeDataset(features: .dense(x), labels: y)
    }()

    static func train(_ extra: [String: String], threads: Int = 1) throws -> BoostedTreesModel {
        let base = ["num_round": "20", "max_depth": "5", "eta": "0.3", "objective": "reg:squarederror", "seed": "3"]
        let hp = try XGBoostHyperparameters(strings: base.merging(extra) { _, b in b })
        return try BoostedTreesTrainer(hyperparameters: hp, threads: threads).fit(train: data).model
    }

    /// The largest drop (direction 1) or rise (−1) of the margin along a grid of `feature`'s
    /// values, over 40 rows of the data (the other features as they are, missing included).
    static func worstViolation(_ model: BoostedTreesModel, feature: Int, direction: Float) throws -> Float {
        guard case .dense(let x) = data.features else { return .infinity }
        let grid = (0...60).map { Float($0) / 10 - 3 }
        var worst: Float = 0
        for row in stride(from: 0, to: 1_200, by: 30) {
            var rows = Matrix<Float>(rows: grid.count, columns: x.columns, repeating: 0)
            for (g, v) in grid.enumerated() {
                for j in 0..<x.columns { rows[g, j] = x[row, j] }
                rows[g, feature] = v
            }
            let m = try model.margins(.dense(rows))
            for g in 1..<m.count { worst = max(worst, direction * (m[g - 1] - m[g])) }
        }
        return worst
    }

    @Test("monotone constraints hold on a grid of inputs, for both growth policies; without them the model breaks them",
          arguments: [["grow_policy": "depthwise"], ["grow_policy": "lossguide", "max_leaves": "24", "max_depth": "0"],
                      ["grow_policy": "depthwise", "colsample_bynode": "0.6", "subsample": "0.8", "max_delta_step": "0.5"]])
    func monotone(policy: [String: String]) throws {
        let constrained = try Self.train(policy.merging(["monotone_constraints": "(1,0,-1)"]) { _, b in b })
        #expect(try Self.worstViolation(constrained, feature: 0, direction: 1) == 0)
        #expect(try Self.worstViolation(constrained, feature: 2, direction: -1) == 0)
        let free = try Self.train(policy)
        #expect(try Self.worstViolation(free, feature: 0, direction: 1) > 0.01)
        #expect(try Self.worstViolation(free, feature: 2, direction: -1) > 0.01)
        // Constrained features are still used: the model is not flat along them.
        let importance = constrained.featureImportance(.weight)
        #expect(importance.contains { $0.feature == 0 } && importance.contains { $0.feature == 2 })
    }

    /// Every root-to-leaf path's split features, as sets.
    static func paths(_ tree: RegressionTree) -> [Set<Int>] {
        var out: [Set<Int>] = []
        func walk(_ node: Int, _ used: Set<Int>) {
            if tree.isLeaf(node) { out.append(used); return }
            let next = used.union([Int(tree.splitIndices[node])])
            walk(Int(tree.leftChildren[node]), next)
            walk(Int(tree.rightChildren[node]), next)
        }
        walk(0, [])
        return out
    }

    @Test("interaction constraints: every path stays inside one allowed set (a feature in no set only with itself)")
    func interaction() throws {
        let sets: [Set<Int>] = [[0, 1], [2, 3, 4]]
        func obeys(_ path: Set<Int>) -> Bool { path.count <= 1 || sets.contains { path.isSubset(of: $0) } }
        for policy in [["max_depth": "5"], ["grow_policy": "lossguide", "max_leaves": "16", "max_depth": "0"]] {
            let constrained = try Self.train(policy.merging(["interaction_constraints": "[[0,1],[2,3,4]]"]) { _, b in b })
            let all = constrained.trees.flatMap(Self.paths)
            #expect(all.allSatisfy(obeys), "\(policy)")
            // Both sets are used, and feature 5 (in no set) only alone below itself.
            #expect(all.contains { $0.isSubset(of: [0, 1]) && $0.count == 2 } && all.contains { $0.isSubset(of: [2, 3, 4]) && $0.count >= 2 })
            #expect(all.filter { $0.contains(5) }.allSatisfy { $0 == [5] })
            let free = try Self.train(policy)
            #expect(!free.trees.flatMap(Self.paths).allSatisfy(obeys))
        }
    }

    @Test("sampling before the interaction rule can leave a node nothing to split on: it becomes a leaf, no crash")
    func samplingThenInteraction() throws {
        for policy in [["max_depth": "6"], ["grow_policy": "lossguide", "max_leaves": "32", "max_depth": "0"]] {
            let model = try Self.train(policy.merging(["interaction_constraints": "[[0],[1],[2],[3],[4],[5]]", "colsample_bynode": "0.2"]) { _, b in b })
            // Singleton sets: every path uses one feature; a node whose draw misses it stops.
            #expect(model.trees.flatMap(Self.paths).allSatisfy { $0.count <= 1 })
            #expect(model.trees.contains { t in (0..<t.nodeCount).contains { !t.isLeaf($0) && $0 != 0 } })
        }
    }

    @Test("the interaction rule: the path's features and every set holding them all")
    func allowedFeatures() {
        let sets = [[0, 1], [2, 3, 4], [1, 2]]
        #expect(TreeGrower.allowedFeatures(path: [], sets: sets) == nil)
        #expect(TreeGrower.allowedFeatures(path: [1], sets: sets) == [0, 1, 2])
        #expect(TreeGrower.allowedFeatures(path: [1, 2], sets: sets) == [1, 2])
        #expect(TreeGrower.allowedFeatures(path: [2], sets: sets) == [1, 2, 3, 4])
        #expect(TreeGrower.allowedFeatures(path: [5], sets: sets) == [5])
        #expect(TreeGrower.allowedFeatures(path: [0, 3], sets: sets) == [0, 3])
    }

    /// Split features by depth, per tree.
    static func featuresByDepth(_ tree: RegressionTree) -> [Int: Set<Int>] {
        var out: [Int: Set<Int>] = [:]
        func walk(_ node: Int, _ depth: Int) {
            guard !tree.isLeaf(node) else { return }
            out[depth, default: []].insert(Int(tree.splitIndices[node]))
            walk(Int(tree.leftChildren[node]), depth + 1)
            walk(Int(tree.rightChildren[node]), depth + 1)
        }
        walk(0, 0)
        return out
    }

    @Test("colsample_bylevel: one feature per depth when the share allows one; nested in the tree's sample")
    func byLevel() throws {
        let model = try Self.train(["colsample_bylevel": "0.2"])  // ⌊0.2 · 6⌋ = 1 feature per depth
        for tree in model.trees { #expect(Self.featuresByDepth(tree).values.allSatisfy { $0.count == 1 }) }
        // Different depths and trees draw different features.
        #expect(Set(model.trees.flatMap { Self.featuresByDepth($0).values.flatMap { $0 } }).count >= 4)
        let free = try Self.train([:])
        #expect(free.trees.contains { Self.featuresByDepth($0).values.contains { $0.count > 1 } })
        // Nested: bytree 0.5 (3 of 6) then bylevel 0.5 (1 of 3): a tree's features are at most 3.
        let nested = try Self.train(["colsample_bytree": "0.5", "colsample_bylevel": "0.5"])
        for tree in nested.trees {
            let byDepth = Self.featuresByDepth(tree)
            #expect(byDepth.values.allSatisfy { $0.count == 1 })
            #expect(Set(byDepth.values.flatMap { $0 }).count <= 3)
        }
    }

    @Test("colsample_bynode: each node draws its own features; sampling never depends on the thread count")
    func byNode() throws {
        let model = try Self.train(["colsample_bynode": "0.2"])  // one feature per node
        let free = try Self.train([:])
        #expect(model.trees != free.trees)
        // Nodes of one depth use different features (a per-level draw would not).
        #expect(model.trees.contains { Self.featuresByDepth($0).values.contains { $0.count > 1 } })
        let everything = ["colsample_bytree": "0.8", "colsample_bylevel": "0.7", "colsample_bynode": "0.6", "subsample": "0.7",
                          "num_parallel_tree": "2", "monotone_constraints": "(1)", "interaction_constraints": "[[0,1,2],[2,3,4,5]]"]
        for policy in [["grow_policy": "depthwise"], ["grow_policy": "lossguide", "max_leaves": "12"]] {
            let settings = everything.merging(policy) { _, b in b }
            #expect(try Self.train(settings, threads: 1) == Self.train(settings, threads: 2))
            #expect(try Self.train(settings) != Self.train(settings.merging(["seed": "4"]) { _, b in b }))
        }
    }

    @Test("num_parallel_tree: trees grouped per round, each with its own sample, eta divided among them")
    func forests() throws {
        let forest = try Self.train(["num_parallel_tree": "4", "subsample": "0.6", "colsample_bytree": "0.8", "num_round": "5"])
        #expect(forest.numParallelTree == 4 && forest.trees.count == 20 && forest.rounds == 5)
        // The trees of a round differ (own row and column samples).
        #expect(Set(forest.trees.prefix(4).map(\.splitConditions)).count == 4)
        // eta is divided: the first round's leaves are a quarter of a one-tree round's, on average.
        let single = try Self.train(["num_round": "1", "max_depth": "0", "max_leaves": "1"])
        let quarter = try Self.train(["num_round": "1", "max_depth": "0", "max_leaves": "1", "num_parallel_tree": "4"])
        #expect(quarter.trees.count == 4)
        for t in quarter.trees { #expect(abs(t.splitConditions[0] * 4 - single.trees[0].splitConditions[0]) <= 1e-6) }
        // Multiclass: group-major within a round (tree_info 0,0,1,1,2,2 per round).
        var classes = Self.data
        classes.labels = classes.labels.map { Float(min(2, max(0, Int($0 + 1.5)))) }
        let hp = try XGBoostHyperparameters(strings: ["num_round": "3", "objective": "multi:softprob", "num_class": "3",
                                                      "num_parallel_tree": "2", "max_depth": "3"])
        let multi = try BoostedTreesTrainer(hyperparameters: hp, threads: 1).fit(train: classes).model
        #expect(multi.treeGroups == [0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2])
        let back = try BoostedTreesModel.decode(multi.xgboostJSON())
        #expect(back.numParallelTree == 2 && back.rounds == 3 && back.treeGroups == multi.treeGroups)
        #expect(try back.predict(classes.features) == multi.predict(classes.features))
    }

    @Test("early stopping with forests keeps whole rounds of trees")
    func forestEarlyStopping() throws {
        let hp = try XGBoostHyperparameters(strings: ["num_round": "200", "num_parallel_tree": "3", "subsample": "0.7", "eta": "0.8",
                                                      "max_depth": "6", "early_stopping_rounds": "3"])
        let n = Self.data.rows
        guard case .dense(let x) = Self.data.features else { return }
        let cut = n * 3 / 4
        let train = TreeDataset(features: .dense(x.rows(0..<cut)), labels: Array(Self.data.labels[0..<cut]))
        let valid = TreeDataset(features: .dense(x.rows(cut..<n)), labels: Array(Self.data.labels[cut..<n]))
        let result = try BoostedTreesTrainer(hyperparameters: hp, threads: 1).fit(train: train, validation: valid)
        let best = try #require(result.bestIteration)
        #expect(best < 199 && result.model.trees.count == (best + 1) * 3 && result.model.rounds == best + 1)
    }

    @Test("the monotone split search equals a brute force over every threshold with the same constrained gain")
    func monotoneSplitOracle() throws {
        let hp = try XGBoostHyperparameters(strings: ["num_round": "1"])
        let trainer = BoostedTreesTrainer(hyperparameters: hp, threads: 1)
        let matrix = BinnedMatrix(Self.data.features, maxBin: 32, weights: nil, threads: 1)
        let n = Self.data.rows
        var g = [Float](repeating: 0, count: n), h = g
        trainer.computeGradients(margins: [Float](repeating: 0, count: n), dataset: Self.data, weights: nil, outputs: 1, gradients: &g, hessians: &h)
        let q = trainer.quantize(gradients: g, hessians: h, output: 0, outputs: 1, rows: n)
        let rules = SplitRules()
        let rows = Array(0..<n)
        for (constraint, bounds) in [(1, WeightBounds()), (-1, WeightBounds()), (1, WeightBounds(lower: -0.5, upper: 0.2)), (0, WeightBounds(lower: 0, upper: 1))] {
            var totalG: Int64 = 0, totalH: Int64 = 0
            for r in rows { totalG += q.pairs[2 * r]; totalH += q.pairs[2 * r + 1] }
            let (gd, hd) = (q.gradient(totalG), q.hessian(totalH))
            let rootGain = rules.gain(gd, hd, givenWeight: rules.weight(gd, hd, within: bounds))
            let gain = MonotoneGain(rules: rules, constraint: constraint, bounds: bounds, rootGain: rootGain)
            for feature in 0..<6 {
                let histogram = HistogramKernel.naive(matrix, rows: rows, pairs: q.pairs)
                let fast = histogram.withUnsafeBufferPointer { hb in
                    SplitEvaluator.best(feature: feature, histogram: hb.baseAddress!, offset: Int(matrix.histogramOffsets[feature]),
                                        bins: matrix.cuts.binCount(feature), totalG: totalG, totalH: totalH, quantization: q,
                                        minChildWeight: rules.minChildWeight, gain: gain)
                }
                let slow = SplitEvaluator.bruteForce(matrix, rows: rows, pairs: q.pairs, quantization: q, rules: rules, features: [feature],
                                                     gain: { gain.change(lg: $0, lh: $1, rg: $2, rh: $3) })
                #expect(fast == slow, "constraint \(constraint) feature \(feature)")
                if fast.isFound {
                    let wl = rules.weight(q.gradient(fast.leftG), q.hessian(fast.leftH), within: bounds)
                    let wr = rules.weight(q.gradient(fast.rightG), q.hessian(fast.rightH), within: bounds)
                    #expect(constraint == 0 || (constraint > 0 ? wl <= wr : wl >= wr))
                }
            }
        }
    }
}

import Foundation
import MLCore
import Testing
@testable import MLAlgorithms

/// Growth policies against XGBoost 3.2 on the same data: 400 rows whose features take 61
/// distinct values each, so `max_bin=256` gives one bin per value and the cuts are XGBoost's
/// exactly; the trees must then be XGBoost's node for node (fixtures from
/// `Fixtures/make_xgboost_part2_references.py`).
@Suite struct TreeGrowthPolicyTests {
    static let common = ["tree_method": "hist", "max_bin": "256", "nthread": "1", "seed": "0", "objective": "binary:logistic",
                         "eta": "0.3", "base_score": "0.5", "lambda": "1", "min_child_weight": "1", "num_round": "3"]

    static func train(_ extra: [String: String], threads: Int = 1) throws -> BoostedTreesModel {
        let hp = try XGBoostHyperparameters(strings: common.merging(extra) { _, b in b })
        let data = TreeDataset(features: .dense(try XGBoostFixtures.matrix("part2/growth_x")), labels: try XGBoostFixtures.vector("part2/growth_y"))
        return try BoostedTreesTrainer(hyperparameters: hp, threads: threads).fit(train: data, validation: nil).model
    }

    @Test("the same trees as XGBoost, node for node: ids, features, thresholds, default directions, leaf values",
          arguments: [("lossguide8", ["grow_policy": "lossguide", "max_leaves": "8", "max_depth": "0"]),
                      ("lossguide_depth3", ["grow_policy": "lossguide", "max_leaves": "16", "max_depth": "3"]),
                      ("lossguide255", ["grow_policy": "lossguide", "max_leaves": "255", "max_depth": "0"]),
                      ("depthwise_leaves5", ["max_depth": "6", "max_leaves": "5"]),
                      ("depthwise6", ["max_depth": "6"]),
                      ("monotone", ["max_depth": "4", "monotone_constraints": "(1,0,-1,0,0,0)"]),
                      ("interaction", ["max_depth": "4", "interaction_constraints": "[[0,1],[2,3,4]]"]),
                      ("parallel3", ["max_depth": "3", "num_parallel_tree": "3"])])
    func sameTrees(variant: String, extra: [String: String]) throws {
        let ours = try Self.train(extra)
        let theirs = try BoostedTreesModel.load(path: try XGBoostFixtures.directory.appendingPathComponent("part2/growth_\(variant).json").path)
        #expect(ours.trees.count == theirs.trees.count)
        for (t, (a, b)) in zip(ours.trees, theirs.trees).enumerated() {
            #expect(a.leftChildren == b.leftChildren && a.rightChildren == b.rightChildren, "\(variant) tree \(t): shape")
            #expect(a.splitIndices.indices.filter { !a.isLeaf($0) }.map { a.splitIndices[$0] }
                    == b.splitIndices.indices.filter { !b.isLeaf($0) }.map { b.splitIndices[$0] }, "\(variant) tree \(t): features")
            for node in 0..<min(a.nodeCount, b.nodeCount) {
                let (x, y) = (a.splitConditions[node], b.splitConditions[node])
                #expect(abs(x - y) <= 1e-5 * max(1, abs(y)), "\(variant) tree \(t) node \(node): \(x) vs \(y)")
                if !a.isLeaf(node) { #expect(a.defaultLeft[node] == b.defaultLeft[node], "\(variant) tree \(t) node \(node): default") }
            }
        }
        let x = try XGBoostFixtures.matrix("part2/growth_x")
        let margins = try XGBoostFixtures.vector("part2/growth_\(variant)_margin")
        for (a, b) in zip(try ours.margins(.dense(x)), margins) { #expect(abs(a - b) <= 1e-5, "\(variant) margin \(a) vs \(b)") }
    }

    @Test("leaf and depth limits hold; lossguide trees do not depend on the thread count")
    func limits() throws {
        let lossguide = ["grow_policy": "lossguide", "max_leaves": "6", "max_depth": "0"]
        let one = try Self.train(lossguide, threads: 1), two = try Self.train(lossguide, threads: 2)
        #expect(one == two)
        for tree in one.trees { #expect((0..<tree.nodeCount).filter(tree.isLeaf).count <= 6) }
        let guarded = try Self.train(["grow_policy": "lossguide", "max_leaves": "64", "max_depth": "2"])
        for tree in guarded.trees { #expect(tree.depth <= 2) }
        let unlimited = try Self.train(["grow_policy": "lossguide", "max_depth": "0"])
        #expect(unlimited.trees.allSatisfy { (0..<$0.nodeCount).filter($0.isLeaf).count > 8 })
    }
}

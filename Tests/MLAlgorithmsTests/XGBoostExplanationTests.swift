import Foundation
import MLCore
import Testing
@testable import MLAlgorithms

/// Feature importance and TreeSHAP contributions against XGBoost 3.2's `get_score` and
/// `predict(pred_contribs=True)` on the same models (fixtures from
/// `Fixtures/make_xgboost_part2_references.py`).
@Suite struct XGBoostExplanationTests {
    static let models = ["model_binary", "model_softprob", "model_regression_missing", "model_poisson", "model_tiny"]

    @Test("importance: weight, gain, cover, total_gain, total_cover equal XGBoost's get_score; unused features absent", arguments: models)
    func importance(_ name: String) throws {
        let model = try BoostedTreesModel.load(path: try XGBoostFixtures.directory.appendingPathComponent("\(name).json").path)
        let reference = try #require(try XGBoostFixtures.json("part2/importance.json")[name] as? [String: [String: Double]])
        for type in FeatureImportanceType.allCases {
            let expected = try #require(reference[type.rawValue])
            let ours = model.featureImportance(type)
            #expect(Set(ours.map { "f\($0.feature)" }) == Set(expected.keys), "\(name) \(type)")
            for (feature, value) in ours {
                let theirs = try #require(expected["f\(feature)"])
                #expect(abs(value - theirs) <= 1e-6 * max(1, abs(theirs)), "\(name) \(type) f\(feature): \(value) vs \(theirs)")
            }
        }
        // The JSON written beside a trained model reads back as the same numbers.
        let json = try #require(try JSONSerialization.jsonObject(with: Data(model.featureImportanceJSON().utf8)) as? [String: [String: Double]])
        #expect(json["weight"] == reference["weight"])
    }

    @Test("contributions: exact TreeSHAP equal to XGBoost's pred_contribs within 1e-5, bias last; each row adds up to the margin", arguments: models)
    func contributions(_ name: String) throws {
        let model = try BoostedTreesModel.load(path: try XGBoostFixtures.directory.appendingPathComponent("\(name).json").path)
        let x = try XGBoostFixtures.matrix(name + "_x")
        let expected = try XGBoostFixtures.matrix("part2/\(name)_contribs").elements
        let ours = try model.contributions(.dense(x), threads: 2)
        #expect(ours.count == expected.count)
        var worst: Float = 0
        for (a, b) in zip(ours, expected) { worst = max(worst, abs(a - b) / max(1, abs(b))) }
        #expect(worst <= 1e-5, "\(name): worst difference \(worst)")
        let margins = try model.margins(.dense(x))
        let width = model.featureCount + 1
        for r in 0..<margins.count {
            let sum = ours[(r * width)..<((r + 1) * width)].reduce(0, +)
            #expect(abs(sum - margins[r]) <= 1e-4 * max(1, abs(margins[r])), "\(name) row/class \(r)")
        }
        // Sparse rows (absent = missing) explain the same as dense rows with NaN.
        var offsets = [0], indices: [Int32] = [], values: [Float] = []
        for r in 0..<x.rows {
            for c in 0..<x.columns where !x[r, c].isNaN {
                indices.append(Int32(c))
                values.append(x[r, c])
            }
            offsets.append(indices.count)
        }
        let sparse = try SparseMatrix(rows: x.rows, columns: x.columns, rowOffsets: offsets, columnIndices: indices, values: values)
        #expect(try model.contributions(.sparse(sparse)) == ours)
    }

    @Test("contributions by brute force: on a depth-2 model, Shapley values from all 2^F coalitions (expectations by cover) equal TreeSHAP's")
    func bruteForceShapley() throws {
        let model = try BoostedTreesModel.load(path: try XGBoostFixtures.directory.appendingPathComponent("model_tiny.json").path)
        let x = try XGBoostFixtures.matrix("model_tiny_x")
        let ours = try model.contributions(.dense(x))
        let used = Array(Set(model.trees.flatMap { t in (0..<t.nodeCount).filter { !t.isLeaf($0) }.map { Int(t.splitIndices[$0]) } })).sorted()
        let width = model.featureCount + 1
        for r in 0..<min(x.rows, 10) {
            let row = (0..<x.columns).map { x[r, $0] }
            // v(S): each tree's expectation when only the features in S are known (cover-weighted
            // average over the unknown ones), summed over trees.
            func value(_ known: Set<Int>) -> Double {
                model.trees.map { expectation($0, node: 0, row: row, known: known) }.reduce(0, +)
            }
            let m = used.count
            for (j, feature) in used.enumerated() {
                var phi = 0.0
                let others = used.enumerated().filter { $0.offset != j }.map(\.element)
                for mask in 0..<(1 << others.count) {
                    let subset = Set(others.enumerated().filter { mask & (1 << $0.offset) != 0 }.map(\.element))
                    let s = subset.count
                    let weight = factorial(s) * factorial(m - s - 1) / factorial(m)
                    phi += weight * (value(subset.union([feature])) - value(subset))
                }
                #expect(abs(Double(ours[r * width + feature]) - phi) <= 1e-5, "row \(r) f\(feature): \(ours[r * width + feature]) vs \(phi)")
            }
        }
    }

    private func factorial(_ n: Int) -> Double { n <= 1 ? 1 : (2...n).reduce(1.0) { $0 * Double($1) } }

    private func expectation(_ tree: RegressionTree, node: Int, row: [Float], known: Set<Int>) -> Double {
        if tree.isLeaf(node) { return Double(tree.splitConditions[node]) }
        let f = Int(tree.splitIndices[node])
        let l = Int(tree.leftChildren[node]), r = Int(tree.rightChildren[node])
        if known.contains(f) {
            let v = row[f]
            let left = v.isNaN ? tree.defaultLeft[node] : v < tree.splitConditions[node]
            return expectation(tree, node: left ? l : r, row: row, known: known)
        }
        let hl = Double(tree.sumHessians[l]), hr = Double(tree.sumHessians[r])
        return (hl * expectation(tree, node: l, row: row, known: known) + hr * expectation(tree, node: r, row: row, known: known)) / (hl + hr)
    }
}

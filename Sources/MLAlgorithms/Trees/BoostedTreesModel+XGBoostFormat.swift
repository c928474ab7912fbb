import Foundation
import MLCore

/// XGBoost's JSON model format (dmlc/xgboost `doc/model.schema`), written so that
/// `xgboost.Booster(model_file=…)` loads it, and read back from XGBoost's JSON or UBJSON files.
///
/// Written: `version` [3, 2, 0]; every `*_param` number as a string, as XGBoost writes them;
/// floats in their shortest round-trip form, so XGBoost reads exactly our Float32 values. The
/// `base_score` of single-output models is a bare number (what XGBoost 1.x–3.x all read);
/// multiclass models carry one margin per class as XGBoost 3 does (`"[a,b,…]"`).
extension BoostedTreesModel {
    /// The file name SageMaker's XGBoost container uses in the model directory.
    public static let fileName = "xgboost-model"

    /// The model as XGBoost JSON.
    public func xgboostJSON() -> Data {
        var s = "{\"learner\":{\"attributes\":{"
        var attributes: [String] = []
        if let bestIteration { attributes.append("\"best_iteration\":\"\(bestIteration)\"") }
        if let bestScore { attributes.append("\"best_score\":\"\(bestScore)\"") }
        s += attributes.joined(separator: ",")
        s += "},\"feature_names\":[],\"feature_types\":[],\"gradient_booster\":{\"model\":{"
        s += "\"gbtree_model_param\":{\"num_parallel_tree\":\"\(numParallelTree)\",\"num_trees\":\"\(trees.count)\"},"
        s += "\"iteration_indptr\":[" + (0...rounds).map { String($0 * treesPerRound) }.joined(separator: ",") + "],"
        s += "\"tree_info\":[" + treeGroups.map(String.init).joined(separator: ",") + "],"
        s += "\"trees\":[" + trees.enumerated().map { Self.treeJSON($1, id: $0, features: featureCount) }.joined(separator: ",") + "]"
        s += "},\"name\":\"gbtree\"},\"learner_model_param\":{"
        let base = objective.isMulticlass ? "[" + baseScores.map { Self.number(Float($0)) }.joined(separator: ",") + "]"
            : Self.number(Float(baseScores.first ?? 0.5))
        s += "\"base_score\":\"\(base)\",\"boost_from_average\":\"1\",\"num_class\":\"\(objective.isMulticlass ? numClass : 0)\","
        s += "\"num_feature\":\"\(featureCount)\",\"num_target\":\"1\"},"
        s += "\"objective\":" + objectiveJSON
        s += "},\"version\":[3,2,0]}"
        return Data(s.utf8)
    }

    var objectiveJSON: String {
        let name = "\"name\":\"\(objective.name)\""
        switch objective {
        case .squaredError, .squaredLogError, .logisticRegression, .binaryLogistic, .binaryLogitRaw:
            return "{\(name),\"reg_loss_param\":{\"scale_pos_weight\":\"1\"}}"
        case .pseudoHuber:
            return "{\(name),\"pseudo_huber_param\":{\"huber_slope\":\"\(huberSlope)\"}}"
        case .poisson:
            return "{\(name),\"poisson_regression_param\":{\"max_delta_step\":\"0.7\"}}"
        case .tweedie(let rho):
            return "{\(name),\"tweedie_regression_param\":{\"tweedie_variance_power\":\"\(rho)\"}}"
        case .multiSoftmax, .multiSoftprob:
            return "{\(name),\"softmax_multiclass_param\":{\"num_class\":\"\(numClass)\"}}"
        case .gamma, .absoluteError, .binaryHinge:
            return "{\(name)}"
        }
    }

    static func number(_ v: Float) -> String {
        guard v.isFinite else { return v.isNaN ? "NaN" : (v > 0 ? "3.4028235E38" : "-3.4028235E38") }
        return v.description
    }

    static func treeJSON(_ t: RegressionTree, id: Int, features: Int) -> String {
        let n = t.nodeCount
        func list<T>(_ values: [T], _ f: (T) -> String) -> String { "[" + values.map(f).joined(separator: ",") + "]" }
        var s = "{\"base_weights\":" + list(t.baseWeights, number)
        s += ",\"categories\":[],\"categories_nodes\":[],\"categories_segments\":[],\"categories_sizes\":[]"
        s += ",\"default_left\":" + list(t.defaultLeft) { $0 ? "1" : "0" }
        s += ",\"id\":\(id)"
        s += ",\"left_children\":" + list(t.leftChildren) { String($0) }
        s += ",\"loss_changes\":" + list(t.lossChanges, number)
        s += ",\"parents\":" + list(t.parents) { $0 < 0 ? "2147483647" : String($0) }
        s += ",\"right_children\":" + list(t.rightChildren) { String($0) }
        s += ",\"split_conditions\":" + list(t.splitConditions, number)
        s += ",\"split_indices\":" + list(t.splitIndices) { String($0) }
        s += ",\"split_type\":" + list(Array(repeating: 0, count: n)) { String($0) }
        s += ",\"sum_hessian\":" + list(t.sumHessians, number)
        s += ",\"tree_param\":{\"num_deleted\":\"0\",\"num_feature\":\"\(features)\",\"num_nodes\":\"\(n)\",\"size_leaf_vector\":\"1\"}}"
        return s
    }

    /// Writes `xgboost-model` (JSON; or `fileName`, e.g. a k-fold model's `xgboost-model-3`)
    /// into `directory` atomically.
    public func save(to directory: String, fileName: String = Self.fileName) throws(ArtifactError) {
        let path = (directory as NSString).appendingPathComponent(fileName)
        do {
            try xgboostJSON().write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw ArtifactError.io(path: path, reason: error.localizedDescription)
        }
    }

    /// Reads an XGBoost model file: JSON (`{` first) or UBJSON, whichever the bytes are.
    public static func load(path: String) throws(ModelFormatError) -> BoostedTreesModel {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ModelFormatError("\(path): cannot be read: \(error.localizedDescription)")
        }
        do {
            return try decode(data)
        } catch {
            throw ModelFormatError("\(path): \(error.message)")
        }
    }

    /// Decodes XGBoost JSON or UBJSON model bytes.
    public static func decode(_ data: Data) throws(ModelFormatError) -> BoostedTreesModel {
        // JSON text opens with `{` and then a quoted key (or `}`); UBJSON's keys start with a length marker.
        let text = data.lazy.filter { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }.prefix(2)
        let isJSON = text.first == UInt8(ascii: "{") && (text.dropFirst().first == UInt8(ascii: "\"") || text.dropFirst().first == UInt8(ascii: "}"))
        let document = isJSON ? try JSONValue.parse(json: data) : try UBJSONDecoder.decode(data)
        return try BoostedTreesModel(xgboost: document)
    }

    /// A model from XGBoost's JSON document.
    public init(xgboost document: JSONValue) throws(ModelFormatError) {
        guard let learner = document["learner"] else { throw ModelFormatError("not an XGBoost model: no 'learner'") }
        guard let booster = learner["gradient_booster"], let name = booster["name"]?.string else {
            throw ModelFormatError("no learner.gradient_booster.name")
        }
        guard name == "gbtree" else { throw ModelFormatError("booster '\(name)' is not supported: MLCore reads gbtree models") }
        guard let objectiveName = learner["objective"]?["name"]?.string else { throw ModelFormatError("no learner.objective.name") }
        guard var objective = TreeObjective(name: objectiveName) else {
            throw ModelFormatError("objective '\(objectiveName)' is not supported by MLCore's trees")
        }
        if case .tweedie = objective, let rho = learner["objective"]?["tweedie_regression_param"]?["tweedie_variance_power"]?.number {
            objective = .tweedie(variancePower: rho)
        }
        guard let parameters = learner["learner_model_param"], let featureCount = parameters["num_feature"]?.number,
              featureCount >= 0, featureCount < 1e9 else {
            throw ModelFormatError("no valid learner_model_param.num_feature")
        }
        let classes = Int(parameters["num_class"]?.number ?? 0)
        guard !objective.isMulticlass || classes >= 2 else { throw ModelFormatError("\(objectiveName) with num_class \(classes)") }
        var scores: [Double] = [0.5]
        if let text = parameters["base_score"]?.string {
            let trimmed = text.trimmingCharacters(in: CharacterSet(charactersIn: "[] "))
            let values = trimmed.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else { throw ModelFormatError("base_score '\(text)' is not a number or a list of numbers") }
            scores = values.compactMap { $0 }
        } else if let v = parameters["base_score"]?.number {
            scores = [v]
        }
        guard let model = booster["model"], let treeList = model["trees"]?.array else { throw ModelFormatError("no gradient_booster.model.trees") }
        let info = model["tree_info"]?.array?.compactMap { $0.number.map(Int.init) } ?? []
        guard info.count == treeList.count else { throw ModelFormatError("tree_info has \(info.count) entries for \(treeList.count) trees") }
        let outputs = objective.isMulticlass ? classes : 1
        if let bad = info.first(where: { $0 < 0 || $0 >= outputs }) { throw ModelFormatError("tree_info names output \(bad) of \(outputs)") }
        var trees: [RegressionTree] = []
        for (i, t) in treeList.enumerated() {
            trees.append(try Self.tree(t, index: i, featureCount: Int(featureCount)))
        }
        self.init(objective: objective, numClass: objective.isMulticlass ? classes : 1, featureCount: Int(featureCount),
                  baseScores: objective.isMulticlass && scores.count == 1 ? Array(repeating: scores[0], count: classes) : scores,
                  trees: trees, treeGroups: info)
        if let parallel = model["gbtree_model_param"]?["num_parallel_tree"]?.number {
            guard parallel >= 1, parallel <= 1e6, parallel == parallel.rounded(), treeList.count % (outputs * Int(parallel)) == 0 else {
                throw ModelFormatError("num_parallel_tree \(parallel) does not divide \(treeList.count) trees of \(outputs) outputs into rounds")
            }
            numParallelTree = Int(parallel)
        }
        if let slope = learner["objective"]?["pseudo_huber_param"]?["huber_slope"]?.number { huberSlope = slope }
        if let best = learner["attributes"]?["best_iteration"]?.number { bestIteration = Int(best) }
        if let score = learner["attributes"]?["best_score"]?.number { bestScore = score }
    }

    static func tree(_ t: JSONValue, index: Int, featureCount: Int) throws(ModelFormatError) -> RegressionTree {
        func ints(_ key: String) throws(ModelFormatError) -> [Int32] {
            guard let a = t[key]?.array else { throw ModelFormatError("tree \(index): no '\(key)'") }
            var out: [Int32] = []
            for v in a {
                guard let x = v.number, x == x.rounded(), abs(x) <= Double(Int32.max) else { throw ModelFormatError("tree \(index): '\(key)' has a non-integer") }
                out.append(Int32(x))
            }
            return out
        }
        func floats(_ key: String, required: Bool = true, count: Int) throws(ModelFormatError) -> [Float] {
            guard let a = t[key]?.array else {
                if required { throw ModelFormatError("tree \(index): no '\(key)'") }
                return [Float](repeating: 0, count: count)
            }
            return a.map { Float($0.number ?? .nan) }
        }
        var tree = RegressionTree()
        tree.leftChildren = try ints("left_children")
        let n = tree.leftChildren.count
        tree.rightChildren = try ints("right_children")
        tree.splitIndices = try ints("split_indices")
        tree.splitConditions = try floats("split_conditions", count: n)
        tree.defaultLeft = try ints("default_left").map { $0 != 0 }
        tree.parents = (try? ints("parents")).map { $0.map { $0 == Int32.max ? -1 : $0 } } ?? [Int32](repeating: -1, count: n)
        tree.baseWeights = try floats("base_weights", required: false, count: n)
        tree.lossChanges = try floats("loss_changes", required: false, count: n)
        tree.sumHessians = try floats("sum_hessian", required: false, count: n)
        tree.splitBins = []
        let counts = [tree.rightChildren.count, tree.splitIndices.count, tree.splitConditions.count, tree.defaultLeft.count,
                      tree.parents.count, tree.baseWeights.count, tree.lossChanges.count, tree.sumHessians.count]
        guard n > 0, counts.allSatisfy({ $0 == n }) else { throw ModelFormatError("tree \(index): node arrays of different lengths or empty") }
        if let types = try? ints("split_type"), types.contains(where: { $0 != 0 }) {
            throw ModelFormatError("tree \(index): categorical splits are not supported")
        }
        // Children must come after their parent (as XGBoost numbers them) so every walk ends.
        for i in 0..<n {
            let l = Int(tree.leftChildren[i]), r = Int(tree.rightChildren[i])
            if l == -1 && r == -1 { continue }
            guard l > i, r > i, l < n, r < n else { throw ModelFormatError("tree \(index): node \(i) has invalid children \(l), \(r)") }
            guard tree.splitIndices[i] >= 0, Int(tree.splitIndices[i]) < featureCount else {
                throw ModelFormatError("tree \(index): node \(i) splits on feature \(tree.splitIndices[i]) of \(featureCount)")
            }
        }
        return tree
    }
}

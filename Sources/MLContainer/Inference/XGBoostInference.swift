import Foundation
import MLAlgorithms
import MLCore

/// Boosted trees as SageMaker's XGBoost container serves them (reference §4.4 "Inference"):
/// requests as CSV (empty fields are missing values), `text/libsvm`, RecordIO-protobuf (and the
/// other formats every MLCore model reads); CSV responses by default.
///
/// Without `SAGEMAKER_INFERENCE_OUTPUT` a response carries `score` (the prediction; a list of
/// class probabilities for multi:softprob). With it, the listed outputs in the listed order —
/// `predicted_label`, `labels`, `probability`, `probabilities`, `raw_score`, `raw_scores`,
/// `predicted_score` — computed as the container computes them; an output the objective does not
/// have is NaN (`null` in JSON, `nan` in CSV), and a list is one quoted CSV cell.
///
/// A model directory of several models (k-fold's `xgboost-model-0` …) is served as an ensemble,
/// as the container does unless `SAGEMAKER_INFERENCE_ENSEMBLE=false`: each row's predictions are
/// the models' mean — the majority vote for multi:softmax and binary:hinge, whose predictions are
/// classes (a tie goes to the smaller class, as `scipy.stats.mode`).
public struct XGBoostInference: InferenceModel {
    public static let algorithm = "xgboost"
    public static let requestFormats: [RequestFormat] = [.csv, .libsvm, .recordIOProtobuf, .json, .jsonLines, .npy]
    public static let defaultResponseFormat = ResponseFormat.csv
    public static let acceptsMissingValues = true

    /// Every selectable output name: the container's seven, then MLCore's `contributions` (each
    /// row's TreeSHAP values, XGBoost's `pred_contribs`: one per feature and the bias last, class
    /// after class for multiclass models — `num_class × (features + 1)` values in one list).
    public static let selectableOutputs = ["predicted_label", "labels", "probability", "probabilities", "raw_score", "raw_scores", "predicted_score",
                                           "contributions"]

    /// The (first) model: its features, objective and classes are every model's.
    public let model: BoostedTreesModel
    /// Every model answering, `[model]` unless an ensemble is served.
    public let models: [BoostedTreesModel]
    /// `SAGEMAKER_INFERENCE_OUTPUT`'s names, lower-cased, in order; `nil` when it is unset.
    public let selected: [String]?
    /// `SAGEMAKER_BATCH=true` without selected outputs: the container's batch transform answer,
    /// one Python `str()` of each prediction per line whatever the Accept (see ``batchLines(_:width:)``).
    public let answersBatchLines: Bool

    public init(model: BoostedTreesModel, selectedOutputs: String? = nil, isBatch: Bool = false) throws(ContainerError) {
        try self.init(models: [model], selectedOutputs: selectedOutputs, isBatch: isBatch)
    }

    /// An ensemble of `models` (one or more), which must agree on features, objective and classes.
    public init(models: [BoostedTreesModel], selectedOutputs: String? = nil, isBatch: Bool = false) throws(ContainerError) {
        guard let model = models.first else { throw .client("no model to serve") }
        for (i, other) in models.enumerated().dropFirst()
        where other.featureCount != model.featureCount || other.objective != model.objective || other.numClass != model.numClass {
            throw .client("the ensemble's model \(i + 1) (\(other.featureCount) features, \(other.objective.name)) differs from the first "
                          + "(\(model.featureCount) features, \(model.objective.name)); an ensemble's models must agree")
        }
        self.model = model
        self.models = models
        self.answersBatchLines = isBatch && selectedOutputs == nil
        if let selectedOutputs {
            let names = selectedOutputs.replacingOccurrences(of: " ", with: "").lowercased().split(separator: ",").map(String.init)
            if let unknown = names.first(where: { !Self.selectableOutputs.contains($0) }) {
                throw .client("SAGEMAKER_INFERENCE_OUTPUT names '\(unknown)'; the selectable outputs are " + Self.selectableOutputs.joined(separator: ", "))
            }
            guard !names.isEmpty else { throw .client("SAGEMAKER_INFERENCE_OUTPUT is set but names no output") }
            selected = names
        } else {
            selected = nil
        }
    }

    /// Loads the model directory's models (XGBoost JSON or UBJSON, ours or XGBoost's): every
    /// regular file not starting with "." is a model, as the container takes them. Several are
    /// served as an ensemble unless `SAGEMAKER_INFERENCE_ENSEMBLE` is other than `true` (any
    /// case; unset is `true`); then only one answers — `xgboost-model` when present, else the
    /// first by name, numbers in order (`xgboost-model-0`; the container takes whichever file
    /// the directory lists first).
    public init(modelDirectory: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ContainerError) {
        let ensemble = environment["SAGEMAKER_INFERENCE_ENSEMBLE"].map { $0.lowercased() == "true" } ?? true
        let paths = try Self.modelFiles(in: modelDirectory, ensemble: ensemble)
        var models: [BoostedTreesModel] = []
        for path in paths {
            do {
                models.append(try BoostedTreesModel.load(path: path))
            } catch {
                throw .client("cannot load the XGBoost model: \(error.message)")
            }
        }
        try self.init(models: models, selectedOutputs: environment["SAGEMAKER_INFERENCE_OUTPUT"],
                      isBatch: environment["SAGEMAKER_BATCH"]?.lowercased() == "true")
    }

    /// The model files to load, in name order (numbers compared as numbers).
    static func modelFiles(in directory: String, ensemble: Bool) throws(ContainerError) -> [String] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { !$0.hasPrefix(".") }
            .filter { name in
                var isDirectory: ObjCBool = false
                return FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent(name), isDirectory: &isDirectory)
                    && !isDirectory.boolValue
            }
            .sorted { $0.compare($1, options: .numeric) == .orderedAscending }
        guard let first = names.first else { throw .client("no model file in \(directory)") }
        let chosen = ensemble ? names : [names.contains(BoostedTreesModel.fileName) ? BoostedTreesModel.fileName : first]
        return chosen.map { (directory as NSString).appendingPathComponent($0) }
    }

    /// The most frequent value; of equally frequent ones the smallest (`scipy.stats.mode`).
    static func vote(_ values: [Float]) -> Float {
        var counts: [Float: Int] = [:]
        for v in values { counts[v, default: 0] += 1 }
        return counts.max { a, b in a.value < b.value || (a.value == b.value && a.key > b.key) }?.key ?? .nan
    }

    /// Each row's prediction (``BoostedTreesModel/predictionWidth`` values): the model's, or
    /// the ensemble's combination of its models'.
    public func predict(_ x: Features) throws(TreeDataError) -> [Float] {
        guard models.count > 1 else { return try model.predict(x) }
        var all: [[Float]] = []
        for m in models { all.append(try m.predict(x)) }
        if model.objective == .multiSoftmax || model.objective == .binaryHinge {
            return all[0].indices.map { i in Self.vote(all.map { $0[i] }) }
        }
        return Self.mean(all)
    }

    /// Each row's TreeSHAP values; for an ensemble the mean of its models' (the contributions
    /// of the mean margin).
    public func contributions(_ x: Features) throws(TreeDataError) -> [Float] {
        var all: [[Float]] = []
        for m in models { all.append(try m.contributions(x)) }
        return all.count == 1 ? all[0] : Self.mean(all)
    }

    static func mean(_ all: [[Float]]) -> [Float] {
        all[0].indices.map { i in Float(all.reduce(0.0) { $0 + Double($1[i]) } / Double(all.count)) }
    }

    public var featureCount: Int { model.featureCount }

    public func respond(dense x: UnsafePointer<Float>, rows: Int, as format: ResponseFormat, into out: inout [UInt8]) throws(InvocationFailure) {
        let matrix: Matrix<Float>
        do {
            matrix = try Matrix(rows: rows, columns: featureCount, elements: Array(UnsafeBufferPointer(start: x, count: rows * featureCount)))
        } catch {
            throw InvocationFailure(500, "prediction failed: \(error)")
        }
        try encode(.dense(matrix), rows: rows, as: format, into: &out)
    }

    public func respond(sparse x: SparseMatrix<Float>, as format: ResponseFormat, into out: inout [UInt8]) throws(InvocationFailure) {
        var x = x
        x.widen(toColumns: featureCount)
        try encode(.sparse(x), rows: x.rows, as: format, into: &out)
    }

    private func encode(_ x: Features, rows: Int, as format: ResponseFormat, into out: inout [UInt8]) throws(InvocationFailure) {
        let predictions: [Float]
        do {
            predictions = try predict(x)
        } catch {
            throw InvocationFailure(400, error.message)
        }
        let width = model.predictionWidth
        if answersBatchLines {
            out.append(contentsOf: Self.batchLines(predictions, width: model.objective == .multiSoftprob ? width : 1).utf8)
            return
        }
        guard let selected else {
            try predictions.withUnsafeBufferPointer { p throws(InvocationFailure) in
                // invariant: rows ≥ 1, so predictions are non-empty
                try PredictionEncoder.encode(rows: rows, fields: [
                    PredictionField(name: "score", width: width, isList: model.objective == .multiSoftprob, values: p.baseAddress!),
                ], as: format, into: &out)
            }
            return
        }
        var columns: [(values: [Float], width: Int, isList: Bool, isInteger: Bool)] = []
        for name in selected {
            if name == "contributions" {
                do {
                    let values = try contributions(x)
                    columns.append((values, model.outputs * (model.featureCount + 1), true, false))
                } catch {
                    throw InvocationFailure(400, error.message)
                }
            } else {
                columns.append(selectedColumn(name, predictions: predictions, rows: rows))
            }
        }
        try Self.withFields(columns, names: selected, index: 0, collected: []) { fields throws(InvocationFailure) in
            try PredictionEncoder.encode(rows: rows, fields: fields, as: format, into: &out)
        }
    }

    /// The XGBoost container's batch transform body: `"\n".join(map(str, predictions.tolist()))`
    /// and a final newline — each float32 prediction widened to a Python float and printed as
    /// Python's `repr` does (the shortest text that reads back to the same double, which is
    /// Swift's `Double.description` too), a softprob row as a Python list `[0.1, 0.9]`.
    static func batchLines(_ predictions: [Float], width: Int) -> String {
        var text = ""
        let rows = predictions.count / max(1, width)
        for i in 0..<rows {
            if width == 1 {
                text += Double(predictions[i]).description
            } else {
                text += "[" + predictions[(i * width)..<((i + 1) * width)].map { Double($0).description }.joined(separator: ", ") + "]"
            }
            text += "\n"
        }
        return text
    }

    /// Pointers to each column's values, held for the duration of `body`.
    private static func withFields(_ columns: [(values: [Float], width: Int, isList: Bool, isInteger: Bool)], names: [String], index: Int,
                                   collected: [PredictionField], _ body: ([PredictionField]) throws(InvocationFailure) -> Void) throws(InvocationFailure) {
        if index == columns.count { return try body(collected) }
        let column = columns[index]
        try column.values.withUnsafeBufferPointer { p throws(InvocationFailure) in
            // invariant: every column has rows × width ≥ 1 values
            let field = PredictionField(name: names[index], width: column.width, isList: column.isList, isInteger: column.isInteger,
                                        csvQuotedList: true, values: p.baseAddress!)
            try withFields(columns, names: names, index: index + 1, collected: collected + [field], body)
        }
    }

    /// One selectable output for every row, as the container's serve_utils computes it.
    func selectedColumn(_ name: String, predictions p: [Float], rows: Int) -> (values: [Float], width: Int, isList: Bool, isInteger: Bool) {
        let objective = model.objective, k = model.numClass
        let nan = (values: [Float](repeating: .nan, count: rows), width: 1, isList: false, isInteger: false)
        let valid: [String] = switch objective {
        case .binaryLogistic: ["predicted_label", "labels", "probability", "probabilities", "raw_score", "raw_scores"]
        case .binaryLogitRaw, .binaryHinge, .multiSoftmax: ["predicted_label", "labels", "raw_score", "raw_scores"]
        case .multiSoftprob: ["predicted_label", "labels", "probability", "probabilities", "raw_score", "raw_scores"]
        case .squaredError, .logisticRegression, .gamma, .tweedie: ["predicted_score"]
        default: []
        }
        guard valid.contains(name) else { return nan }
        let softprob = objective == .multiSoftprob
        func row(_ i: Int) -> ArraySlice<Float> { softprob ? p[(i * k)..<((i + 1) * k)] : p[i...i] }
        switch name {
        case "predicted_label":
            return ((0..<rows).map { i in
                switch objective {
                case .binaryLogistic: p[i] > 0.5 ? 1 : 0
                case .binaryLogitRaw: p[i] > 0 ? 1 : 0
                case .multiSoftprob: Float(TreeMetric.argmax(row(i)))
                default: p[i]
                }
            }, 1, false, objective != .binaryHinge && objective != .multiSoftmax)
        case "labels":
            let labels = objective.isBinary ? [Float(0), 1] : (0..<k).map(Float.init)
            return (Array((0..<rows).map { _ in labels }.joined()), labels.count, true, true)
        case "probability", "raw_score", "predicted_score":
            if softprob { return ((0..<rows).map { row($0).max() ?? .nan }, 1, false, false) }
            return ((0..<rows).map { p[$0] }, 1, false, false)
        case "probabilities", "raw_scores":
            if softprob { return (p, k, true, false) }
            return (Array((0..<rows).map { [1 - p[$0], p[$0]] }.joined()), 2, true, false)
        default:
            return nan
        }
    }
}

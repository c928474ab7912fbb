import Foundation
import MLAlgorithms
import MLCore

/// k-fold cross-validation as SageMaker's XGBoost container runs it for the hidden `_kfold` and
/// `_num_cv_round` (Autopilot's): train and validation read into one data set, split by
/// ``CrossValidationFolds`` (stratified for classification), one model per fold trained on the
/// other folds, each round's metrics printed for the original train and validation channels (as
/// the container's watchlist does), a summary line of the fold means after every repeat, and
/// the models written as `xgboost-model-0` … `xgboost-model-<k·r − 1>` (no model on all data),
/// which `serve` answers with as an ensemble.
///
/// Beyond the container: the folds are seeded (`seed`), so a job is reproducible; each fold
/// checkpoints under `model-<i>` in the checkpoint directory and a restarted job resumes where it
/// stopped; the out-of-fold metrics (each row predicted by the models that did not train on it —
/// the honest estimate, which the container's lines are not) are logged and written with the
/// out-of-fold predictions; a job without a validation channel prints train lines only (the
/// container fails at its summary line).
extension XGBoostJob {
    func runCrossValidation(plan: Plan, folds k: Int, train: TreeDataset, validation: TreeDataset?, threads: Int,
                            timings: inout TrainingTimings, cancellation: CancellationFlag?) throws(ContainerError) {
        let log = output.line
        let hp = plan.hyperparameters
        var data = train
        if let validation {
            data = train.appending(validation)
            log("Read both train and validation data into one data set")
        }
        let repeats = hp.numCVRound
        log("Run \(repeats)-round of \(k)-fold cross validation with \(data.rows) rows")
        // The container stratifies when num_class is set or the objective is binary:*.
        let stratified = hp.objective.isMulticlass || hp.objective.isBinary
        let heldOut: [[Int]]
        do {
            heldOut = try CrossValidationFolds.split(labels: data.labels, folds: k, repeats: repeats, stratified: stratified, seed: hp.seed)
        } catch {
            throw .client(error.message)
        }
        var models: [BoostedTreesModel] = []
        var lastEvaluations: [RoundEvaluation] = []
        // Each row's predictions by the models that held it out (one per repeat): class
        // probabilities for multiclass objectives, the prediction otherwise.
        var outOfFold = [[Float]](repeating: [], count: data.rows)
        let width = hp.objective.isMulticlass ? hp.numClass : 1
        for (index, held) in heldOut.enumerated() {
            if cancellation?.isCancelled == true { break }
            log("Train cross validation fold \(index % k + 1)" + (repeats > 1 ? " of round \(index / k + 1)" : ""))
            var inFold = [Bool](repeating: true, count: data.rows)
            for row in held { inFold[row] = false }
            let foldTrain = data.gathering(rows: (0..<data.rows).filter { inFold[$0] })
            let store = Self.checkpointStore(plan: plan, hyperparameters: hp, rows: data.rows, features: data.features.columns,
                                             subdirectory: "model-\(index)")
            let result = try trainModel(hp, on: foldTrain, validation: validation, trainMonitor: train, store: store,
                                        threads: threads, timings: &timings, cancellation: cancellation)
            if result.cancelled {
                try store.save(result.model.xgboostJSON(), epoch: result.model.rounds, batch: 0)
                log("Stopped in fold \(index + 1) of \(heldOut.count) after round \(result.model.rounds); checkpoints are in \(plan.checkpointDirectory)")
                if hp.saveModelOnTermination {
                    try writeFoldModels(models + [result.model], log: log)
                } else {
                    log("save_model_on_termination is false: no model written")
                }
                return
            }
            models.append(result.model)
            if let last = result.history.last { lastEvaluations.append(last) }
            let predictions: [Float]
            do {
                var probabilities = result.model
                if hp.objective == .multiSoftmax { probabilities.objective = .multiSoftprob }
                predictions = try probabilities.predict(data.gathering(rows: held).features, threads: threads)
            } catch {
                throw .algorithm("out-of-fold prediction failed: \(error.message)")
            }
            for (j, row) in held.enumerated() { outOfFold[row] += predictions[(j * width)..<((j + 1) * width)] }
            if index % k == k - 1 {
                log("The metrics of round \(index / k + 1) cross validation")
                output.line(Self.crossValidationLine(numRound: hp.numRound, evaluations: Array(lastEvaluations.suffix(k))))
            }
        }
        if repeats > 1 {
            log("The overall metrics of \(repeats)-round cross validation")
            output.line(Self.crossValidationLine(numRound: hp.numRound, evaluations: lastEvaluations))
        }
        let scores = outOfFoldScores(data: data, predictions: outOfFold, width: width, hyperparameters: hp)
        log("Out-of-fold: " + scores.map { "\($0.metric):" + String(format: "%.5f", $0.value) }.joined(separator: "\t")
            + " (each row predicted by the \(repeats == 1 ? "model" : "\(repeats) models") that did not train on it)")
        try timings.measure("write model") { () throws(ContainerError) in try writeFoldModels(models, log: log) }
        // metrics.json: the fold means of the last round, then the out-of-fold scores.
        var finals: [MetricValue] = []
        if let first = lastEvaluations.first {
            for (position, value) in first.values.enumerated() {
                let values = lastEvaluations.compactMap { $0.values.indices.contains(position) ? $0.values[position].value : nil }
                let mean = values.reduce(0, +) / Double(max(1, values.count))
                guard mean.isFinite else { continue }
                finals.append(MetricValue(channel: value.data, name: value.metric,
                                          kind: (TreeMetric(name: value.metric)?.maximize ?? false) ? .score : .loss, value: mean))
            }
        }
        for score in scores where score.value.isFinite {
            finals.append(MetricValue(channel: "out_of_fold", name: score.metric,
                                      kind: (TreeMetric(name: score.metric)?.maximize ?? false) ? .score : .loss, value: score.value))
        }
        try OutputData(directory: environment.outputDataDirectory, algorithm: Self.algorithm)
            .write(history: [], bestEpoch: nil, finalMetrics: finals, timings: timings)
        try Self.writeOutOfFoldPredictions(data: data, predictions: outOfFold, width: width, objective: hp.objective,
                                           to: environment.outputDataDirectory)
        // Importance over every fold model's trees together (counts and totals summed).
        var all = models[0]
        all.trees = models.flatMap(\.trees)
        all.treeGroups = models.flatMap(\.treeGroups)
        try Self.writeImportance(all, to: environment.outputDataDirectory)
    }

    /// `xgboost-model-<i>` for each fold model, each written atomically.
    func writeFoldModels(_ models: [BoostedTreesModel], log: (String) -> Void) throws(ContainerError) {
        try UnsupervisedJob.writeModel(environment, log: log) { (directory: String) throws(ArtifactError) in
            for (i, model) in models.enumerated() { try model.save(to: directory, fileName: "\(BoostedTreesModel.fileName)-\(i)") }
        }
    }

    /// The container's `print_cv_metric`: `[num_round]`, then for each metric train's and
    /// validation's mean over the folds of their last round's value, 5 decimals.
    static func crossValidationLine(numRound: Int, evaluations: [RoundEvaluation]) -> String {
        var line = "[\(numRound)]"
        guard let first = evaluations.first else { return line }
        var metrics: [String] = []
        for value in first.values where !metrics.contains(value.metric) { metrics.append(value.metric) }
        for metric in metrics {
            for data in ["train", "validation"] {
                let values = evaluations.compactMap { e in e.values.first { $0.data == data && $0.metric == metric }?.value }
                guard !values.isEmpty else { continue }
                line += "\t\(data)-\(metric):" + String(format: "%.5f", values.reduce(0, +) / Double(values.count))
            }
        }
        return line
    }

    /// The eval metrics of the out-of-fold predictions, each row's combined over the models that
    /// held it out (``combine(_:width:objective:)``).
    func outOfFoldScores(data: TreeDataset, predictions: [[Float]], width: Int,
                         hyperparameters hp: XGBoostHyperparameters) -> [(metric: String, value: Double)] {
        let combined = predictions.flatMap { Self.combine($0, width: width, objective: hp.objective) }
        // What the container's own metrics read as margins: the class scores, or a value
        // whose sign is the predicted class.
        let margins: [Float] = switch hp.objective {
        case .multiSoftmax, .multiSoftprob: combined.map { log(max($0, 1e-30)) }
        case .binaryLogistic: combined.map { log(max($0, 1e-30) / max(1 - $0, 1e-30)) }
        case .binaryHinge: combined.map { $0 - 0.5 }
        default: combined
        }
        return hp.evalMetrics.map { metric in
            (metric.name, metric.evaluate(predictions: combined, outputs: width, margins: margins, marginWidth: width,
                                          labels: data.labels, weights: data.weights, huberSlope: hp.huberSlope))
        }
    }

    /// Several models' predictions of one row (`width` values each) combined: the vote for
    /// binary:hinge (0/1 predictions), the mean otherwise (class probabilities for multiclass).
    static func combine(_ values: [Float], width: Int, objective: TreeObjective) -> [Float] {
        let count = values.count / max(1, width)
        guard count > 1 else { return values }
        if objective == .binaryHinge { return [XGBoostInference.vote(values)] }
        return (0..<width).map { c in Float((0..<count).reduce(0.0) { $0 + Double(values[$1 * width + c]) } / Double(count)) }
    }

    /// `predictions.csv` as the container's `ValidationPredictionRecorder` writes it (no header,
    /// `%f`): regression `label,prediction`; classification `label,probability,predicted label`
    /// (binary: the probability of 1 and probability > 0.5; multiclass: the top class's
    /// probability and that class).
    static func writeOutOfFoldPredictions(data: TreeDataset, predictions: [[Float]], width: Int, objective: TreeObjective,
                                          to directory: String) throws(ContainerError) {
        var text = ""
        func f(_ x: Double) -> String { String(format: "%f", x) }
        for (row, values) in predictions.enumerated() {
            let combined = combine(values, width: width, objective: objective)
            let label = Double(data.labels[row])
            if objective.isMulticlass {
                let best = TreeMetric.argmax(combined[...])
                text += [f(label), f(Double(combined[best])), f(Double(best))].joined(separator: ",")
            } else if objective.isBinary {
                let p = Double(combined.first ?? .nan)
                text += [f(label), f(p), f(p > 0.5 ? 1 : 0)].joined(separator: ",")
            } else {
                text += f(label) + "," + f(Double(combined.first ?? .nan))
            }
            text += "\n"
        }
        let path = (directory as NSString).appendingPathComponent("predictions.csv")
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw .algorithm("cannot write \(path): \(error.localizedDescription)")
        }
    }
}

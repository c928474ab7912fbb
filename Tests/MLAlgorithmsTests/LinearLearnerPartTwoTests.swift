import Foundation
import MLCore
import Synchronization
import Testing
@testable import MLAlgorithms

/// One-feature regression data `y = slope·x + intercept + noise`, seeded.
private func line(rows: Int, slope: Float, intercept: Float, noise: (inout RandomStream) -> Double, seed: UInt64,
                  channel: String = "train") throws -> LinearDataset {
    var r = RandomStream(seed: seed)
    var x: [Float] = [], y: [Float] = []
    for _ in 0..<rows {
        let v = Float(4 * r.nextDouble() - 2)
        x.append(v)
        y.append(slope * v + intercept + Float(noise(&r)))
    }
    return try LinearDataset(channel: channel, features: Matrix(rows: rows, columns: 1, elements: x), labels: y)
}

/// Binary data from a noisy linear rule over `features` features, a third of them zero per row.
private func binaryData(rows: Int, features: Int, seed: UInt64, channel: String = "train") throws -> LinearDataset {
    var r = RandomStream(seed: seed)
    let truth = (0..<features).map { _ in 2 * r.nextDouble() - 1 }
    var x = [Float](repeating: 0, count: rows * features), y: [Float] = []
    for i in 0..<rows {
        var s = 0.0
        for j in 0..<features where r.nextDouble() > 0.33 {
            let v = 2 * r.nextDouble() - 1
            x[i * features + j] = Float(v)
            s += v * truth[j]
        }
        y.append(s + 0.3 * r.standardNormal() > 0 ? 1 : 0)
    }
    return try LinearDataset(channel: channel, features: Matrix(rows: rows, columns: features, elements: x), labels: y)
}

private func sparse(_ d: LinearDataset) throws -> LinearDataset {
    // invariant: these tests build dense data
    let x = d.dense!
    var s = SparseMatrix<Float>(columns: x.columns)
    for i in 0..<x.rows {
        let nz = (0..<x.columns).filter { x[i, $0] != 0 }
        s.appendRow(indices: nz.map { Int32($0) }, values: nz.map { x[i, $0] })
    }
    return try LinearDataset(channel: d.channel, features: s, labels: d.labels, weights: d.weights)
}

private final class Log: Sendable {
    let lines = Mutex<[String]>([])
    func append(_ e: TrainingEvent) {
        if case .note(let text) = e { lines.withLock { $0.append(text) } }
    }
}

@Suite("Linear learner losses reach their optima")
struct LinearLearnerLossOptimaTests {
    private func fit(_ strings: [String: String], _ train: LinearDataset) throws -> LinearModel {
        var all = ["predictor_type": "regressor", "num_models": "1", "epochs": "60", "mini_batch_size": "100",
                   "learning_rate": "0.05", "early_stopping_patience": "100"]
        all.merge(strings) { $1 }
        return try trainer(all, workers: 2).fit(train: train).model
    }

    @Test("quantile_loss: the fit has the quantile's share of labels below it", arguments: [0.1, 0.5, 0.9])
    func quantile(tau: Double) throws {
        let train = try line(rows: 4_000, slope: 2, intercept: 1, noise: { 2 * $0.standardNormal() }, seed: 21)
        let model = try fit(["loss": "quantile_loss", "quantile": String(tau)], train)
        let predictions = try model.predict(train.features).map { $0.score[0] }
        let below = zip(train.labels, predictions).filter { $0.0 <= $0.1 }.count
        #expect(abs(Double(below) / Double(train.rows) - tau) < 0.02, "share below \(Double(below) / Double(train.rows))")
    }

    @Test("huber_loss and absolute_loss shrug off outliers that drag squared_loss away")
    func robust() throws {
        // 10% of the labels are far outliers, all on one side.
        var train = try line(rows: 2_000, slope: 3, intercept: 1, noise: { 0.1 * $0.standardNormal() }, seed: 22)
        train.labels = train.labels.enumerated().map { $0.offset % 10 == 0 ? $0.element + 40 : $0.element }
        func slope(_ loss: String) throws -> Float {
            let m = try fit(["loss": loss, "huber_delta": "0.5"], train)
            return m.parameters[0]
        }
        #expect(abs(try slope("huber_loss") - 3) < 0.1)
        #expect(abs(try slope("absolute_loss") - 3) < 0.1)
        let squared = try fit(["loss": "squared_loss"], train)
        #expect(abs(squared.parameters[1] - 1) > 3, "the outliers move the least-squares intercept by about 4")
    }

    @Test("eps-insensitive losses stop pulling once every residual is inside ε")
    func epsilonInsensitive() throws {
        let train = try line(rows: 2_000, slope: -1.5, intercept: 0.5, noise: { 0.05 * (2 * $0.nextDouble() - 1) }, seed: 23)
        for loss in ["eps_insensitive_squared_loss", "eps_insensitive_absolute_loss"] {
            let model = try fit(["loss": loss, "loss_insensitivity": "0.2"], train)
            let predictions = try model.predict(train.features).map { $0.score[0] }
            let inside = zip(train.labels, predictions).filter { abs($0.0 - $0.1) <= 0.2 }.count
            #expect(Double(inside) / Double(train.rows) > 0.99, "\(loss): \(inside) of \(train.rows) inside ε")
        }
    }

    @Test("hinge_loss on breast cancer: validation accuracy within 1 point of scikit-learn LinearSVC")
    func hinge() throws {
        let base = try #require(Bundle.module.resourceURL).appendingPathComponent("Fixtures/hinge_reference.json")
        let reference = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: base)) as? [String: Double])
        let train = try bundledDataset("breast-cancer", "train")
        var validation = try bundledDataset("breast-cancer", "validation")
        validation.channel = "test"
        let result = try trainer(["predictor_type": "binary_classifier", "loss": "hinge_loss", "num_models": "1",
                                  "binary_classifier_model_selection_criteria": "loss_function", "wd": String(try #require(reference["wd"])),
                                  "epochs": "300", "mini_batch_size": "64", "learning_rate": "0.01", "early_stopping_patience": "1000"],
                                 workers: 2).fit(train: train, test: validation)
        let accuracy = try #require(metric(result.finalMetrics, "test", "binary_classification_accuracy"))
        #expect(abs(accuracy - (try #require(reference["validation_accuracy"]))) <= 0.01 + 1e-9, "ours \(accuracy)")
        // The score is the raw margin, not a probability, and the label is its sign.
        let predictions = try result.model.predict(validation.features)
        #expect(predictions.contains { $0.score[0] > 1 || $0.score[0] < 0 })
        #expect(predictions.allSatisfy { ($0.score[0] > 0) == ($0.predictedLabel == 1) })
        #expect(result.finalMetrics.contains { $0.name == "hinge_loss_objective" })
    }
}

@Suite("Linear learner: many models, selection and the threshold")
struct LinearLearnerSelectionTests {
    @Test("the tuned threshold is the best of every cut, against brute force", arguments: ModelSelection.Criterion.allCases)
    func thresholdAgainstBruteForce(criterion: ModelSelection.Criterion) throws {
        guard criterion != .lossFunction else { return }
        var r = RandomStream(seed: 31)
        let n = 300
        let labels = (0..<n).map { _ in Float(r.nextDouble() < 0.4 ? 1 : 0) }
        // Scores that overlap between the classes, with ties.
        let scores = labels.map { Float((Double($0) * 0.3 + r.nextDouble() * 0.7) * 20).rounded() / 20 }
        let weights = (0..<n).map { _ in Float(0.5 + r.nextDouble()) }
        let selection = ModelSelection(criterion: criterion, fBeta: 2, targetRecall: 0.7, targetPrecision: 0.6)
        let tuned = selection.tuneThreshold(scores: scores, labels: labels, weights: weights, fallback: 0.5)
        func value(at t: Float) -> Double? {
            var tp = 0.0, fp = 0.0, fn = 0.0, tn = 0.0
            for i in 0..<n {
                let w = Double(weights[i]), predicted = scores[i] > t
                switch (labels[i] == 1, predicted) {
                case (true, true): tp += w
                case (false, true): fp += w
                case (true, false): fn += w
                case (false, false): tn += w
                }
            }
            return selection.value(truePositive: tp, falsePositive: fp, falseNegative: fn, trueNegative: tn)
        }
        let candidates = Set(scores).map { $0 } + [-1, 2]
        let best = candidates.compactMap { value(at: $0) }.max()
        #expect(best != nil)
        #expect(abs(tuned.value - (best ?? 0)) < 1e-12)
        #expect(abs((value(at: tuned.threshold) ?? -1) - tuned.value) < 1e-12, "the threshold reproduces its value")
    }

    @Test("a target no cut meets keeps the fallback threshold, valued 0")
    func unattainableTarget() {
        let selection = ModelSelection(criterion: .recallAtTargetPrecision, targetPrecision: 0.99)
        let t = selection.tuneThreshold(scores: [0.9, 0.8, 0.2], labels: [0, 0, 1], weights: nil, fallback: 0.5)
        #expect(t == ModelSelection.Threshold(threshold: 0.5, value: 0))
    }

    @Test("num_models=4: the kept model is the best on validation, its threshold tuned, and the log names it")
    func selectsTheBest() throws {
        let train = try binaryData(rows: 3_000, features: 8, seed: 41)
        let validation = try binaryData(rows: 800, features: 8, seed: 42, channel: "validation")
        let log = Log()
        let result = try trainer(["predictor_type": "binary_classifier", "num_models": "4", "epochs": "5", "mini_batch_size": "200"],
                                 workers: 2).fit(train: train, validation: validation, events: log.append)
        let selection = try #require(result.selection)
        #expect(result.state.layout.models == 4 && selection.values.count == 4)
        let values = selection.values.map { $0 ?? -1 }
        #expect(values[selection.model] == values.max())
        #expect(selection.calibrationSource == "validation" && selection.calibrationRows == 800)
        #expect(result.model.threshold == selection.threshold)
        let accuracy = try #require(metric(result.finalMetrics, "validation", "binary_classification_accuracy"))
        #expect(abs(accuracy - values[selection.model]) < 1e-9, "the final accuracy is the tuned value")
        let lines = log.lines.withLock { $0 }
        #expect(lines.contains { $0.hasPrefix("Best model found for hyperparameters: {") && $0.contains("\"learning_rate\": \(selection.variant.learningRate)") })
        // The kept model's parameters are column `model` of the trained block, folded to raw space.
        let best = try #require(result.state.best)
        let layout = result.state.layout.parameterLayout
        let folded = try result.state.scaler.foldedIntoRawSpace(layout.parameters(ofModel: selection.model, in: best.parameters), layout: layout.single)
        #expect(folded == result.model.parameters)
    }

    @Test("without validation a seeded tenth of train is held out for selection")
    func heldOut() throws {
        let train = try binaryData(rows: 1_000, features: 4, seed: 43)
        let result = try trainer(["predictor_type": "binary_classifier", "num_models": "3", "epochs": "2"]).fit(train: train)
        #expect(result.selection?.calibrationSource == "held-out train" && result.selection?.calibrationRows == 100)
        #expect(LinearLearnerTrainer.heldOutRows(trainRows: 19, calibrationSamples: 100) == 0)
        #expect(LinearLearnerTrainer.heldOutRows(trainRows: 1_000_000, calibrationSamples: 5_000) == 5_000)
    }

    @Test("a model that diverges among several is dropped; the others train on")
    func divergedModelIsDropped() throws {
        var train = try line(rows: 500, slope: 1, intercept: 0, noise: { 0.1 * $0.standardNormal() }, seed: 44)
        // x uniform in [−3, 3], so E[x²] = 3: plain SGD is stable for rates below 2/3.
        train.features = .dense(train.dense!.map { $0 * 1.5 })
        let log = Log()
        // sgd without normalization: the grid's 10× rate (1.0) explodes; 0.1, 0.01 and 0.3 do not.
        let result = try trainer(["predictor_type": "regressor", "num_models": "4", "optimizer": "sgd", "normalize_data": "false",
                                  "normalize_label": "false", "epochs": "3", "mini_batch_size": "50", "wd": "0", "l1": "0"])
            .fit(train: train, events: log.append)
        #expect(result.state.diverged == [false, true, false, false])
        #expect(result.selection?.values[1] == nil && result.selection?.model != 1)
        #expect(log.lines.withLock { $0 }.contains { $0.hasPrefix("Model 1 diverged") })
    }

    @Test("final metrics carry SageMaker's names for each predictor type, β formatted %.3f")
    func finalMetricNames() throws {
        let train = try binaryData(rows: 600, features: 4, seed: 45)
        let validation = try binaryData(rows: 200, features: 4, seed: 46, channel: "validation")
        let binary = try trainer(["predictor_type": "binary_classifier", "num_models": "2", "epochs": "2", "f_beta": "0.5"])
            .fit(train: train, validation: validation)
        #expect(Set(binary.finalMetrics.map(\.name)) == ["binary_classification_cross_entropy_objective", "binary_classification_accuracy",
                                                         "binary_f_0.500", "precision", "recall", "roc_auc_score"])
        var multi = train, multiValidation = validation
        multi.labels = multi.labels.enumerated().map { Float($0.offset % 3) }
        multiValidation.labels = multiValidation.labels.enumerated().map { Float($0.offset % 3) }
        let multiclass = try trainer(["predictor_type": "multiclass_classifier", "num_classes": "3", "num_models": "2", "epochs": "2"])
            .fit(train: multi, validation: multiValidation)
        #expect(Set(multiclass.finalMetrics.map(\.name)).isSuperset(of: ["multiclass_accuracy", "multiclass_top_k_accuracy_3", "dcg",
                                                                        "macro_precision", "macro_recall", "macro_f_1.000"]))
        let regression = try trainer(["predictor_type": "regressor", "num_models": "2", "epochs": "2", "loss": "absolute_loss"])
            .fit(train: train, validation: validation)
        #expect(Set(regression.finalMetrics.map(\.name)) == ["absolute_loss_objective", "mse", "rmse", "absolute_loss"])
    }
}

@Suite("Linear learner: sparse rows, streaming and sample weights")
struct LinearLearnerDataTests {
    @Test("1, 2 and 3 workers train bit-identical models on sparse rows with 3 models")
    func sparseWorkerCount() throws {
        let train = try sparse(try binaryData(rows: 1_500, features: 20, seed: 51))
        let validation = try sparse(try binaryData(rows: 300, features: 20, seed: 52, channel: "validation"))
        let strings = ["predictor_type": "binary_classifier", "num_models": "3", "epochs": "3", "mini_batch_size": "300"]
        let reference = try trainer(strings, workers: 1).fit(train: train, validation: validation)
        for workers in [2, 3] {
            let r = try trainer(strings, workers: workers).fit(train: train, validation: validation)
            #expect(r.state.parameters == reference.state.parameters, "\(workers) workers")
            #expect(r.model == reference.model)
        }
    }

    @Test("sparse rows train the same model as the same rows dense (features scaled, not centred)")
    func sparseMatchesDense() throws {
        let dense = try binaryData(rows: 1_200, features: 10, seed: 53)
        let strings = ["predictor_type": "binary_classifier", "num_models": "2", "epochs": "3", "mini_batch_size": "100",
                       "unbias_data": "false"]
        let a = try trainer(strings).fit(train: dense)
        let b = try trainer(strings.filter { $0.key != "unbias_data" }).fit(train: try sparse(dense))
        #expect(a.selection?.model == b.selection?.model)
        #expect(zip(a.model.parameters, b.model.parameters).allSatisfy { abs($0 - $1) <= 1e-4 * max(1, abs($0)) })
        #expect(throws: LinearLearnerError.sparseCentering(channel: "train")) {
            _ = try trainer(strings.merging(["unbias_data": "true"]) { $1 }).fit(train: try sparse(dense))
        }
    }

    /// A source that makes `rows` rows on the fly and counts what it has handed out.
    private struct Generated: DataSource {
        let rows: Int, features: Int, chunk: Int, seed: UInt64
        var produced = 0
        mutating func nextBatch() throws(DataError) -> Batch? {
            guard produced < rows else { return nil }
            let m = min(chunk, rows - produced)
            var r = RandomStream(seed: seed, path: [UInt64(produced)])
            var x = [Float](), y = [Float]()
            for _ in 0..<m {
                let row = (0..<features).map { _ in Float(2 * r.nextDouble() - 1) }
                x += row
                y.append(row[0] - row[1] > 0 ? 1 : 0)
            }
            produced += m
            // invariant: m × features elements by construction
            return Batch(features: .dense(try! Matrix(rows: m, columns: features, elements: x)),
                         labels: try! Matrix(rows: m, columns: 1, elements: y))
        }
    }

    @Test("streaming: 60,000 rows through a 2,000-row budget, every epoch, learning the rule")
    func streamingBoundedMemory() throws {
        let rows = 60_000, budget = 2_000, chunk = 500
        let opened = Mutex(0)
        let stream = LinearStream(bufferRows: budget - chunk) { _ in
            opened.withLock { $0 += 1 }
            return Generated(rows: rows, features: 5, chunk: chunk, seed: 61)
        }
        let validation = try binaryData(rows: 500, features: 5, seed: 62, channel: "validation")
        var labelled = validation
        labelled.labels = (0..<500).map { i in validation.dense![i, 0] - validation.dense![i, 1] > 0 ? 1 : 0 }
        let result = try trainer(["predictor_type": "binary_classifier", "num_models": "2", "epochs": "3", "mini_batch_size": "250",
                                  "num_point_for_scaler": "1000"], workers: 2)
            .fit(stream: stream, validation: labelled)
        #expect(opened.withLock { $0 } == 3, "one pass per epoch")
        #expect(result.history.count == 3)
        let peak = try #require(result.streamPeakRows)
        #expect(peak <= budget && peak >= budget - chunk, "peak \(peak) rows held")
        let accuracy = try #require(metric(result.finalMetrics, "validation", "binary_classification_accuracy"))
        #expect(accuracy > 0.95)
        // The same stream with 1 worker: the same bits.
        let one = try trainer(["predictor_type": "binary_classifier", "num_models": "2", "epochs": "3", "mini_batch_size": "250",
                               "num_point_for_scaler": "1000"], workers: 1).fit(stream: stream, validation: labelled)
        #expect(one.state.parameters == result.state.parameters)
    }

    @Test("streaming resumes mid-epoch from a checkpoint to the uninterrupted model")
    func streamingResume() throws {
        let stream = LinearStream(bufferRows: 700) { _ in Generated(rows: 5_000, features: 3, chunk: 300, seed: 63) }
        let strings = ["predictor_type": "binary_classifier", "num_models": "2", "epochs": "2", "mini_batch_size": "100"]
        let whole = try trainer(strings).fit(stream: stream)
        let flag = CancellationFlag()
        let stopAt = Mutex(0)
        var interrupted = try trainer(strings)
        interrupted.progressInterval = 1
        let first = try interrupted.fit(stream: stream, cancellation: flag, events: { event in
            if case .progress = event, stopAt.withLock({ $0 += 1; return $0 }) == 3 { flag.cancel() }
        })
        #expect(first.stopReason == .cancelled)
        let resumed = try trainer(strings).fit(stream: stream, resumingFrom: first.state)
        #expect(resumed.state.parameters == whole.state.parameters)
    }

    @Test("a weight of 2 counts as the row twice, in the loss and in every metric")
    func weightsAreDuplicates() throws {
        let base = try binaryData(rows: 40, features: 3, seed: 71)
        var weighted = base
        weighted.weights = (0..<40).map { $0 % 4 == 0 ? 2 : 1 }
        let doubledRows = (0..<40).flatMap { $0 % 4 == 0 ? [$0, $0] : [$0] }
        let duplicated = base.gathering(rows: doubledRows)
        // One full-batch plain SGD step from the same start: the mean gradients agree.
        let strings = ["predictor_type": "binary_classifier", "num_models": "1", "epochs": "1", "optimizer": "sgd",
                       "binary_classifier_model_selection_criteria": "loss_function", "mini_batch_size": "100",
                       "normalize_data": "false", "unbias_data": "false"]
        var t = try trainer(strings)
        t.shuffle = false
        let a = try t.fit(train: weighted, test: { var w = weighted; w.channel = "test"; return w }())
        let b = try t.fit(train: duplicated, test: { var d = duplicated; d.channel = "test"; return d }())
        #expect(zip(a.model.parameters, b.model.parameters).allSatisfy { abs($0 - $1) < 1e-6 })
        for (x, y) in zip(a.finalMetrics, b.finalMetrics) {
            #expect(x.name == y.name && abs(x.value - y.value) < 1e-5, "\(x.name): \(x.value) vs \(y.value)")
        }
    }

    @Test("csv_weights=1: the column after the label is the weight")
    func csvWeights() throws {
        let batch = Batch(features: .dense(try Matrix(rows: 2, columns: 3, elements: [2, 10, 11, 0.5, 20, 21])),
                          labels: try Matrix(rows: 2, columns: 1, elements: [1, 0]))
        let split = try LinearDataset.weightsFromFirstColumn(batch, channel: "train")
        let expected = Features.dense(try Matrix(rows: 2, columns: 2, elements: [10, 11, 20, 21]))
        #expect(split.weights == [2, 0.5] && split.features == expected)
        #expect(throws: LinearLearnerError.self) {
            _ = try LinearDataset.weightsFromFirstColumn(Batch(features: .dense(try Matrix(rows: 1, columns: 1, elements: [1]))), channel: "train")
        }
        let settings = LinearLearnerSettings(try LinearLearnerHyperparameters(strings: ["predictor_type": "regressor", "csv_weights": "1"]))
        #expect(settings.csvWeights)
    }
}

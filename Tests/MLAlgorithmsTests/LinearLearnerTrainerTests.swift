import MLAlgorithms
import Foundation
import MLCore
import Synchronization
import Testing

/// A seeded logistic problem: `rows × features` N(0, 1) features shifted and scaled per column
/// (so normalization matters), labels drawn from the true model.
private func logisticData(rows: Int, features: Int, seed: UInt64, channel: String = "train") throws -> LinearDataset {
    var rng = RandomStream(seed: seed)
    let truth = (0..<features).map { _ in rng.standardNormal() }
    var x = Matrix<Float>(rows: rows, columns: features)
    var y = [Float](repeating: 0, count: rows)
    for i in 0..<rows {
        var z = 0.3
        for j in 0..<features {
            let v = rng.standardNormal()
            x[i, j] = Float(v * Double(j + 1) + Double(j))
            z += truth[j] * v
        }
        y[i] = rng.nextDouble() < 1 / (1 + exp(-z)) ? 1 : 0
    }
    return try LinearDataset(channel: channel, features: x, labels: y)
}

private final class EventLog: Sendable {
    private let events = Mutex<[TrainingEvent]>([])
    func append(_ e: TrainingEvent) { events.withLock { $0.append(e) } }
    var all: [TrainingEvent] { events.withLock { $0 } }
}

@Suite("Linear learner trainer")
struct LinearLearnerTrainerTests {
    static let binary = ["predictor_type": "binary_classifier", "mini_batch_size": "100", "epochs": "4"]

    @Test("1, 2, 3 and 8 workers train bit-identical models", arguments: ["binary_classifier", "multiclass_classifier", "regressor"])
    func workerCountDoesNotChangeBits(predictor: String) throws {
        var train = try logisticData(rows: 2_345, features: 9, seed: 1)
        var validation = try logisticData(rows: 500, features: 9, seed: 2, channel: "validation")
        var strings = ["predictor_type": predictor, "mini_batch_size": "700", "epochs": "3", "wd": "0.001", "l1": "0.0001"]
        if predictor == "multiclass_classifier" {
            strings["num_classes"] = "3"
            // Three classes from the score's tercile.
            for d in [0, 1] {
                var set = d == 0 ? train : validation
                set.labels = set.dense!.withUnsafeBufferPointer { p in
                    (0..<set.rows).map { i in Float(min(2, max(0, Int((p[i * 9] + p[i * 9 + 1]) / 4)))) }
                }
                if d == 0 { train = set } else { validation = set }
            }
        } else if predictor == "regressor" {
            train.labels = (0..<train.rows).map { i in train.dense![i, 0] * 2 - train.dense![i, 3] + 5 }
            validation.labels = (0..<validation.rows).map { i in validation.dense![i, 0] * 2 - validation.dense![i, 3] + 5 }
        }
        var reference: LinearLearnerTrainer.Result?
        for workers in [1, 2, 3, 8] {
            var t = try trainer(strings, workers: workers, seed: 5)
            t.microShardRows = 64
            let r = try t.fit(train: train, validation: validation)
            if let reference {
                #expect(r.model.parameters.map(\.bitPattern) == reference.model.parameters.map(\.bitPattern), "\(workers) workers")
                #expect(r.state.parameters == reference.state.parameters && r.state.optimizer == reference.state.optimizer)
                #expect(r.history.map(\.criterion) == reference.history.map(\.criterion))
                #expect(r.finalMetrics == reference.finalMetrics)
            }
            reference = r
        }
    }

    @Test("cancelled mid-epoch and resumed from the state: the same model as an uninterrupted run")
    func cancelAndResume() throws {
        let train = try logisticData(rows: 3_000, features: 6, seed: 3)
        let validation = try logisticData(rows: 600, features: 6, seed: 4, channel: "validation")
        let strings = ["predictor_type": "binary_classifier", "mini_batch_size": "50", "epochs": "5", "optimizer": "sgd", "momentum": "0.9"]
        let uninterrupted = try trainer(strings, workers: 2).fit(train: train, validation: validation)

        // Cancel during epoch 1 (from the event callback, as a signal handler would), then resume
        // from a JSON round trip of the state, with another worker count.
        let flag = CancellationFlag()
        var interrupted = try trainer(strings, workers: 3)
        interrupted.progressInterval = 5
        let first = try interrupted.fit(train: train, validation: validation, cancellation: flag, events: { event in
            if case .progress(let epoch, let completed, _) = event, epoch == 1, completed >= 20 { flag.cancel() }
        })
        #expect(first.stopReason == .cancelled)
        #expect(first.state.epoch == 1 && first.state.batch >= 20 && first.state.batch < 60)
        let restored = try LinearTrainingState.decode(try first.state.encoded())
        #expect(restored == first.state)
        let resumed = try trainer(strings, workers: 1).fit(train: train, validation: validation, resumingFrom: restored)
        #expect(resumed.model.parameters.map(\.bitPattern) == uninterrupted.model.parameters.map(\.bitPattern))
        #expect(resumed.history.map(\.criterion) == uninterrupted.history.map(\.criterion))
        #expect(resumed.stopReason == uninterrupted.stopReason)
    }

    @Test("checkpoints after every epoch resume to the same model")
    func checkpointsResume() throws {
        let train = try logisticData(rows: 1_000, features: 4, seed: 6)
        let saved = Mutex<[LinearTrainingState]>([])
        let strings = ["predictor_type": "binary_classifier", "mini_batch_size": "64", "epochs": "4"]
        let full = try trainer(strings).fit(train: train, checkpoint: { s in saved.withLock { $0.append(s) } })
        let states = saved.withLock { $0 }
        #expect(states.count == 4 && states.last?.finished == true)
        let resumed = try trainer(strings, workers: 2).fit(train: train, resumingFrom: states[1])
        #expect(resumed.model == full.model)
        // A finished state trains no further.
        let again = try trainer(strings).fit(train: train, resumingFrom: states[3])
        #expect(again.model == full.model)
    }

    @Test("a state from another run is refused")
    func incompatibleState() throws {
        let train = try logisticData(rows: 200, features: 4, seed: 6)
        let r = try trainer(Self.binary).fit(train: train)
        #expect(throws: LinearLearnerError.self) {
            _ = try trainer(Self.binary, seed: 9).fit(train: train, resumingFrom: r.state)
        }
        let narrower = try logisticData(rows: 200, features: 3, seed: 6)
        #expect(throws: LinearLearnerError.self) { _ = try trainer(Self.binary).fit(train: narrower, resumingFrom: r.state) }
        #expect(throws: LinearLearnerError.self) { _ = try LinearTrainingState.decode(Data("{}".utf8)) }
    }

    @Test("a learning rate that blows up stops with an error naming the epoch")
    func divergenceIsAnError() throws {
        var train = try logisticData(rows: 500, features: 5, seed: 7)
        train.labels = (0..<train.rows).map { i in train.dense![i, 4] * 1e3 }
        let strings = ["predictor_type": "regressor", "mini_batch_size": "10", "epochs": "3", "optimizer": "sgd",
                       "learning_rate": "1000", "normalize_data": "false", "normalize_label": "false"]
        do {
            _ = try trainer(strings, workers: 2).fit(train: train)
            Issue.record("expected divergence")
        } catch let LinearLearnerError.diverged(epoch, _, reason, hint) {
            #expect(epoch == 0)
            #expect(hint.contains("learning_rate") && hint.contains("normalize_data"), "\(reason); \(hint)")
        }
    }

    @Test("early stopping: patience epochs without relative improvement end training at the best epoch")
    func earlyStopping() throws {
        let train = try logisticData(rows: 2_000, features: 5, seed: 8)
        let validation = try logisticData(rows: 400, features: 5, seed: 9, channel: "validation")
        // A huge tolerance: no epoch after the first counts as an improvement.
        let r = try trainer(["predictor_type": "binary_classifier", "mini_batch_size": "100", "epochs": "20",
                             "early_stopping_patience": "2", "early_stopping_tolerance": "0.9"]).fit(train: train, validation: validation)
        #expect(r.history.count == 3)
        #expect(r.stopReason == .earlyStopped(epoch: 2))
        // The best epoch is still the lowest validation loss among those run.
        let losses = r.history.map(\.criterion.value)
        #expect(r.bestEpoch == losses.firstIndex(of: losses.min()!))
        #expect(r.history.allSatisfy { $0.criterion.channel == "validation" })
        // Without early stopping all epochs run.
        let all = try trainer(["predictor_type": "binary_classifier", "mini_batch_size": "100", "epochs": "5",
                               "early_stopping_patience": "10"]).fit(train: train, validation: validation)
        #expect(all.history.count == 5 && all.stopReason == .completedEpochs)
    }

    @Test("events: progress, epoch summaries with SageMaker's metric names, final metrics")
    func events() throws {
        let train = try logisticData(rows: 1_000, features: 4, seed: 10)
        let validation = try logisticData(rows: 300, features: 4, seed: 11, channel: "validation")
        let log = EventLog()
        var t = try trainer(["predictor_type": "binary_classifier", "mini_batch_size": "100", "epochs": "2"], workers: 2)
        t.progressInterval = 5
        let r = try t.fit(train: train, validation: validation, events: log.append)
        let events = log.all
        let progress = events.filter { if case .progress = $0 { true } else { false } }
        #expect(progress.count == 4)  // batches 5 and 10 of each epoch
        let summaries = events.compactMap { if case .epochEnded(let s) = $0 { s } else { nil } }
        #expect(summaries == r.history)
        #expect(summaries.map(\.epoch) == [0, 1])
        #expect(summaries[0].metrics.map { "\($0.channel) \($0.name)" } == [
            "train binary_classification_cross_entropy_objective", "validation binary_classification_cross_entropy_objective",
            "validation binary_classification_accuracy",
        ])
        let finals = events.compactMap { if case .finalMetric(let m) = $0 { m.name } else { nil } }
        #expect(finals == ["binary_classification_cross_entropy_objective", "binary_classification_accuracy", "binary_f_1.000",
                           "precision", "recall", "roc_auc_score"])
        let lines = events.flatMap(SageMakerMetricLines().lines(for:))
        // The built-in regexes of reference §4.1 match.
        let objective = try Regex(#"#quality_metric: host=\S+, epoch=\S+, validation \S+_objective <loss>=(\S+)"#)
        #expect(lines.filter { $0.contains(objective) }.count == 2)
        #expect(lines.contains { $0.contains(try! Regex(#"#throughput_metric: host=\S+, train throughput=(\S+) records/second"#)) })
        #expect(lines.contains("#progress_metric: host=algo-1, completed 100 % of epochs"))
        #expect(lines.contains { $0.hasPrefix("#validation_score (algo-1) : ('roc_auc_score', ") })
    }

    @Test("positive_example_weight_mult weights positives in the loss; balanced uses n_neg/n_pos")
    func positiveWeight() throws {
        var train = try logisticData(rows: 1_200, features: 3, seed: 12)
        // Make positives rare.
        train.labels = train.labels.enumerated().map { $0.offset % 5 == 0 ? $0.element : 0 }
        let positives = train.labels.filter { $0 == 1 }.count
        // One model kept on its loss: nothing held out, so the weights count every training row.
        let base = ["predictor_type": "binary_classifier", "mini_batch_size": "100", "epochs": "3", "num_models": "1",
                    "binary_classifier_model_selection_criteria": "loss_function"]
        let plain = try trainer(base).fit(train: train)
        let balanced = try trainer(base.merging(["positive_example_weight_mult": "balanced"]) { $1 }).fit(train: train)
        #expect(balanced.state.classWeights == [1, Double(train.rows - positives) / Double(positives)])
        #expect(plain.state.classWeights == [1, 1])
        let explicit = try trainer(base.merging(["positive_example_weight_mult": "2.5"]) { $1 }).fit(train: train)
        #expect(explicit.state.classWeights == [1, 2.5])
        // Up-weighting positives raises the predicted probabilities.
        let p0 = try plain.model.predict(train.features).map { $0.score[0] }.reduce(0, +)
        let p1 = try balanced.model.predict(train.features).map { $0.score[0] }.reduce(0, +)
        #expect(p1 > p0)
    }

    @Test("balance_multiclass_weights: n / (classes × n_c)")
    func multiclassWeights() throws {
        var train = try logisticData(rows: 600, features: 3, seed: 13)
        train.labels = (0..<600).map { Float($0 < 400 ? 0 : ($0 < 550 ? 1 : 2)) }
        let r = try trainer(["predictor_type": "multiclass_classifier", "num_classes": "3", "balance_multiclass_weights": "true",
                             "epochs": "1", "num_models": "1"]).fit(train: train)
        let expected: [Double] = [600.0 / 1200.0, 600.0 / 450.0, 600.0 / 150.0]
        #expect(r.state.classWeights == expected)
    }

    @Test("use_bias=false keeps the bias at zero; init_bias sets its start")
    func bias() throws {
        let train = try logisticData(rows: 500, features: 3, seed: 14)
        let off = try trainer(["predictor_type": "binary_classifier", "use_bias": "false", "unbias_data": "false",
                               "normalize_data": "false", "epochs": "2", "mini_batch_size": "50"]).fit(train: train)
        #expect(off.model.parameters[off.model.layout.biasOffset] == 0)
        let t = try trainer(["predictor_type": "binary_classifier", "init_bias": "0.75", "epochs": "1", "num_models": "3"])
        let start = try t.fit(train: train, cancellation: { let f = CancellationFlag(); f.cancel(); return f }())
        #expect(start.stopReason == .cancelled)
        // Every model's bias starts there.
        #expect(start.state.parameters[(start.state.layout.features * 3)...] == [0.75, 0.75, 0.75])
    }
}

@Suite("Linear learner input errors")
struct LinearLearnerInputErrorTests {
    private func data(_ labels: [Float], _ rows: [[Float]], channel: String = "train") throws -> LinearDataset {
        try LinearDataset(channel: channel, features: Matrix(rows), labels: labels)
    }

    @Test("a binary label outside {0, 1} names its row")
    func binaryLabel() throws {
        let d = try data([0, 1, 2, 1], [[1, 2], [3, 4], [5, 6], [7, 8]])
        #expect(throws: LinearLearnerError.invalidLabel(channel: "train", row: 3, label: 2, rule: "binary_classifier labels are 0 or 1")) {
            _ = try trainer(["predictor_type": "binary_classifier"]).fit(train: d)
        }
    }

    @Test("a label ≥ num_classes names its row")
    func multiclassLabel() throws {
        let d = try data([0, 1, 2, 3, 1], [[1], [2], [3], [4], [5]])
        do {
            _ = try trainer(["predictor_type": "multiclass_classifier", "num_classes": "3"]).fit(train: d)
            Issue.record("expected an error")
        } catch let LinearLearnerError.invalidLabel(channel, row, label, _) {
            #expect(channel == "train" && row == 4 && label == 3)
        }
    }

    @Test("NaN and infinite features name row and column, in any channel")
    func nonFiniteFeature() throws {
        let good = try data([0, 1], [[1, 2], [3, 4]])
        let bad = try data([0, 1, 0], [[1, 2], [3, 4], [5, .nan]], channel: "validation")
        do {
            _ = try trainer(["predictor_type": "binary_classifier"]).fit(train: good, validation: bad)
            Issue.record("expected an error")
        } catch let LinearLearnerError.nonFiniteFeature(channel, row, column, value) {
            #expect(channel == "validation" && row == 3 && column == 2 && value.isNaN)
        }
    }

    @Test("a feature count that does not match feature_dim or the train channel")
    func featureCount() throws {
        let two = try data([0, 1], [[1, 2], [3, 4]])
        let three = try data([0, 1], [[1, 2, 3], [3, 4, 5]], channel: "validation")
        #expect(throws: LinearLearnerError.featureCount(channel: "train", expected: 3, found: 2, source: "hyperparameter feature_dim")) {
            _ = try trainer(["predictor_type": "binary_classifier", "feature_dim": "3"]).fit(train: two)
        }
        #expect(throws: LinearLearnerError.featureCount(channel: "validation", expected: 2, found: 3, source: "the train channel")) {
            _ = try trainer(["predictor_type": "binary_classifier"]).fit(train: two, validation: three)
        }
    }

    @Test("regression labels must be finite; weights finite and ≥ 0; channels non-empty")
    func otherBadInput() throws {
        #expect(throws: LinearLearnerError.self) {
            _ = try trainer(["predictor_type": "regressor"]).fit(train: try data([1, .infinity], [[1], [2]]))
        }
        let weighted = try LinearDataset(channel: "train", features: Matrix([[1], [2]]), labels: [0, 1], weights: [1, -1])
        #expect(throws: LinearLearnerError.invalidWeight(channel: "train", row: 2, weight: -1)) {
            _ = try trainer(["predictor_type": "binary_classifier"]).fit(train: weighted)
        }
        #expect(throws: LinearLearnerError.emptyChannel(channel: "train")) {
            _ = try trainer(["predictor_type": "binary_classifier"]).fit(train: try LinearDataset(channel: "train", features: Matrix(rows: 0, columns: 2), labels: []))
        }
        #expect(throws: LinearLearnerError.self) {
            _ = try LinearDataset(channel: "train", features: Matrix(rows: 2, columns: 2), labels: [1])
        }
    }
}

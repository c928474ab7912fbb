import MLAlgorithms
import Foundation
import MLCore

/// `mlbench linear`: binary logistic regression, 1,000,000 × 100 Float32 rows (90% train, 10%
/// validation), against scikit-learn's `LogisticRegression(lbfgs)` and `SGDClassifier(log_loss)`
/// on the same NPY files and thread count.
///
/// Timed: a whole `fit` from scratch (ours: the linear learner with default hyperparameters,
/// `num_models=1`, early stopping on the validation channel; then SageMaker's default
/// `num_models=auto`, 32 models in one pass, as impl `mlcore-auto-models`), data already in memory.
/// Checked before timing: our validation log-loss must beat predicting the base rate, and with
/// peers it is compared with lbfgs's (the goal: within 0.1% in ≤ 0.4× its time).
/// Also reported: rows/s per epoch, GFLOP/s of the mini-batch step and its share of the
/// machine's single-threaded SGEMM peak × workers, and the speedup of `threads` workers over 1.
public struct LinearSuite: BenchmarkSuite {
    public let name = "linear"
    public let summary = "linear learner, binary logistic, 1M × 100 float32 (90/10 split), fit time vs scikit-learn lbfgs and SGD"
    public let rows: Int
    public let features: Int
    let seed: UInt64 = 42

    public init(rows: Int = 1_000_000, features: Int = 100) {
        self.rows = rows
        self.features = features
    }

    var workload: String { "logistic_\(rows / 1000)kx\(features)" }

    /// Ratios are of fit time: the peers' rows/s counts lbfgs iterations, not epochs.
    public func keyMetric(for result: BenchmarkResult) -> String? { nil }

    public static let hyperparameters = ["predictor_type": "binary_classifier", "num_models": "1"]

    public func run(_ context: BenchmarkContext) throws -> [BenchmarkResult] {
        let directory = try context.dataFile(LinearWorkload.directoryName(rows: rows, features: features, seed: seed)).path
        if !FileManager.default.fileExists(atPath: directory + "/train_y.npy") {
            context.logger.info("writing \(directory) (once; cached for later runs)")
        }
        try LinearWorkload.ensure(directory: directory, rows: rows, features: features, seed: seed, threads: context.threads)
        let train = try LinearDataset(channel: "train", features: try NPYReader<Float>.readMatrix(path: directory + "/train_x.npy"),
                                      labels: try NPYReader<Float>.readVector(path: directory + "/train_y.npy"))
        let validation = try LinearDataset(
            channel: "validation", features: try NPYReader<Float>.readMatrix(path: directory + "/validation_x.npy"),
            labels: try NPYReader<Float>.readVector(path: directory + "/validation_y.npy"))

        let peak = try MachinePeak.singleThreadSGEMM(workload: workload)
        let hyperparameters = try LinearLearnerHyperparameters(strings: Self.hyperparameters)
        func fit(workers: Int) throws -> LinearLearnerTrainer.Result {
            try LinearLearnerTrainer(hyperparameters: hyperparameters, workers: workers, seed: seed).fit(train: train, validation: validation)
        }

        // Check before timing: a model that learned something, and the same bits for 1 and N workers.
        let checked = try fit(workers: context.threads)
        let logLoss = try validationLogLoss(checked)
        let positives = Double(validation.labels.reduce(0, +)) / Double(validation.rows)
        let baseRate = -(positives * log(positives) + (1 - positives) * log(1 - positives))
        guard logLoss < 0.9 * baseRate else {
            throw BenchmarkError.wrongResult(workload: workload, detail: "validation log-loss \(logLoss) is no better than the base rate's \(baseRate)")
        }

        var results: [BenchmarkResult] = []
        var medians: [Int: Double] = [:]
        for workers in Set([context.threads, 1]).sorted(by: >) {
            var last = checked
            let timing = try context.measure {
                last = try fit(workers: workers)
            }
            guard last.model == checked.model else {
                throw BenchmarkError.wrongResult(workload: workload, detail: "\(workers) workers trained a different model than \(context.threads)")
            }
            medians[workers] = timing.median
            let epochs = last.history.count
            let perEpoch = last.history.map(\.rowsPerSecond).sorted()[epochs / 2]
            // The step's two GEMMs (scores X·W and gradient Xᵀ·R), 2·d FLOPs per row each.
            let stepGFLOPS = 4 * Double(features) * perEpoch / 1e9
            var metrics: [String: Double] = [
                "validation_logloss": logLoss,
                "validation_accuracy": metric(last, "binary_classification_accuracy") ?? .nan,
                "epochs": Double(epochs),
                "best_epoch": Double(last.bestEpoch ?? -1),
                "rows_per_s_per_epoch": perEpoch,
                "step_gflops": stepGFLOPS,
                "step_share_of_peak": stepGFLOPS / (peak * Double(workers)),
                "sgemm_peak_1thread_gflops": peak,
            ]
            if workers == 1, let n = medians[context.threads], context.threads > 1 {
                metrics["speedup_\(context.threads)_workers"] = timing.median / n
            }
            var result = context.result(workload: workload, timing: timing, metrics: metrics)
            result.threads = workers
            results.append(result)
        }

        // SageMaker's default, num_models=auto: 32 models side by side in one pass, the best kept
        // on validation (accuracy, with its tuned threshold). Reported as impl "mlcore-auto-models"
        // with the cost against one model and the chosen model's log-loss.
        let automatic = try LinearLearnerHyperparameters(strings: ["predictor_type": "binary_classifier"])
        func fitAutomatic() throws -> LinearLearnerTrainer.Result {
            try LinearLearnerTrainer(hyperparameters: automatic, workers: context.threads, seed: seed).fit(train: train, validation: validation)
        }
        let checkedAutomatic = try fitAutomatic()
        let automaticLoss = try validationLogLoss(checkedAutomatic)
        guard automaticLoss < 0.9 * baseRate else {
            throw BenchmarkError.wrongResult(workload: workload, detail: "num_models=auto: validation log-loss \(automaticLoss) is no better than the base rate's")
        }
        var lastAutomatic = checkedAutomatic
        let automaticTiming = try context.measure { lastAutomatic = try fitAutomatic() }
        guard lastAutomatic.model == checkedAutomatic.model else {
            throw BenchmarkError.wrongResult(workload: workload, detail: "num_models=auto: a rerun trained a different model")
        }
        var automaticResult = context.result(workload: workload, timing: automaticTiming, metrics: [
            "validation_logloss": automaticLoss,
            "validation_accuracy": metric(lastAutomatic, "binary_classification_accuracy") ?? .nan,
            "models": Double(lastAutomatic.state.layout.models),
            "selected_model": Double(lastAutomatic.selection?.model ?? -1),
            "epochs": Double(lastAutomatic.history.count),
            "time_vs_one_model": automaticTiming.median / (medians[context.threads] ?? .nan),
            "logloss_vs_one_model_percent": (automaticLoss - logLoss) / logLoss * 100,
        ])
        automaticResult.impl = "mlcore-auto-models"
        results.append(automaticResult)

        if context.options.peers {
            let peer = context.runPeer("scikit-learn") { () throws(PeerError) in
                try context.peers.runScript("linear/sklearn_logistic.py", arguments: [
                    "--train-x", directory + "/train_x.npy", "--train-y", directory + "/train_y.npy",
                    "--validation-x", directory + "/validation_x.npy", "--validation-y", directory + "/validation_y.npy",
                    "--threads", String(context.threads), "--repeat", String(max(1, min(context.options.repeat, 3))),
                    "--warmup", "1", "--workload", workload,
                ])
            }
            for var result in peer {
                guard let peerLoss = result.metrics["validation_logloss"], peerLoss.isFinite else {
                    context.recordPeerFailure(result.impl, "no validation log-loss reported")
                    continue
                }
                // How far our log-loss is from the peer's, in percent (the goal for lbfgs: ≤ 0.1).
                result.metrics["mlcore_logloss_excess_percent"] = (logLoss - peerLoss) / peerLoss * 100
                result.metrics["mlcore_auto_models_logloss_excess_percent"] = (automaticLoss - peerLoss) / peerLoss * 100
                result.metrics["mlcore_auto_models_time_ratio"] = automaticTiming.median / result.medianSeconds
                results.append(result)
            }
        }
        return results
    }

    func metric(_ result: LinearLearnerTrainer.Result, _ name: String) -> Double? {
        result.finalMetrics.first { $0.channel == "validation" && $0.name == name }?.value
    }

    func validationLogLoss(_ result: LinearLearnerTrainer.Result) throws -> Double {
        guard let value = metric(result, "binary_classification_cross_entropy_objective") else {
            throw BenchmarkError.wrongResult(workload: workload, detail: "no validation log-loss in the final metrics")
        }
        return value
    }
}

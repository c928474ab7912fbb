import MLAlgorithms
import Foundation
import MLCore

/// `mlbench linear-sparse`: binary logistic regression on 1,000,000 CSR rows × 100,000 features
/// with 50 non-zeros per row (``LinearSparseWorkload``), against scikit-learn's
/// `SGDClassifier(log_loss)` on the same CSR arrays.
///
/// Timed: a whole `fit` from scratch (ours: the linear learner, `num_models=1`,
/// `normalize_data=false`, early stopping on the validation channel; the rows stay sparse all the way), data already in memory. Checked
/// before timing: the validation log-loss beats predicting the base rate, and 1 and N workers
/// train the same model.
public struct LinearSparseSuite: BenchmarkSuite {
    public let name = "linear-sparse"
    public let summary = "linear learner on sparse rows, 1M × 100,000 features, 50 non-zeros per row, vs scikit-learn SGDClassifier"
    public let rows: Int
    public let features: Int
    public let nonzeros: Int
    let seed: UInt64 = 42

    public init(rows: Int = 1_000_000, features: Int = 100_000, nonzeros: Int = 50) {
        self.rows = rows
        self.features = features
        self.nonzeros = nonzeros
    }

    var workload: String { "sparse_logistic_\(rows / 1000)kx\(features / 1000)k_nnz\(nonzeros)" }

    public func keyMetric(for result: BenchmarkResult) -> String? { nil }

    /// `normalize_data=false`: each non-zero is already standard normal, and scikit-learn sees
    /// the values as they are. (Scaling a feature present in 0.05% of rows by 1/σ over all rows
    /// multiplies it by about 45, and adam's default rate then overshoots.)
    public static let hyperparameters = ["predictor_type": "binary_classifier", "num_models": "1", "normalize_data": "false"]

    public func run(_ context: BenchmarkContext) throws -> [BenchmarkResult] {
        let directory = try context.dataFile(LinearSparseWorkload.directoryName(rows: rows, features: features, nonzeros: nonzeros, seed: seed)).path
        if !FileManager.default.fileExists(atPath: directory + "/validation_y.npy") {
            context.logger.info("writing \(directory) (once; cached for later runs)")
        }
        try LinearSparseWorkload.ensure(directory: directory, rows: rows, features: features, nonzeros: nonzeros, seed: seed)
        let (tx, ty) = try LinearSparseWorkload.load(directory: directory, split: "train", features: features)
        let (vx, vy) = try LinearSparseWorkload.load(directory: directory, split: "validation", features: features)
        let train = try LinearDataset(channel: "train", features: tx, labels: ty)
        let validation = try LinearDataset(channel: "validation", features: vx, labels: vy)

        let hyperparameters = try LinearLearnerHyperparameters(strings: Self.hyperparameters)
        func fit(workers: Int) throws -> LinearLearnerTrainer.Result {
            try LinearLearnerTrainer(hyperparameters: hyperparameters, workers: workers, seed: seed).fit(train: train, validation: validation)
        }
        let checked = try fit(workers: context.threads)
        let logLoss = try metric(checked, "binary_classification_cross_entropy_objective")
        let positives = Double(vy.reduce(0, +)) / Double(vy.count)
        let baseRate = -(positives * log(positives) + (1 - positives) * log(1 - positives))
        guard logLoss < 0.9 * baseRate else {
            throw BenchmarkError.wrongResult(workload: workload, detail: "validation log-loss \(logLoss) is no better than the base rate's \(baseRate)")
        }
        var last = checked
        let timing = try context.measure { last = try fit(workers: context.threads) }
        guard last.model == checked.model else {
            throw BenchmarkError.wrongResult(workload: workload, detail: "a rerun trained a different model")
        }
        var results = [context.result(workload: workload, timing: timing, metrics: [
            "validation_logloss": logLoss,
            "validation_accuracy": try metric(last, "binary_classification_accuracy"),
            "epochs": Double(last.history.count),
            "best_epoch": Double(last.bestEpoch ?? -1),
            "rows_per_s_per_epoch": last.history.map(\.rowsPerSecond).sorted()[last.history.count / 2],
            "nonzeros_per_row": Double(nonzeros),
        ])]

        if context.options.peers {
            let peer = context.runPeer("scikit-learn") { () throws(PeerError) in
                try context.peers.runScript("linear/sklearn_sparse_logistic.py", arguments: [
                    "--directory", directory, "--features", String(features),
                    "--repeat", String(max(1, min(context.options.repeat, 3))), "--warmup", "0", "--workload", workload,
                ])
            }
            for var result in peer {
                guard let peerLoss = result.metrics["validation_logloss"], peerLoss.isFinite else {
                    context.recordPeerFailure(result.impl, "no validation log-loss reported")
                    continue
                }
                result.metrics["mlcore_logloss_excess_percent"] = (logLoss - peerLoss) / peerLoss * 100
                results.append(result)
            }
        }
        return results
    }

    func metric(_ result: LinearLearnerTrainer.Result, _ name: String) throws -> Double {
        guard let value = result.finalMetrics.first(where: { $0.channel == "validation" && $0.name == name })?.value else {
            throw BenchmarkError.wrongResult(workload: workload, detail: "no validation \(name) in the final metrics")
        }
        return value
    }
}

import Foundation
import MLCore
import Testing
@testable import MLAlgorithms

/// Numbers leaving float32 stop training with the round or epoch and the likely cause, never a
/// trap or a NaN model (docs/reliability.md "Numerical trouble"). The linear learner's and the
/// network's divergence tests are beside their trainers (LinearLearnerTrainerTests,
/// NetworkTrainerTests).
@Suite("Numerical trouble: XGBoost's overflowing gradients, PCA's zero covariance")
struct NumericalTroubleTests {
    /// 200 rows of 4 features, labels ±`scale`.
    func data(scale: Float) -> TreeDataset {
        var random = RandomStream(seed: 13)
        var x = Matrix<Float>(rows: 200, columns: 4)
        var y = [Float](repeating: 0, count: 200)
        for i in 0..<200 {
            for j in 0..<4 { x[i, j] = Float(random.standardNormal()) }
            y[i] = x[i, 0] > 0 ? scale : -scale
        }
        return TreeDataset(features: .dense(x), labels: y)
    }

    @Test("labels of ±3e38 (finite, but their differences are not): a TreeDivergenceError naming the round and the labels, not a trap")
    func hugeLabels() throws {
        let hp = try XGBoostHyperparameters(strings: ["num_round": "10", "objective": "reg:squarederror", "eta": "1"])
        #expect {
            _ = try BoostedTreesTrainer(hyperparameters: hp, threads: 2).fit(train: data(scale: 3e38))
        } throws: { error in
            guard let error = error as? TreeDivergenceError else { return false }
            return error.description.hasPrefix("training diverged in round \(error.round): the gradients of")
                && error.likelyCause.contains("labels as large as 3e+38") && error.likelyCause.contains("scale the labels")
        }
        // The same data with ordinary labels trains.
        _ = try BoostedTreesTrainer(hyperparameters: hp, threads: 2).fit(train: data(scale: 3))
    }

    @Test("PCA on rows that are all the same point: noVariance naming the rows and the likely cause, in regular and randomized mode",
          arguments: ["regular", "randomized"])
    func constantRows(mode: String) throws {
        let x = Matrix<Float>(rows: 300, columns: 8, repeating: 1.5)
        var strings = ["feature_dim": "8", "num_components": "3", "mini_batch_size": "100", "algorithm_mode": mode]
        if mode == "randomized" { strings["extra_components"] = "2" }
        let hp = try PCAHyperparameters(strings: strings)
        #expect(throws: UnsupervisedDataError.noVariance(channel: "train", rows: 300)) {
            _ = try PCATrainer(hyperparameters: hp).fit(.dense(x))
        }
        let message = UnsupervisedDataError.noVariance(channel: "train", rows: 300).description
        #expect(message.contains("no variance") && message.contains("likely cause"))
    }

    @Test("a rank-deficient covariance (rank 2 < 3 components) is not an error: the third component carries zero variance")
    func rankDeficient() throws {
        let x = lowRankRows(rows: 300, features: 8, rank: 2, noise: 0, seed: 5, as: Float.self)
        let hp = try PCAHyperparameters(strings: ["feature_dim": "8", "num_components": "3", "mini_batch_size": "100"])
        let model = try PCATrainer(hyperparameters: hp).fit(.dense(x)).model
        #expect(model.explainedVarianceRatio.allSatisfy { $0.isFinite })
    }
}

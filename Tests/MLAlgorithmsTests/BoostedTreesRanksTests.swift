import Foundation
import MLCore
import Testing
@testable import MLAlgorithms

/// The trees across ranks (in-process workers here; MPI processes in MLClusterTests): each rank
/// builds the histograms of its share of the rows, the integer histograms are summed, and the
/// model is the one process's, bit for bit.
@Suite struct BoostedTreesRanksTests {
    static func data(multiclass: Bool) throws -> TreeDataset {
        let x = try XGBoostFixtures.matrix("part2/growth_x")
        var labels = try XGBoostFixtures.vector("part2/growth_y")
        if multiclass { labels = labels.indices.map { i in Float((Int(labels[i]) + i % 3) % 3) } }
        return TreeDataset(features: .dense(x), labels: labels)
    }

    @Test("1, 2, 3 and 5 ranks grow the same trees as one process (depthwise, lossguide, subsample and column sampling, multiclass, forests)",
          arguments: [
            ["max_depth": "6"],
            ["grow_policy": "lossguide", "max_leaves": "16", "max_depth": "0"],
            ["max_depth": "4", "subsample": "0.7", "colsample_bylevel": "0.8", "colsample_bynode": "0.7"],
            ["max_depth": "3", "num_parallel_tree": "2", "subsample": "0.8"],
            ["max_depth": "4", "objective": "multi:softprob", "num_class": "3"],
          ])
    func sameTreesAcrossRanks(extra: [String: String]) throws {
        let strings = TreeGrowthPolicyTests.common.merging(["num_round": "6", "eval_metric": "logloss"]) { _, b in b }.merging(extra) { _, b in b }
        let hp = try XGBoostHyperparameters(strings: strings)
        let data = try Self.data(multiclass: extra["objective"] == "multi:softprob")
        let reference = try BoostedTreesTrainer(hyperparameters: hp, threads: 2).fit(train: data, validation: data)
        for ranks in [1, 2, 3, 5] {
            var trainer = BoostedTreesTrainer(hyperparameters: hp, threads: 1)
            trainer.group = InProcessWorkerGroup(workers: ranks, timeout: 60)
            let events = SavedEvaluations()
            let result = try trainer.fit(train: data, validation: data, events: { events.append($0.iteration) })
            #expect(result.model == reference.model, "\(ranks) ranks, \(extra)")
            #expect(result.history.map(\.iteration) == reference.history.map(\.iteration))
            // Only rank 0 reports: one event per round.
            #expect(events.values == Array(0..<6), "\(ranks) ranks")
        }
    }

    @Test("reg:absoluteerror (median leaves) is refused across ranks, with the reason")
    func absoluteErrorRefused() throws {
        let hp = try XGBoostHyperparameters(strings: TreeGrowthPolicyTests.common.merging(["objective": "reg:absoluteerror"]) { _, b in b })
        var trainer = BoostedTreesTrainer(hyperparameters: hp, threads: 1)
        trainer.group = InProcessWorkerGroup(workers: 2, timeout: 60)
        #expect(throws: TreeDataError.self) { _ = try trainer.fit(train: try Self.data(multiclass: false)) }
    }
}

final class SavedEvaluations: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [Int] = []
    func append(_ v: Int) { lock.lock(); list.append(v); lock.unlock() }
    var values: [Int] { lock.lock(); defer { lock.unlock() }; return list }
}

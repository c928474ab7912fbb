import Foundation
import MLCore
import Testing
@testable import MLAlgorithms

/// Streaming k-means with its centres on the parameter server: synchronous = all-reduce bit for
/// bit; asynchronous converges near it.
@Suite struct KMeansParameterServerTests {
    @Test("synchronous parameter server = all-reduce, bit for bit (model, state, train MSD), for 1–3 workers and 1–3 shards, with decay")
    func synchronousEqualsAllReduce() throws {
        let x = blobRows(rows: 9000, features: 4, blobs: 5, seed: 31)
        let hp = try kmeansHyperparameters(["feature_dim": "4", "k": "5", "mini_batch_size": "1500", "epochs": "3", "half_life_time_size": "4000"])
        let reference = try KMeansTrainer(hyperparameters: hp, workers: 1).fit(.dense(x))
        for workers in 1...3 {
            for shards in 1...3 {
                var trainer = KMeansTrainer(hyperparameters: hp, workers: workers)
                trainer.parameterServer = NetworkParameterServer(shards: shards, consistency: .synchronous)
                let served = try trainer.fit(.dense(x))
                #expect(served.model == reference.model, "\(workers) workers, \(shards) shards")
                #expect(served.state == reference.state && served.trainMSD == reference.trainMSD, "\(workers) workers, \(shards) shards")
            }
        }
    }

    @Test("asynchronous and stale servers converge within 2% of the synchronous inertia, and say they are not reproducible",
          arguments: [ParameterServerConsistency.asynchronous, .boundedStaleness(1)])
    func looseModesConverge(consistency: ParameterServerConsistency) throws {
        let x = blobRows(rows: 20000, features: 6, blobs: 8, seed: 5)
        let hp = try kmeansHyperparameters(["feature_dim": "6", "k": "8", "mini_batch_size": "2000", "epochs": "2", "init_method": "kmeans++"])
        let sync = try KMeansTrainer(hyperparameters: hp, workers: 3, seed: 3).fit(.dense(x))
        var trainer = KMeansTrainer(hyperparameters: hp, workers: 3, seed: 3)
        trainer.parameterServer = NetworkParameterServer(shards: 2, consistency: consistency)
        let notes = NoteBox()
        let loose = try trainer.fit(channel: "train", passes: { _ in MatrixSource(.dense(x)) }, events: { event in
            if case .note(let text) = event { notes.append(text) }
        })
        let a = naiveInertia(x, loose.model.centroids), b = naiveInertia(x, sync.model.centroids)
        #expect(a <= b * 1.02, "\(consistency): inertia \(a), synchronous \(b)")
        #expect(loose.trainMSD.isFinite && loose.trainMSD > 0)
        #expect(notes.values.contains { $0.contains("not reproducible") })
    }
}

final class NoteBox: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func append(_ s: String) { lock.lock(); list.append(s); lock.unlock() }
    var values: [String] { lock.lock(); defer { lock.unlock() }; return list }
}

import Foundation
import MLCore
import Testing
@testable import MLAlgorithms

/// Dense rows: a logistic model with `features` features.
private func denseData(rows: Int, features: Int, seed: UInt64, classes: Int = 2, channel: String = "train") throws -> LinearDataset {
    var r = RandomStream(seed: seed, path: [7])
    let truth = (0..<(features * classes)).map { _ in r.standardNormal() }
    var x: [Float] = [], y: [Float] = []
    for _ in 0..<rows {
        var scores = [Double](repeating: 0, count: classes)
        for j in 0..<features {
            let v = r.standardNormal()
            x.append(Float(v))
            for c in 0..<classes { scores[c] += v * truth[j * classes + c] }
        }
        if classes == 2 {
            y.append(scores[0] + 0.5 * r.standardNormal() > 0 ? 1 : 0)
        } else {
            y.append(Float(scores.indices.max { scores[$0] < scores[$1] } ?? 0))
        }
    }
    return try LinearDataset(channel: channel, features: Matrix(rows: rows, columns: features, elements: x), labels: y)
}

/// Sparse rows: each touches `perRow` of `features` features (the same few often, the rest rarely).
private func sparseData(rows: Int, features: Int, perRow: Int, seed: UInt64, channel: String = "train") throws -> LinearDataset {
    var r = RandomStream(seed: seed, path: [8])
    let truth = (0..<features).map { _ in r.standardNormal() }
    var s = SparseMatrix<Float>(columns: features)
    var y: [Float] = []
    for _ in 0..<rows {
        var columns = Set<Int>()
        while columns.count < perRow {
            let u = r.nextDouble()
            columns.insert(Int(u * u * Double(features)) % features)
        }
        let sorted = columns.sorted()
        let values = sorted.map { _ in Float(1 + r.nextDouble()) }
        var score = 0.0
        for (j, v) in zip(sorted, values) { score += Double(v) * truth[j] }
        s.appendRow(indices: sorted.map { Int32($0) }, values: values)
        y.append(score + 0.3 * r.standardNormal() > 0 ? 1 : 0)
    }
    return try LinearDataset(channel: channel, features: s, labels: y)
}

private func served(_ strings: [String: String], workers: Int, shards: Int, _ consistency: ParameterServerConsistency) throws -> LinearLearnerTrainer {
    var t = try trainer(strings, workers: workers)
    t.parameterServer = NetworkParameterServer(shards: shards, consistency: consistency)
    return t
}

private func expectSame(_ a: LinearLearnerTrainer.Result, _ b: LinearLearnerTrainer.Result, _ label: String) {
    #expect(a.model.parameters.map(\.bitPattern) == b.model.parameters.map(\.bitPattern), "\(label): model")
    #expect(a.state.parameters == b.state.parameters, "\(label): parameters")
    #expect(a.state.optimizer == b.state.optimizer, "\(label): optimizer state")
    #expect(a.state.averaged == b.state.averaged, "\(label): average")
    #expect(a.history.map(\.criterion) == b.history.map(\.criterion), "\(label): epoch metrics")
    #expect(a.finalMetrics == b.finalMetrics, "\(label): final metrics")
}

/// The linear learner through the parameter server: synchronous = all-reduce bit for bit,
/// dense and sparse; the loose modes converge near it.
@Suite struct LinearLearnerParameterServerTests {
    @Test("synchronous server = all-reduce bit for bit on dense rows, 1–3 workers × 1–3 shards",
          arguments: [
              ["predictor_type": "binary_classifier", "mini_batch_size": "100", "epochs": "3"],
              ["predictor_type": "binary_classifier", "mini_batch_size": "64", "epochs": "2", "optimizer": "sgd", "momentum": "0.9",
               "wd": "0.01", "l1": "0.001", "num_models": "3"],
              ["predictor_type": "multiclass_classifier", "num_classes": "3", "mini_batch_size": "128", "epochs": "2", "optimizer": "rmsprop",
               "num_models": "2", "learning_rate": "0.01"],
          ])
    func synchronousDense(strings: [String: String]) throws {
        let classes = Int(strings["num_classes"] ?? "2") ?? 2
        let train = try denseData(rows: 1_200, features: 9, seed: 11, classes: classes)
        let validation = try denseData(rows: 300, features: 9, seed: 12, classes: classes, channel: "validation")
        let reference = try trainer(strings, workers: 2).fit(train: train, validation: validation)
        for workers in 1...3 {
            for shards in 1...3 {
                let r = try served(strings, workers: workers, shards: shards, .synchronous).fit(train: train, validation: validation)
                expectSame(r, reference, "\(workers) workers, \(shards) shards")
            }
        }
    }

    @Test("synchronous server = all-reduce bit for bit on sparse rows, pushing and pulling only touched rows",
          arguments: [
              ["predictor_type": "binary_classifier", "mini_batch_size": "200", "epochs": "2"],
              ["predictor_type": "binary_classifier", "mini_batch_size": "150", "epochs": "2", "optimizer": "sgd", "momentum": "0.5",
               "wd": "0.001", "num_models": "2"],
          ])
    func synchronousSparse(strings: [String: String]) throws {
        let train = try sparseData(rows: 1_500, features: 400, perRow: 6, seed: 21)
        let validation = try sparseData(rows: 300, features: 400, perRow: 6, seed: 22, channel: "validation")
        let reference = try trainer(strings, workers: 1).fit(train: train, validation: validation)
        for workers in 2...3 {
            for shards in [1, 3] {
                let r = try served(strings, workers: workers, shards: shards, .synchronous).fit(train: train, validation: validation)
                expectSame(r, reference, "\(workers) workers, \(shards) shards")
            }
        }
    }

    @Test("sparse pushes carry the touched rows only: far fewer bytes than the dense buffers")
    func sparseTraffic() throws {
        let train = try sparseData(rows: 1_000, features: 2_000, perRow: 5, seed: 23)
        let strings = ["predictor_type": "binary_classifier", "mini_batch_size": "100", "epochs": "1", "num_models": "1"]
        let state = try trainer(strings).fit(train: train).state
        let layout = state.layout.parameterLayout
        #expect(layout.models == 1 && layout.features == 2_000)
        let t = try served(strings, workers: 2, shards: 2, .synchronous)
        let server = try #require(try t.makeServer(state: state, layout: layout, batchCount: 10, events: { _ in }))
        // One step by hand: each worker pushes two micro-shards of a few rows (the bias row is 2,000).
        let ps = server.server
        _ = try InProcessWorkerGroup(workers: 2).run { comm in
            server.prepare(step: 0, weight: 10, diverged: [false])
            let parts: [(rows: [Int], values: [Double])] = [([3, 17, 2_000], [1, 2, 3]), ([5, 2_000], [4, 5])]
            try ps.pushRowParts(worker: comm.rank, step: 0, parts: parts)
            return 0
        }
        let counters = ps.counters
        // Values and row indices: (3 + 3) + (2 + 2) per worker.
        #expect(counters.pushes == 2 && counters.bytesPushed == 2 * 10 * 8)
        #expect(counters.bytesPushed < layout.count * 8 / 50)
        let pulled = try ps.pullRows(worker: 0, step: 1, rows: [3, 2_000])
        #expect(pulled.count == 2)
        // The touched rows moved; every shard took one update.
        #expect(pulled[0] != Double(state.parameters[3]))
        #expect(counters.updates == 2)
    }

    @Test("asynchronous and stale servers converge to within 2% of the synchronous validation loss, and say they are not reproducible",
          arguments: [ParameterServerConsistency.asynchronous, .boundedStaleness(1), .boundedStaleness(0)])
    func looseModesConverge(consistency: ParameterServerConsistency) throws {
        let strings = ["predictor_type": "binary_classifier", "mini_batch_size": "100", "epochs": "4"]
        for sparse in [false, true] {
            let train = sparse ? try sparseData(rows: 2_000, features: 300, perRow: 8, seed: 31) : try denseData(rows: 2_000, features: 10, seed: 31)
            let validation = sparse ? try sparseData(rows: 500, features: 300, perRow: 8, seed: 32, channel: "validation")
                : try denseData(rows: 500, features: 10, seed: 32, channel: "validation")
            let sync = try trainer(strings, workers: 3).fit(train: train, validation: validation)
            let notes = NoteBox()
            let loose = try served(strings, workers: 3, shards: 2, consistency).fit(train: train, validation: validation, events: { event in
                if case .note(let text) = event { notes.append(text) }
            })
            let a = try #require(metric(loose.finalMetrics, "validation", "binary_classification_cross_entropy_objective"))
            let b = try #require(metric(sync.finalMetrics, "validation", "binary_classification_cross_entropy_objective"))
            #expect(a.isFinite && a <= b * 1.02, "\(consistency), sparse \(sparse): validation loss \(a), synchronous \(b)")
            #expect(loose.history.count == 4)
            #expect(notes.values.contains { $0.contains("not reproducible") })
        }
    }

    @Test("cancelled mid-epoch through the synchronous server, resumed with all-reduce: the uninterrupted model")
    func cancelAndResume() throws {
        let train = try denseData(rows: 3_000, features: 6, seed: 41)
        let strings = ["predictor_type": "binary_classifier", "mini_batch_size": "50", "epochs": "3", "optimizer": "adam"]
        let uninterrupted = try trainer(strings, workers: 2).fit(train: train)
        let flag = CancellationFlag()
        var interrupted = try served(strings, workers: 2, shards: 2, .synchronous)
        interrupted.progressInterval = 5
        let first = try interrupted.fit(train: train, cancellation: flag, events: { event in
            if case .progress(let epoch, let completed, _) = event, epoch == 1, completed >= 20 { flag.cancel() }
        })
        #expect(first.stopReason == .cancelled && first.state.epoch == 1)
        let resumed = try trainer(strings, workers: 1).fit(train: train, resumingFrom: first.state)
        expectSame(resumed, uninterrupted, "resumed")
    }

    @Test("a stop request under the asynchronous server ends every worker and returns a usable state")
    func asynchronousStop() throws {
        let train = try denseData(rows: 3_000, features: 6, seed: 42)
        let strings = ["predictor_type": "binary_classifier", "mini_batch_size": "50", "epochs": "3"]
        let flag = CancellationFlag()
        var t = try served(strings, workers: 3, shards: 2, .boundedStaleness(1))
        t.progressInterval = 5
        let r = try t.fit(train: train, cancellation: flag, events: { event in
            if case .progress(let epoch, let completed, _) = event, epoch == 0, completed >= 10 { flag.cancel() }
        })
        #expect(r.stopReason == .cancelled)
        #expect(r.state.parameters.allSatisfy(\.isFinite) && r.state.parameters.contains { $0 != 0 })
    }

    @Test("divergence through the server is the same error as through all-reduce")
    func divergence() throws {
        let train = try denseData(rows: 600, features: 5, seed: 43)
        let strings = ["predictor_type": "regressor", "mini_batch_size": "100", "epochs": "3", "optimizer": "sgd", "learning_rate": "1e30",
                       "normalize_data": "false", "use_lr_scheduler": "false"]
        #expect(throws: LinearLearnerError.self) { _ = try trainer(strings, workers: 2).fit(train: train) }
        #expect(throws: LinearLearnerError.self) { _ = try served(strings, workers: 2, shards: 2, .synchronous).fit(train: train) }
        #expect(throws: LinearLearnerError.self) { _ = try served(strings, workers: 2, shards: 2, .asynchronous).fit(train: train) }
    }

    @Test("_kvstore and _num_kv_servers choose the server; bad values name the hyperparameter")
    func kvStoreSetting() throws {
        func choose(_ h: [String: String]) throws -> NetworkParameterServer? {
            let hp = try LinearLearnerHyperparameters(strings: ["predictor_type": "binary_classifier"].merging(h) { $1 })
            return try KVStoreSetting.parameterServer(hp.values, workers: 3)
        }
        #expect(try choose([:]) == nil)
        #expect(try choose(["_kvstore": "local"]) == nil)
        #expect(try choose(["_kvstore": "dist_sync"]) == NetworkParameterServer(shards: 3, consistency: .synchronous))
        #expect(try choose(["_kvstore": "dist_async", "_num_kv_servers": "2"]) == NetworkParameterServer(shards: 2, consistency: .asynchronous))
        #expect(try choose(["_kvstore": "dist_stale:2"]) == NetworkParameterServer(shards: 3, consistency: .boundedStaleness(2)))
        #expect(throws: HyperparameterError.invalid(name: "_kvstore", value: "dist_stale:-1",
                                                    rule: "auto, local, device, dist_sync, dist_device_sync, dist_async, dist_device_async or dist_stale:<s> with s ≥ 0")) {
            _ = try choose(["_kvstore": "dist_stale:-1"])
        }
        #expect(throws: HyperparameterError.invalid(name: "_num_kv_servers", value: "0", rule: "auto or an integer ≥ 1")) {
            _ = try choose(["_kvstore": "dist_sync", "_num_kv_servers": "0"])
        }
    }
}

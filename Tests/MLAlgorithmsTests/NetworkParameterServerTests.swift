import Foundation
@testable import MLAlgorithms
import MLCore
import Synchronization
import Testing

/// The CNN trainer through a parameter server: the synchronous mode is all-reduce bit for bit
/// (parameters, batch-norm statistics, optimizer state, metrics); the stale and asynchronous
/// modes converge near it.
@Suite struct NetworkParameterServerTests {
    static func settings(workers: Int, server: NetworkParameterServer?) -> NetworkTrainer.Settings {
        var s = NetworkTrainerTests.mixedSettings(workers: workers)
        s.parameterServer = server
        return s
    }

    @Test("synchronous parameter server = all-reduce, bit for bit, for 1–3 workers and 1 or 3 server shards (SGD-Nesterov and Adam with decay)")
    func synchronousEqualsAllReduce() throws {
        let data = try NetworkTrainerTests.mixedData()
        let network = try Network(NetworkTrainerTests.mixedModel(), inputShape: data.shape, seed: 2)
        for adam in [false, true] {
            func settings(_ workers: Int, _ server: NetworkParameterServer?) -> NetworkTrainer.Settings {
                var s = Self.settings(workers: workers, server: server)
                if adam {
                    s.optimizer = .adam(learningRate: 0.01, weightDecay: 1e-4)
                    s.decay = .step(every: 1, factor: 0.5)
                }
                return s
            }
            let reference = try NetworkTrainer(settings: settings(1, nil)).fit(network, train: data, validation: data)
            #expect(reference.network.parameters != network.parameters)
            for workers in [1, 2, 3] {
                for shards in [1, 3] {
                    let served = try NetworkTrainer(settings: settings(workers, NetworkParameterServer(shards: shards)))
                        .fit(network, train: data, validation: data)
                    let label = "adam \(adam), \(workers) workers, \(shards) shards"
                    #expect(served.network.parameters == reference.network.parameters, "\(label)")
                    #expect(served.network.buffers == reference.network.buffers, "\(label): running statistics")
                    #expect(served.state.optimizer == reference.state.optimizer, "\(label): optimizer state")
                    #expect(served.state.history == reference.state.history, "\(label): metrics")
                }
            }
        }
    }

    @Test("a synchronous parameter-server run stopped mid-epoch resumes (through its checkpoint) to the uninterrupted run's bits")
    func cancelledRunResumes() throws {
        let data = try NetworkTrainerTests.mixedData()
        let network = try Network(NetworkTrainerTests.mixedModel(), inputShape: data.shape, seed: 2)
        let settings = Self.settings(workers: 2, server: NetworkParameterServer(shards: 2))
        let straight = try NetworkTrainer(settings: Self.settings(workers: 2, server: nil)).fit(network, train: data, validation: data)
        let flag = CancellationFlag()
        let saved = SavedStates()
        let stopped = try NetworkTrainer(settings: settings).fit(
            network, train: data, validation: data, cancellation: flag, checkpoint: { saved.append($0) },
            events: { if case .progress(1, 2, _) = $0 { flag.cancel() } })
        #expect(stopped.stopReason == .cancelled)
        #expect(saved.last == stopped.state)
        let resumed = try NetworkTrainer(settings: settings).fit(network, train: data, validation: data, resume: stopped.state)
        #expect(resumed.network.parameters == straight.network.parameters)
        #expect(resumed.state == straight.state)
    }

    @Test("bounded staleness and asynchronous training converge near the synchronous result, and say they are not reproducible", arguments: [
        ParameterServerConsistency.boundedStaleness(1), .boundedStaleness(0), .asynchronous,
    ])
    func staleAndAsynchronousConverge(consistency: ParameterServerConsistency) throws {
        let data = try NetworkTrainerTests.mixedData()
        let network = try Network(NetworkTrainerTests.mixedModel(), inputShape: data.shape, seed: 2)
        var sync = Self.settings(workers: 1, server: nil)
        sync.epochs = 6
        let reference = try NetworkTrainer(settings: sync).fit(network, train: data)
        var loose = Self.settings(workers: 2, server: NetworkParameterServer(shards: 2, consistency: consistency))
        loose.epochs = 6
        let notes = Mutex<[String]>([])
        let result = try NetworkTrainer(settings: loose).fit(network, train: data, events: { event in
            if case .note(let text) = event { notes.withLock { $0.append(text) } }
        })
        let first = try #require(reference.state.history.first?.trainLoss)
        let ours = try #require(result.state.history.last?.trainLoss), theirs = try #require(reference.state.history.last?.trainLoss)
        #expect(ours.isFinite && ours < first, "\(consistency): loss \(first) → \(ours)")
        #expect(ours < 1.5 * theirs + 0.1, "\(consistency): final loss \(ours), synchronous \(theirs)")
        #expect(result.state.history.count == 6)
        #expect(notes.withLock { $0 }.contains { $0.contains("parameter_server=\(consistency)") && $0.contains("not reproducible") })
    }

    @Test("the parameter server is refused across processes and for nonsense shapes, naming the setting")
    func refusals() throws {
        struct OtherGroup: WorkerGroup {
            var size: Int { 2 }
            var isPrimary: Bool { true }
            func run<R: Sendable>(_ body: @escaping @Sendable (any Communicator) throws -> R) throws -> R {
                try InProcessWorkerGroup(workers: 2).run(body)
            }
        }
        let data = try NetworkTrainerTests.mixedData()
        let network = try Network(NetworkTrainerTests.mixedModel(), inputShape: data.shape, seed: 2)
        let trainer = NetworkTrainer(settings: Self.settings(workers: 2, server: NetworkParameterServer()), group: OtherGroup())
        #expect(throws: NetworkError.self) { _ = try trainer.fit(network, train: data) }
        var bad = Self.settings(workers: 2, server: NetworkParameterServer(shards: 0))
        #expect(throws: NetworkError.self) { try bad.validate() }
        bad.parameterServer = NetworkParameterServer(shards: 1, consistency: .boundedStaleness(-1))
        #expect(throws: NetworkError.self) { try bad.validate() }
    }
}

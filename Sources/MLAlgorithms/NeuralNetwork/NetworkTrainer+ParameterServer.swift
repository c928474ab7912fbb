import Foundation
import MLCore

/// Training through a parameter server instead of all-reduce (DESIGN.md "Distributed"): the
/// flat parameter buffer is split into `shards` server shards, each running the optimizer step
/// on its slice (the optimizer state lives on the server, as in MXNet's KVStore); workers push
/// their micro-shards' partial gradients and pull the new parameters.
///
/// `.synchronous` gives the same bits as all-reduce. `.boundedStaleness` and `.asynchronous`
/// apply each worker's push on arrival (its share of the gradient scaled to a whole mini-batch),
/// so a step may use parameters up to `s` (or any number of) updates old; the epoch's metrics
/// are summed over the workers at the end of the epoch, batch-norm's running statistics are
/// rank 0's, and a stop request (SIGTERM) is honoured at the end of the epoch.
public struct NetworkParameterServer: Sendable, Codable, Hashable {
    public var shards: Int
    public var consistency: ParameterServerConsistency

    public init(shards: Int = 2, consistency: ParameterServerConsistency = .synchronous) {
        self.shards = shards
        self.consistency = consistency
    }
}

/// The server side of the optimizer: one ``Optimizer/State`` per server shard, for that shard's
/// parameters. A shard's update runs under the shard's lock; `lock` guards the dictionary
/// against the assembly a checkpoint needs.
final class ServerOptimizer: @unchecked Sendable {
    let optimizer: Optimizer
    let parameterCount: Int
    let workers: Int
    let ranges: [Range<Int>]
    /// The learning rate of the update with this global step index.
    let learningRate: @Sendable (Int) -> Float
    let firstStep: Int
    let synchronous: Bool
    private let lock = NSLock()
    private var states: [Int: Optimizer.State] = [:]

    init(optimizer: Optimizer, start: Optimizer.State, ranges: [Range<Int>], parameterCount p: Int, workers: Int,
         firstStep: Int, synchronous: Bool, learningRate: @escaping @Sendable (Int) -> Float) {
        self.optimizer = optimizer
        self.parameterCount = p
        self.workers = workers
        self.ranges = ranges
        self.learningRate = learningRate
        self.firstStep = firstStep
        self.synchronous = synchronous
        for r in ranges {
            let pr = r.clamped(to: 0..<p)
            var s = Optimizer.State()
            s.steps = start.steps
            if start.first.count == p { s.first = Array(start.first[pr]) }
            if start.second.count == p { s.second = Array(start.second[pr]) }
            states[r.lowerBound] = s
        }
    }

    /// The server's update of one shard (``ParameterServer/Apply``).
    func apply(range: Range<Int>, values: UnsafeMutableBufferPointer<Float>, update: UnsafeBufferPointer<Float>, contributors: Int, version: Int) {
        let p = parameterCount, lo = range.lowerBound
        // Synchronous: the sum over every worker, used as it is (so the bits equal all-reduce's).
        // Otherwise one worker's share of the mini-batch, scaled to a whole one.
        let scale: Float? = contributors == workers ? nil : Float(workers) / Float(max(1, contributors))
        let step = firstStep + (synchronous ? version : version / max(1, workers))
        let pr = range.clamped(to: 0..<p)
        if !pr.isEmpty {
            var parameters = Array(values[(pr.lowerBound - lo)..<(pr.upperBound - lo)])
            var gradients = Array(update[(pr.lowerBound - lo)..<(pr.upperBound - lo)])
            if let scale { for i in gradients.indices { gradients[i] *= scale } }
            lock.lock()
            var state = states[lo] ?? Optimizer.State()
            lock.unlock()
            optimizer.step(parameters: &parameters, gradients: gradients, state: &state, learningRate: learningRate(step))
            lock.lock()
            states[lo] = state
            lock.unlock()
            for (i, v) in parameters.enumerated() { values[pr.lowerBound - lo + i] = v }
        }
        // The rest (batch-norm statistics, loss and counts) is published as pushed.
        let tail = max(lo, p)
        if tail < range.upperBound {
            for i in tail..<range.upperBound { values[i - lo] = scale.map { update[i - lo] * $0 } ?? update[i - lo] }
        }
    }

    /// Every shard's state as one ``Optimizer/State`` over the whole parameter buffer.
    func assembled() -> Optimizer.State {
        lock.lock()
        defer { lock.unlock() }
        var out = Optimizer.State()
        var first: [Float] = [], second: [Float] = []
        for r in ranges where !r.clamped(to: 0..<parameterCount).isEmpty {
            let s = states[r.lowerBound] ?? Optimizer.State()
            out.steps = max(out.steps, s.steps)
            first += s.first
            second += s.second
        }
        out.first = first.count == parameterCount ? first : []
        out.second = second.count == parameterCount ? second : []
        return out
    }
}

extension TrainingWorker {
    /// The parameters, statistics and sums after this rank's push of `partials` for the
    /// current step (synchronous: every rank's sum; otherwise this rank's own sums, the
    /// server's parameters as they are now). Returns the vector laid out as an all-reduce's.
    mutating func exchange(_ local: [Float], mine: Range<Int>, server: ParameterServer<Float>, state: NetworkTrainingState) throws -> [Float] {
        let k = state.steps - serverBase
        try server.push(worker: comm.rank, step: k, partials: local, microShards: mine)
        var values = try server.pull(worker: comm.rank, step: k + 1)
        if server.consistency != .synchronous {
            // The loss, counts and hits of this rank's own shards.
            let p = net.parameterCount, s = net.statisticCount
            for j in (p + s)..<width { values[j] = 0 }
            for m in 0..<mine.count { for j in (p + s)..<width { values[j] += local[m * width + j] } }
        }
        return values
    }

    /// Non-synchronous modes at the end of an epoch: every rank waits for the others, takes the
    /// server's final parameters and rank 0's batch-norm statistics, and the epoch's sums over
    /// every rank, so the epoch ends with the same state everywhere.
    func settleEpoch(_ state: inout NetworkTrainingState, server: ParameterServer<Float>) throws {
        try comm.barrier()
        let values = try server.pull(worker: comm.rank, step: state.steps - serverBase)
        state.parameters = Array(values[0..<net.parameterCount])
        state.buffers = try comm.broadcast(state.buffers, root: 0)
        var sums = [state.epochLoss, state.epochCorrect, state.epochTopK ?? 0, Double(state.epochRows)]
        try comm.allReduceSum(&sums)
        state.epochLoss = sums[0]
        state.epochCorrect = sums[1]
        if state.epochTopK != nil { state.epochTopK = sums[2] }
        state.epochRows = Int(sums[3])
    }
}

import Foundation
import MLCore

/// The linear learner through a parameter server (DESIGN.md "Distributed"): the parameters
/// live on the server's shards as rows of `W` (one row per feature, then the bias row), each
/// shard running ``LinearOptimizer`` on its rows with the optimizer's moments and the iterate
/// average kept beside them. Workers pull the rows they need, push their micro-shards' gradient
/// sums and never step the model themselves.
///
/// Dense data pulls and pushes whole buffers. Sparse data (LibSVM, sparse RecordIO) pulls only
/// the rows of the features its rows touch and pushes only the touched rows of each
/// micro-shard's gradient (``ParameterServer/pushRowParts(worker:step:parts:)``); the server
/// still updates every row of a shard each step, because Adam, momentum, `wd` and `l1` move
/// untouched weights too.
///
/// `.synchronous`: the mini-batch's losses, weight and the stop flag are all-reduced first (a
/// few values); every worker takes the same divergence decisions and the server divides the
/// tree sum of the gradient by the same weight, so the model equals all-reduce bit for bit.
/// `.boundedStaleness(s)` and `.asynchronous`: each push is the worker's own mean gradient,
/// applied on arrival as one update (its share of the mini-batch); losses and divergence are
/// per worker until the epoch's end, where they are summed; a stop request is honoured by every
/// worker at its next mini-batch.
final class LinearServer: @unchecked Sendable {
    let server: ParameterServer<Double>
    let layout: LinearParameterLayout
    let synchronous: Bool
    let workers: Int
    /// Optimizer updates taken before this server started (a resumed run's).
    let firstStep: Int

    private let optimizer: LinearOptimizer
    private let rates: @Sendable (Int) -> [Double]
    private let averagingDecay: Double
    /// Guards everything below.
    private let lock = NSLock()
    /// Per shard (keyed by its first index): optimizer moments, the iterate average, and the
    /// models whose parameters the shard has zeroed.
    private var moments: [Int: OptimizerState<Float>] = [:]
    private var averages: [Int: [Double]] = [:]
    private var zeroed: [Int: Set<Int>] = [:]
    /// Synchronous: each server step's mean-gradient divisor and diverged models.
    private var contexts: [Int: (weight: Double, diverged: [Bool])] = [:]
    /// Asynchronous: the models any worker found diverged.
    private var divergedNow: [Bool]
    /// A live model's parameter that became non-finite: (server step, model, index, value).
    private var nonFinite: [(step: Int, model: Int, index: Int, value: Float)] = []

    init(state: LinearTrainingState, layout: LinearParameterLayout, shape: NetworkParameterServer, workers: Int,
         optimizer: LinearOptimizer, averagingDecay: Double, timeout: Double?,
         rates: @escaping @Sendable (Int) -> [Double]) throws(ParameterServerError) {
        self.layout = layout
        self.synchronous = shape.consistency == .synchronous
        self.workers = workers
        self.firstStep = state.optimizer.step
        self.optimizer = optimizer
        self.rates = rates
        self.averagingDecay = averagingDecay
        self.divergedNow = state.diverged
        let box = ApplyBox()
        server = try ParameterServer<Double>(
            initial: state.parameters.map { Double($0) }, shards: shape.shards, workers: workers, consistency: shape.consistency,
            rowWidth: layout.columns, timeout: timeout) { range, values, update, contributors, version in
                // invariant: set below, before any worker can push
                box.value!.apply(range: range, values: values, update: update, version: version)
            }
        for r in server.shardRanges {
            var m = OptimizerState<Float>(rule: optimizer.rule, count: 0)
            m.step = state.optimizer.step
            if !state.optimizer.first.isEmpty { m.first = Array(state.optimizer.first[r]) }
            if !state.optimizer.second.isEmpty { m.second = Array(state.optimizer.second[r]) }
            moments[r.lowerBound] = m
            averages[r.lowerBound] = Array(state.averaged[r])
            // Diverged models were zeroed before this server started.
            zeroed[r.lowerBound] = Set((0..<layout.models).filter { state.diverged[$0] })
        }
        box.value = self
    }

    /// Lets the server's closure reach the object that owns the server.
    private final class ApplyBox: @unchecked Sendable {
        var value: LinearServer?
    }

    // MARK: Worker side

    /// Synchronous: records server step `step`'s divisor and diverged models (every worker
    /// records the same) before pushing it.
    func prepare(step: Int, weight: Double, diverged: [Bool]) {
        lock.lock()
        contexts[step] = (weight, diverged)
        contexts[step - 8] = nil  // long applied by now: every worker has pushed step − 1
        lock.unlock()
    }

    /// Asynchronous: `model` diverged on some worker; the shards zero it at their next update.
    func markDiverged(_ diverged: [Bool]) {
        lock.lock()
        for m in diverged.indices where diverged[m] { divergedNow[m] = true }
        lock.unlock()
    }

    /// Each model's first non-finite parameter recorded at server step `step` or before (lowest
    /// step, then lowest index), in model order; forgotten once returned.
    func takeNonFinite(upTo step: Int) -> [(step: Int, model: Int, index: Int, value: Float)] {
        lock.lock()
        defer { lock.unlock() }
        var out: [(step: Int, model: Int, index: Int, value: Float)] = []
        for m in 0..<layout.models {
            let found = nonFinite.filter { $0.step <= step && $0.model == m }
            if let first = found.min(by: { ($0.step, $0.index) < ($1.step, $1.index) }) { out.append(first) }
        }
        nonFinite.removeAll { $0.step <= step }
        return out
    }

    /// Copies the server's parameters, average and optimizer state into `state` (the caller
    /// has made sure every update it wants is in).
    func read(into state: inout LinearTrainingState) {
        let values = server.values
        for i in values.indices { state.parameters[i] = Float(values[i]) }
        lock.lock()
        defer { lock.unlock() }
        var first: [Float] = [], second: [Float] = []
        for r in server.shardRanges {
            // invariant: one entry per shard, made in init
            let m = moments[r.lowerBound]!, a = averages[r.lowerBound]! // invariant: see above
            first += m.first
            second += m.second
            for (i, v) in a.enumerated() { state.averaged[r.lowerBound + i] = v }
            state.optimizer.step = m.step
        }
        state.optimizer.first = first
        state.optimizer.second = second
    }

    // MARK: Server side

    /// One shard's update: the mean gradient (the sum over `weight`, or a worker's own mean),
    /// diverged models held at zero, the optimizer step, the non-finite check, the average.
    private func apply(range: Range<Int>, values: UnsafeMutableBufferPointer<Double>, update: UnsafeBufferPointer<Double>, version: Int) {
        let lo = range.lowerBound, n = range.count
        lock.lock()
        let context: (weight: Double, diverged: [Bool]) = synchronous ? contexts[version] ?? (0, divergedNow) : (1, divergedNow)
        // invariant: one entry per shard, made in init
        var state = moments[lo]!, average = averages[lo]!, done = zeroed[lo] ?? [] // invariant: see above
        lock.unlock()
        let updates = firstStep + (synchronous ? version : version / max(1, workers))
        var parameters = [Float](repeating: 0, count: n), gradient = [Float](repeating: 0, count: n)
        for i in 0..<n { parameters[i] = Float(values[i]) }
        if context.weight > 0 {
            for i in 0..<n { gradient[i] = Float(update[i] / context.weight) }
        }
        let columns = layout.columns, outputs = layout.outputs, biasOffset = layout.biasOffset
        @inline(__always) func model(of index: Int) -> Int { ((index >= biasOffset ? index - biasOffset : index) % columns) / outputs }
        for i in 0..<n where context.diverged[model(of: lo + i)] {
            let m = model(of: lo + i)
            gradient[i] = 0
            // Zeroed once, when the model is found diverged (as all-reduce does); afterwards
            // only its gradient is dropped.
            if !done.contains(m) {
                parameters[i] = 0
                average[i] = 0
            }
        }
        for m in 0..<layout.models where context.diverged[m] { done.insert(m) }
        // invariant: the slices were cut to the shard's range, the rates are one per model
        try! optimizer.step(range: range, parameters: &parameters, gradient: gradient, learningRates: rates(updates), state: &state) // invariant: see above
        // Each live model's first non-finite parameter in the shard.
        var bad: [(step: Int, model: Int, index: Int, value: Float)] = []
        for i in 0..<n where !parameters[i].isFinite {
            let m = model(of: lo + i)
            if !context.diverged[m] && !bad.contains(where: { $0.model == m }) { bad.append((version, m, lo + i, parameters[i])) }
        }
        let beta = averagingDecay
        for i in 0..<n {
            average[i] = beta > 0 ? beta * average[i] + (1 - beta) * Double(parameters[i]) : Double(parameters[i])
            values[i] = Double(parameters[i])
        }
        lock.lock()
        moments[lo] = state
        averages[lo] = average
        zeroed[lo] = done
        nonFinite += bad
        lock.unlock()
    }
}

extension LinearLearnerTrainer {
    /// How far workers may drift apart over a streamed channel in the asynchronous mode.
    static var streamedStaleness: Int { 16 }

    /// The server ``parameterServer`` asks for, starting from `state`.
    func makeServer(state: LinearTrainingState, layout: LinearParameterLayout, batchCount: Int?,
                    events: @Sendable (TrainingEvent) -> Void) throws -> LinearServer? {
        guard var shape = parameterServer else { return nil }
        guard group == nil || group is InProcessWorkerGroup else {
            throw HyperparameterError.invalid(name: "_kvstore", value: shape.consistency.description,
                                              rule: "the parameter server runs among the workers of one process; across MPI processes the linear learner uses all-reduce")
        }
        let settings = self.settings
        let optimizer = LinearOptimizer(
            rule: settings.rule, layout: layout, weightDecays: settings.variants.map(\.weightDecay), l1s: settings.variants.map(\.l1),
            biasLearningRateMultiplier: settings.useBias ? settings.biasLearningRateMultiplier : 0,
            biasWeightDecayMultiplier: settings.biasWeightDecayMultiplier)
        let steps = batchCount ?? 800
        let decay = 1 - 1 / Double(min(100, max(1, steps / 8)))
        if batchCount == nil, shape.consistency == .asynchronous {
            // A streamed channel is read once, in order, and shared: a worker may not fall
            // further behind than the batches kept for it.
            shape.consistency = .boundedStaleness(Self.streamedStaleness)
            events(.note("_kvstore: asynchronous over a streamed channel runs as stale:\(Self.streamedStaleness) (the stream is read once and shared)"))
        }
        do throws(ParameterServerError) {
            let server = try LinearServer(state: state, layout: layout, shape: shape, workers: workerGroup.size, optimizer: optimizer,
                                          averagingDecay: decay, timeout: collectiveTimeout) { updates in
                settings.variants.map { $0.rate(afterUpdates: updates) }
            }
            if !shape.consistency.isDeterministic {
                events(.note("_kvstore: parameter server \(shape.consistency) — each worker's gradient moves the model on arrival, "
                             + "so runs are not reproducible and may need a lower learning_rate than synchronous training"))
            }
            return server
        } catch {
            throw HyperparameterError.invalid(name: "_num_kv_servers", value: "\(shape.shards)", rule: error.description)
        }
    }
}

import Foundation
import MLCore

/// One worker's view of training: the same code runs on every rank, and every rank ends with
/// the same state because it applies the same reduced partials.
struct TrainingWorker<C: Communicator> {
    let settings: NetworkTrainer.Settings
    let train: any NetworkInputs
    let validation: (any NetworkInputs)?
    let comm: C
    let cancellation: CancellationFlag?
    let checkpoint: (@Sendable (NetworkTrainingState) throws -> Void)?
    let events: @Sendable (TrainingEvent) -> Void
    let net: BoundNetwork
    let workspace: Workspace
    let width: Int
    var shardImages: [Float]
    var shardTargets: [Float]
    var evaluationImages: [Float]
    var evaluationOutput: [Float]
    /// The parameter server the steps go through (`nil`: all-reduce), its optimizer, and the
    /// state's step count when the server was made (the server counts steps from 0).
    var server: ParameterServer<Float>? = nil
    var serverOptimizer: ServerOptimizer? = nil
    var serverBase = 0

    /// Rows per evaluation micro-shard: the training micro-shard's, so evaluation runs in the
    /// training network's workspace (binding a second, larger network would double the
    /// activations kept in memory).
    var evaluationRows: Int { net.batchCapacity }

    init(settings: NetworkTrainer.Settings, network: Network, train: any NetworkInputs, validation: (any NetworkInputs)?, comm: C,
         cancellation: CancellationFlag?, checkpoint: (@Sendable (NetworkTrainingState) throws -> Void)?,
         events: @escaping @Sendable (TrainingEvent) -> Void) throws {
        self.settings = settings
        self.train = train
        self.validation = validation
        self.comm = comm
        self.cancellation = cancellation
        self.checkpoint = checkpoint
        self.events = events
        let rows = min(settings.microShardRows, settings.batchSize)
        net = try network.bound(rows: rows)
        workspace = Workspace(net)
        // The partial, plus two slots: the shard's top-k hits, and whether this rank saw a
        // cancellation request.
        width = net.partialWidth + 2
        shardImages = [Float](repeating: 0, count: rows * train.shape.count)
        shardTargets = [Float](repeating: 0, count: rows * train.targetWidth)
        evaluationImages = []
        evaluationOutput = [Float](repeating: 0, count: rows * net.output.count)
    }

    /// The epoch's row order: a seeded permutation keyed by the epoch, or the stored order.
    func order(epoch: Int) throws -> [Int] {
        guard settings.shuffle else { return Array(0..<train.rows) }
        var random = RandomStream(seed: settings.seed, path: [0x5EED_0EC0, UInt64(epoch)])
        return try random.permutation(count: train.rows)
    }

    mutating func run(_ state: inout NetworkTrainingState) throws -> NetworkTrainer.StopReason {
        let batches = (train.rows + settings.batchSize - 1) / settings.batchSize
        while state.epochsCompleted < settings.epochs {
            let epoch = state.epochsCompleted
            let started = Date()
            let rows = try order(epoch: epoch)
            while state.stepInEpoch < batches {
                let lo = state.stepInEpoch * settings.batchSize, hi = min(train.rows, lo + settings.batchSize)
                let (loss, correct, topK, stop, counted) = try step(Array(rows[lo..<hi]), epoch: epoch, state: &state)
                let mean = loss / Double(max(1, counted))
                guard mean.isFinite else {
                    throw NetworkError.diverged(epoch: epoch, step: state.stepInEpoch,
                                                reason: "the loss is \(mean); lower the learning rate (now \(learningRate(state))) or check the data for extreme values")
                }
                let reference = state.firstLoss ?? mean
                if state.firstLoss == nil { state.firstLoss = mean }
                if mean > 10, mean > settings.explosionFactor * reference {
                    throw NetworkError.diverged(epoch: epoch, step: state.stepInEpoch,
                                                reason: "the loss exploded to \(mean) from \(reference) at the first step; lower the learning rate (now \(learningRate(state)))")
                }
                state.epochLoss += loss
                state.epochCorrect += correct
                if settings.topK > 0 { state.epochTopK = (state.epochTopK ?? 0) + topK }
                state.epochRows += counted
                state.epochStepLosses.append(Float(mean))
                state.stepInEpoch += 1
                state.steps += 1
                if comm.rank == 0 { events(.progress(epoch: epoch, completed: state.stepInEpoch, total: batches)) }
                if stop {
                    settleOptimizer(&state)
                    if comm.rank == 0 { try checkpoint?(state) }
                    return .cancelled
                }
            }
            var cancelled = false
            if let server, server.consistency != .synchronous {
                try settleEpoch(&state, server: server)
                // Ranks stop together: only here, where every rank has finished the epoch.
                var flag = [cancellation?.isCancelled == true ? 1.0 : 0.0]
                try comm.allReduceSum(&flag)
                cancelled = flag[0] > 0
            }
            let stopEarly = try finishEpoch(&state, epoch: epoch, seconds: Date().timeIntervalSince(started))
            settleOptimizer(&state)
            if comm.rank == 0 { try checkpoint?(state) }
            if stopEarly { return .earlyStopped }
            if cancelled, state.epochsCompleted < settings.epochs { return .cancelled }
        }
        settleOptimizer(&state)
        return .completedEpochs
    }

    /// With a parameter server, the optimizer state lives on its shards: copied into `state`
    /// before a checkpoint and at the end, so a checkpoint resumes either way.
    func settleOptimizer(_ state: inout NetworkTrainingState) {
        if let serverOptimizer { state.optimizer = serverOptimizer.assembled() }
    }

    func learningRate(_ state: NetworkTrainingState) -> Float {
        settings.decay.rate(base: settings.optimizer.learningRate,
                            after: settings.decayEveryStep ? state.steps : state.epochsCompleted)
    }

    /// One mini-batch: this rank's micro-shards, the reduction, the update. Returns the summed
    /// loss, the correct count, the top-k hits and whether any rank was asked to stop.
    mutating func step(_ rows: [Int], epoch: Int, state: inout NetworkTrainingState) throws -> (Double, Double, Double, Bool, Int) {
        let shards = MicroShards(rows: rows.count, shardRows: settings.microShardRows)
        let mine = shards.shards(forRank: comm.rank, of: comm.size)
        var local = [Float](repeating: 0, count: mine.count * width)
        let scale = 1 / Float(rows.count)
        // Non-synchronous servers stop at the end of an epoch (see `run`).
        let stopRequested = (server.map { $0.consistency == .synchronous } ?? true) && cancellation?.isCancelled == true
        let targetWidth = train.targetWidth
        for (k, shard) in mine.enumerated() {
            let range = shards.rows(ofShard: shard)
            let train = train
            try shardImages.withUnsafeMutableBufferPointer { dst in
                // invariant: the buffer is non-empty (a shard has at least one row of at least one value)
                try train.fill(rows[range], epoch: epoch, training: true, into: dst.baseAddress!) // invariant: see above
            }
            train.targets.withUnsafeBufferPointer { targets in
                for (i, r) in rows[range].enumerated() {
                    for t in 0..<targetWidth { shardTargets[i * targetWidth + t] = targets[r * targetWidth + t] }
                }
            }
            let net = net, workspace = workspace, loss = settings.loss, seed = settings.seed, stepIndex = UInt64(state.steps)
            shardImages.withUnsafeBufferPointer { x in
                shardTargets.withUnsafeBufferPointer { t in
                    state.parameters.withUnsafeBufferPointer { p in
                        state.buffers.withUnsafeBufferPointer { b in
                            local.withUnsafeMutableBufferPointer { out in
                                // invariant: x, t and out are non-empty (one shard of one row at least)
                                net.trainShard(x.baseAddress!, targets: t.baseAddress!, rows: range.count, loss: loss, scale: scale, // invariant: see above
                                               parameters: p.orEmpty, buffers: b.orEmpty,
                                               partial: out.baseAddress! + k * width, workspace: workspace, // invariant: see above
                                               seed: seed, step: stepIndex, shard: UInt64(shard))
                            }
                        }
                    }
                }
            }
            if settings.topK > 0 {
                let hits = shardTargets.withUnsafeBufferPointer { t in
                    // invariant: t is non-empty (one shard of one row at least); the workspace holds the shard's outputs
                    loss.topKHits(UnsafePointer(workspace.output), targets: t.baseAddress!, rows: range.count, // invariant: see above
                                  width: net.output.count, k: settings.topK)
                }
                local[k * width + width - 2] = Float(hits)
            }
            if stopRequested { local[k * width + width - 1] = 1 }
        }
        let p = net.parameterCount, s = net.statisticCount
        let total: [Float]
        var counted = rows.count
        if let server {
            total = try exchange(local, mine: mine, server: server, state: state)
            state.parameters = Array(total[0..<p])
            if server.consistency != .synchronous { counted = shards.rows(forRank: comm.rank, of: comm.size).count }
        } else {
            total = try comm.reduceMicroShards(local, width: width, shards: shards)
            let gradients = Array(total[0..<p])
            settings.optimizer.step(parameters: &state.parameters, gradients: gradients, state: &state.optimizer,
                                    learningRate: learningRate(state))
        }
        if s > 0 {
            let root = net.root
            total.withUnsafeBufferPointer { t in
                state.buffers.withUnsafeMutableBufferPointer { b in
                    // invariant: s > 0 means batch-norm layers, which own buffers; t holds p + s + 3 values
                    root.finishStep(buffers: b.baseAddress!, statistics: t.baseAddress! + p) // invariant: see above
                }
            }
            state.batchesTracked += 1
        }
        return (Double(total[p + s]), Double(total[p + s + 1]), Double(total[p + s + 2]), total[p + s + 3] > 0, counted)
    }

    /// What evaluation sums over a data set.
    struct Evaluation {
        var loss: Double
        var correct: Double
        var topK: Double
    }

    /// Evaluation in inference mode: the summed loss, correct count and top-k hits over `data`
    /// (its evaluation view: no augmentation), each rank taking its share of fixed evaluation
    /// micro-shards, reduced in the fixed tree.
    mutating func evaluate(_ data: any NetworkInputs, state: NetworkTrainingState) throws -> Evaluation {
        let shards = MicroShards(rows: data.rows, shardRows: evaluationRows)
        let mine = shards.shards(forRank: comm.rank, of: comm.size)
        var local = [Float](repeating: 0, count: mine.count * 3)
        let outWidth = net.output.count, topK = settings.topK
        if evaluationImages.count < evaluationRows * data.shape.count {
            evaluationImages = [Float](repeating: 0, count: evaluationRows * data.shape.count)
        }
        for (k, shard) in mine.enumerated() {
            let range = shards.rows(ofShard: shard)
            let net = net, workspace = workspace, loss = settings.loss
            try evaluationImages.withUnsafeMutableBufferPointer { x in
                // invariant: the buffer holds evaluationRows ≥ 1 images of at least one value
                try data.fill(Array(range)[...], epoch: 0, training: false, into: x.baseAddress!) // invariant: see above
            }
            let result = evaluationImages.withUnsafeBufferPointer { x in
                data.targets.withUnsafeBufferPointer { t in
                    state.parameters.withUnsafeBufferPointer { p in
                        state.buffers.withUnsafeBufferPointer { b in
                            evaluationOutput.withUnsafeMutableBufferPointer { y in
                                // invariant: x, t and y are non-empty (the shard has rows)
                                net.infer(x.baseAddress!, rows: range.count, into: y.baseAddress!, // invariant: see above
                                          parameters: p.orEmpty, buffers: b.orEmpty, workspace: workspace)
                                let targets = t.baseAddress! + range.lowerBound * data.targetWidth // invariant: see above
                                let (sum, correct) = loss.evaluate(UnsafePointer(y.baseAddress!), targets: targets, // invariant: see above
                                                                   rows: range.count, width: outWidth, scale: 1, gradient: nil)
                                let hits = loss.topKHits(UnsafePointer(y.baseAddress!), targets: targets, rows: range.count, // invariant: see above
                                                         width: outWidth, k: topK)
                                return (sum, correct, hits)
                            }
                        }
                    }
                }
            }
            local[3 * k] = Float(result.0)
            local[3 * k + 1] = Float(result.1)
            local[3 * k + 2] = Float(result.2)
        }
        let total = try comm.reduceMicroShards(local, width: 3, shards: shards)
        return Evaluation(loss: Double(total[0]), correct: Double(total[1]), topK: Double(total[2]))
    }

    /// Accuracy from a correct count over `rows` rows: per row for classification, per (row,
    /// output) decision for multi-label; `nil` for the other losses.
    func accuracy(correct: Double, rows: Int) -> Double? {
        if settings.loss.isClassification { return correct / Double(max(1, rows)) }
        if settings.loss.isMultiLabel { return correct / Double(max(1, rows * net.output.count)) }
        return nil
    }

    /// Closes an epoch: checks the parameters, evaluates, keeps the best network, emits the
    /// summary. Returns whether early stopping ends the run here.
    mutating func finishEpoch(_ state: inout NetworkTrainingState, epoch: Int, seconds: Double) throws -> Bool {
        for (i, v) in state.parameters.enumerated() where !v.isFinite {
            throw NetworkError.diverged(epoch: epoch, step: max(0, state.stepInEpoch - 1),
                                        reason: "parameter \(i) is \(v); lower the learning rate (now \(learningRate(state)))")
        }
        let trainLoss = state.epochLoss / Double(max(1, state.epochRows))
        var record = NetworkTrainingState.EpochRecord(
            epoch: epoch, trainLoss: trainLoss, trainAccuracy: accuracy(correct: state.epochCorrect, rows: state.epochRows),
            stepLosses: state.epochStepLosses)
        let topKName = "top_k_accuracy_\(settings.topK)"
        var metrics = [MetricValue(channel: "train", name: "loss", kind: .loss, value: trainLoss)]
        if let a = record.trainAccuracy { metrics.append(MetricValue(channel: "train", name: "accuracy", kind: .score, value: a)) }
        if settings.topK > 0 {
            let a = (state.epochTopK ?? 0) / Double(max(1, state.epochRows))
            record.trainTopKAccuracy = a
            metrics.append(MetricValue(channel: "train", name: topKName, kind: .score, value: a))
        }
        var improved = false, stopEarly = false
        var criterion = metrics[0]
        if let validation, validation.rows > 0 {
            let result = try evaluate(validation, state: state)
            let vLoss = result.loss / Double(validation.rows)
            record.validationLoss = vLoss
            metrics.append(MetricValue(channel: "validation", name: "loss", kind: .loss, value: vLoss))
            criterion = metrics[metrics.count - 1]
            if let a = accuracy(correct: result.correct, rows: validation.rows) {
                record.validationAccuracy = a
                metrics.append(MetricValue(channel: "validation", name: "accuracy", kind: .score, value: a))
                if settings.selection == .validationAccuracy { criterion = metrics[metrics.count - 1] }
            }
            if settings.topK > 0 {
                let a = result.topK / Double(validation.rows)
                record.validationTopKAccuracy = a
                metrics.append(MetricValue(channel: "validation", name: topKName, kind: .score, value: a))
            }
            let higherIsBetter = criterion.kind == .score
            let better: Bool
            if let best = state.best {
                if higherIsBetter, let bestAccuracy = best.validationAccuracy {
                    better = criterion.value > bestAccuracy
                } else {
                    better = vLoss < best.validationLoss
                }
            } else {
                better = true
            }
            if better {
                improved = true
                state.best = .init(epoch: epoch, validationLoss: vLoss, validationAccuracy: record.validationAccuracy,
                                   parameters: state.parameters, buffers: state.buffers, batchesTracked: state.batchesTracked)
            }
            if let rule = settings.earlyStopping {
                if rule.improves(criterion.value, on: state.earlyStoppingBest, higherIsBetter: higherIsBetter) {
                    state.epochsWithoutImprovement = 0
                } else {
                    state.epochsWithoutImprovement = (state.epochsWithoutImprovement ?? 0) + 1
                }
                if state.earlyStoppingBest.map({ higherIsBetter ? criterion.value > $0 : criterion.value < $0 }) ?? true {
                    state.earlyStoppingBest = criterion.value
                }
                stopEarly = epoch + 1 >= rule.minEpochs && (state.epochsWithoutImprovement ?? 0) >= rule.patience
                    && epoch + 1 < settings.epochs
            }
        }
        state.history.append(record)
        state.epochsCompleted += 1
        state.stepInEpoch = 0
        state.epochLoss = 0
        state.epochCorrect = 0
        state.epochTopK = settings.topK > 0 ? 0 : nil
        state.epochRows = 0
        state.epochStepLosses = []
        if comm.rank == 0 {
            events(.epochEnded(EpochSummary(epoch: epoch, epochs: settings.epochs, metrics: metrics, criterion: criterion,
                                            improved: improved, rowsPerSecond: Double(train.rows) / max(seconds, 1e-9),
                                            seconds: seconds)))
            if stopEarly {
                events(.note("Early stopping: validation \(criterion.name) has not improved by more than "
                             + "\(settings.earlyStopping?.tolerance ?? 0) (relative) for \(state.epochsWithoutImprovement ?? 0) epochs; "
                             + "stopping after epoch \(epoch)"))
            }
        }
        return stopEarly
    }
}

import Foundation
import MLCore

/// One worker's view of training: the same code runs on every rank, and every rank ends with
/// the same state because it applies the same reduced partials.
struct TrainingWorker<C: Communicator> {
    let settings: NetworkTrainer.Settings
    let train: ImageDataset
    let validation: ImageDataset?
    let comm: C
    let cancellation: CancellationFlag?
    let checkpoint: (@Sendable (NetworkTrainingState) throws -> Void)?
    let events: @Sendable (TrainingEvent) -> Void
    let net: BoundNetwork
    let evaluationNet: BoundNetwork
    let workspace: Workspace
    let evaluationWorkspace: Workspace
    let width: Int
    var shardImages: [Float]
    var shardTargets: [Float]
    var evaluationOutput: [Float]

    /// Rows per evaluation micro-shard.
    static var evaluationRows: Int { Network.inferenceRows }

    init(settings: NetworkTrainer.Settings, network: Network, train: ImageDataset, validation: ImageDataset?, comm: C,
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
        evaluationNet = try network.bound(rows: Self.evaluationRows)
        workspace = Workspace(net)
        evaluationWorkspace = Workspace(evaluationNet)
        // The partial, plus one slot: whether this rank saw a cancellation request.
        width = net.partialWidth + 1
        shardImages = [Float](repeating: 0, count: rows * train.shape.count)
        shardTargets = [Float](repeating: 0, count: rows * train.targetWidth)
        evaluationOutput = [Float](repeating: 0, count: Self.evaluationRows * net.output.count)
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
                let (loss, correct, stop) = try step(Array(rows[lo..<hi]), state: &state)
                let mean = loss / Double(hi - lo)
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
                state.epochRows += hi - lo
                state.epochStepLosses.append(Float(mean))
                state.stepInEpoch += 1
                state.steps += 1
                if comm.rank == 0 { events(.progress(epoch: epoch, completed: state.stepInEpoch, total: batches)) }
                if stop {
                    if comm.rank == 0 { try checkpoint?(state) }
                    return .cancelled
                }
            }
            try finishEpoch(&state, epoch: epoch, seconds: Date().timeIntervalSince(started))
            if comm.rank == 0 { try checkpoint?(state) }
        }
        return .completedEpochs
    }

    func learningRate(_ state: NetworkTrainingState) -> Float {
        settings.decay.rate(base: settings.optimizer.learningRate,
                            after: settings.decayEveryStep ? state.steps : state.epochsCompleted)
    }

    /// One mini-batch: this rank's micro-shards, the reduction, the update. Returns the summed
    /// loss, the correct count and whether any rank was asked to stop.
    mutating func step(_ rows: [Int], state: inout NetworkTrainingState) throws -> (Double, Double, Bool) {
        let shards = MicroShards(rows: rows.count, shardRows: settings.microShardRows)
        let mine = shards.shards(forRank: comm.rank, of: comm.size)
        var local = [Float](repeating: 0, count: mine.count * width)
        let scale = 1 / Float(rows.count)
        let stopRequested = cancellation?.isCancelled ?? false
        let features = train.shape.count, targetWidth = train.targetWidth
        for (k, shard) in mine.enumerated() {
            let range = shards.rows(ofShard: shard)
            train.images.withUnsafeBufferPointer { src in
                shardImages.withUnsafeMutableBufferPointer { dst in
                    for (i, r) in rows[range].enumerated() {
                        // invariant: both buffers are non-empty (a shard has at least one row of at least one value)
                        (dst.baseAddress! + i * features).update(from: src.baseAddress! + r * features, count: features) // invariant: see above
                    }
                }
            }
            for (i, r) in rows[range].enumerated() {
                for t in 0..<targetWidth { shardTargets[i * targetWidth + t] = train.targets[r * targetWidth + t] }
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
            if stopRequested { local[k * width + width - 1] = 1 }
        }
        let total = try comm.reduceMicroShards(local, width: width, shards: shards)
        let p = net.parameterCount, s = net.statisticCount
        let gradients = Array(total[0..<p])
        settings.optimizer.step(parameters: &state.parameters, gradients: gradients, state: &state.optimizer,
                                learningRate: learningRate(state))
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
        return (Double(total[p + s]), Double(total[p + s + 1]), total[p + s + 2] > 0)
    }

    /// Evaluation in inference mode: the summed loss and correct count over `data`, each rank
    /// taking its share of fixed evaluation micro-shards, reduced in the fixed tree.
    mutating func evaluate(_ data: ImageDataset, state: NetworkTrainingState) throws -> (loss: Double, correct: Double) {
        let shards = MicroShards(rows: data.rows, shardRows: Self.evaluationRows)
        let mine = shards.shards(forRank: comm.rank, of: comm.size)
        var local = [Float](repeating: 0, count: mine.count * 2)
        let features = data.shape.count, outWidth = net.output.count
        for (k, shard) in mine.enumerated() {
            let range = shards.rows(ofShard: shard)
            let net = evaluationNet, workspace = evaluationWorkspace, loss = settings.loss
            let result = data.images.withUnsafeBufferPointer { x in
                data.targets.withUnsafeBufferPointer { t in
                    state.parameters.withUnsafeBufferPointer { p in
                        state.buffers.withUnsafeBufferPointer { b in
                            evaluationOutput.withUnsafeMutableBufferPointer { y in
                                // invariant: x, t and y are non-empty (the shard has rows)
                                net.infer(x.baseAddress! + range.lowerBound * features, rows: range.count, into: y.baseAddress!, // invariant: see above
                                          parameters: p.orEmpty, buffers: b.orEmpty, workspace: workspace)
                                return loss.evaluate(UnsafePointer(y.baseAddress!), targets: t.baseAddress! + range.lowerBound * data.targetWidth, // invariant: see above
                                                     rows: range.count, width: outWidth, scale: 1, gradient: nil)
                            }
                        }
                    }
                }
            }
            local[2 * k] = Float(result.loss)
            local[2 * k + 1] = Float(result.correct)
        }
        let total = try comm.reduceMicroShards(local, width: 2, shards: shards)
        return (Double(total[0]), Double(total[1]))
    }

    mutating func finishEpoch(_ state: inout NetworkTrainingState, epoch: Int, seconds: Double) throws {
        for (i, v) in state.parameters.enumerated() where !v.isFinite {
            throw NetworkError.diverged(epoch: epoch, step: max(0, state.stepInEpoch - 1),
                                        reason: "parameter \(i) is \(v); lower the learning rate (now \(learningRate(state)))")
        }
        let classification = settings.loss.isClassification
        let trainLoss = state.epochLoss / Double(max(1, state.epochRows))
        var record = NetworkTrainingState.EpochRecord(
            epoch: epoch, trainLoss: trainLoss,
            trainAccuracy: classification ? state.epochCorrect / Double(max(1, state.epochRows)) : nil,
            stepLosses: state.epochStepLosses)
        var metrics = [MetricValue(channel: "train", name: "loss", kind: .loss, value: trainLoss)]
        if let a = record.trainAccuracy { metrics.append(MetricValue(channel: "train", name: "accuracy", kind: .score, value: a)) }
        var improved = false
        if let validation, validation.rows > 0 {
            let (loss, correct) = try evaluate(validation, state: state)
            let vLoss = loss / Double(validation.rows)
            record.validationLoss = vLoss
            metrics.append(MetricValue(channel: "validation", name: "loss", kind: .loss, value: vLoss))
            if classification {
                record.validationAccuracy = correct / Double(validation.rows)
                metrics.append(MetricValue(channel: "validation", name: "accuracy", kind: .score, value: correct / Double(validation.rows)))
            }
            if state.best.map({ vLoss < $0.validationLoss }) ?? true {
                improved = true
                state.best = .init(epoch: epoch, validationLoss: vLoss, parameters: state.parameters, buffers: state.buffers,
                                   batchesTracked: state.batchesTracked)
            }
        }
        state.history.append(record)
        state.epochsCompleted += 1
        state.stepInEpoch = 0
        state.epochLoss = 0
        state.epochCorrect = 0
        state.epochRows = 0
        state.epochStepLosses = []
        if comm.rank == 0 {
            let criterion = metrics.first { $0.channel == "validation" && $0.name == "loss" } ?? metrics[0]
            events(.epochEnded(EpochSummary(epoch: epoch, epochs: settings.epochs, metrics: metrics, criterion: criterion,
                                            improved: improved, rowsPerSecond: Double(train.rows) / max(seconds, 1e-9),
                                            seconds: seconds)))
        }
    }
}

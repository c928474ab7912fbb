import Foundation
import MLCore

extension LinearLearnerTrainer {
    /// One worker's view of training: the same code runs on every rank, and every rank ends with
    /// the same state because it applies the same reduced gradient.
    struct EpochLoop<C: Communicator> {
        let trainer: LinearLearnerTrainer
        let settings: LinearLearnerSettings
        let layout: LinearParameterLayout
        let train: LinearDataset
        let validation: LinearDataset?
        let comm: C
        let cancellation: CancellationFlag?
        let checkpoint: (@Sendable (LinearTrainingState) throws -> Void)?
        let events: @Sendable (TrainingEvent) -> Void
        let objective: LinearObjective
        let optimizer: LinearOptimizer

        // Per-worker scratch, reused across shards.
        var shardX: Matrix<Float>
        var shardLabels: [Float]
        var shardWeights: [Float]
        var gradient: [Float]
        var scores: Matrix<Float>
        /// The scaler's statistics as Float, set on the first shard.
        var featureMean: [Float] = []
        var featureScale: [Float] = []

        init(trainer: LinearLearnerTrainer, layout: LinearParameterLayout, train: LinearDataset, validation: LinearDataset?,
             comm: C, cancellation: CancellationFlag?, checkpoint: (@Sendable (LinearTrainingState) throws -> Void)?,
             events: @escaping @Sendable (TrainingEvent) -> Void) {
            self.trainer = trainer
            self.settings = trainer.settings
            self.layout = layout
            self.train = train
            self.validation = validation
            self.comm = comm
            self.cancellation = cancellation
            self.checkpoint = checkpoint
            self.events = events
            objective = trainer.settings.objective
            optimizer = LinearOptimizer(
                rule: settings.rule, layout: layout, weightDecay: settings.weightDecay, l1: settings.l1,
                // Without a bias term the bias stays at 0: no step ever moves it.
                biasLearningRateMultiplier: settings.useBias ? settings.biasLearningRateMultiplier : 0,
                biasWeightDecayMultiplier: settings.biasWeightDecayMultiplier)
            let rows = trainer.microShardRows
            shardX = Matrix(rows: rows, columns: layout.features)
            shardLabels = [Float](repeating: 0, count: rows)
            shardWeights = [Float](repeating: 1, count: rows)
            gradient = [Float](repeating: 0, count: layout.count)
            scores = Matrix(rows: rows, columns: layout.outputs)
        }

        /// Values per micro-shard in the all-reduce: loss, weight, the gradient, and a control
        /// slot (rank 0 raises it when it sees the cancellation flag, so every rank stops at the
        /// same step).
        var width: Int { layout.count + 3 }

        mutating func run(_ state: inout LinearTrainingState) throws -> StopReason {
            let n = train.rows, batchSize = settings.miniBatchSize
            let batches = (n + batchSize - 1) / batchSize
            while state.epoch < settings.epochs {
                let started = DispatchTime.now().uptimeNanoseconds
                let firstBatch = state.batch
                let order = try epochOrder(state.epoch, rows: n)
                while state.batch < batches {
                    let lo = state.batch * batchSize
                    let shards = MicroShards(rows: min(n, lo + batchSize) - lo, shardRows: trainer.microShardRows)
                    let total = try comm.reduceMicroShards(
                        try partials(state: state, batchStart: lo, shards: shards, order: order), width: width, shards: shards)
                    if total[width - 1] > 0 { return .cancelled }
                    try applyStep(total, state: &state)
                    state.batch += 1
                    if comm.rank == 0, state.batch % max(1, trainer.progressInterval) == 0 || state.batch == batches {
                        events(.progress(epoch: state.epoch, completed: state.batch, total: batches))
                    }
                }
                let trainedRows = n - firstBatch * batchSize
                if try endEpoch(&state, trainedRows: trainedRows, started: started) { return .earlyStopped(epoch: state.epoch - 1) }
            }
            return .completedEpochs
        }

        /// This epoch's row order: the whole blocks of ``shuffleBlockRows(_:)`` consecutive rows
        /// in a seeded order, then the partial last block; or the data's own order. Kept as the
        /// block permutation, not one index per row: a 900,000-entry array per rank per epoch
        /// costs page faults that contend between the workers.
        func epochOrder(_ epoch: Int, rows: Int) throws -> EpochOrder {
            guard trainer.shuffle else { return EpochOrder(blockRows: rows, blocks: []) }
            var stream = RandomStream(seed: trainer.seed, path: [Purpose.epochOrder.rawValue, UInt64(epoch)])
            let block = LinearLearnerTrainer.shuffleBlockRows(rows)
            return EpochOrder(blockRows: block, blocks: try stream.permutation(count: rows / block))
        }

        struct EpochOrder {
            let blockRows: Int
            let blocks: [Int]
            /// The row at `position` of the epoch.
            @inline(__always) func row(_ position: Int) -> Int {
                let b = position / blockRows
                return b < blocks.count ? blocks[b] * blockRows + position % blockRows : position
            }
        }

        /// The loss, weight and gradient of each of this rank's micro-shards, flattened.
        mutating func partials(state: LinearTrainingState, batchStart: Int, shards: MicroShards, order: EpochOrder) throws -> [Double] {
            let mine = shards.shards(forRank: comm.rank, of: comm.size)
            var local: [Double] = []
            local.reserveCapacity(mine.count * width)
            for s in mine {
                let rows = shards.rows(ofShard: s)
                let m = rows.count
                gatherScaled(rows: rows.map { order.row(batchStart + $0) }, state: state)
                for j in gradient.indices { gradient[j] = 0 }
                let (loss, weight) = try objective.accumulate(
                    features: shardX.rows(0..<m), labels: Array(shardLabels[0..<m]), weights: Array(shardWeights[0..<m]),
                    parameters: state.parameters, layout: layout, gradient: &gradient, scratch: &scores)
                local.append(loss)
                local.append(weight)
                for g in gradient { local.append(Double(g)) }
                let stop = comm.rank == 0 && s == mine.lowerBound && (cancellation?.isCancelled ?? false)
                local.append(stop ? 1 : 0)
            }
            return local
        }

        /// Copies `rows` of the training data into the shard buffers, normalized into the
        /// training space, with each row's loss weight.
        mutating func gatherScaled(rows: [Int], state: LinearTrainingState) {
            let d = layout.features
            if featureMean.count != d {
                featureMean = state.scaler.featureMean.map { Float($0) }
                featureScale = state.scaler.featureScale.map { Float($0) }
            }
            let labelMean = state.scaler.labelMean, labelScale = state.scaler.labelScale
            let classWeights = state.classWeights
            let regression = settings.predictorType == .regressor
            // Moved out and back (not copied) so the buffers stay uniquely referenced: writing
            // through a second reference would copy them on every shard.
            var x = Matrix<Float>(rows: 0, columns: 0), labels: [Float] = [], weights: [Float] = []
            swap(&x, &shardX)
            swap(&labels, &shardLabels)
            swap(&weights, &shardWeights)
            defer {
                swap(&x, &shardX)
                swap(&labels, &shardLabels)
                swap(&weights, &shardWeights)
            }
            let sourceLabels = train.labels, sourceWeights = train.weights
            train.features.withUnsafeBufferPointer { source in
                x.withUnsafeMutableBufferPointer { target in
                    featureMean.withUnsafeBufferPointer { mean in
                        featureScale.withUnsafeBufferPointer { scale in
                            // invariant: d > 0 and the shard buffer holds microShardRows ≥ rows.count rows
                            let src = source.baseAddress!, dst = target.baseAddress!, mu = mean.baseAddress!, sc = scale.baseAddress!
                            for (k, i) in rows.enumerated() {
                                let from = src + i * d, to = dst + k * d
                                // Pointer loop: no bounds checks, so it vectorizes.
                                for j in 0..<d { to[j] = (from[j] - mu[j]) * sc[j] }
                            }
                        }
                    }
                }
            }
            for (k, i) in rows.enumerated() {
                let y = sourceLabels[i]
                let w = Double(sourceWeights?[i] ?? 1)
                if regression {
                    labels[k] = Float((Double(y) - labelMean) / labelScale)
                    weights[k] = Float(w)
                } else {
                    labels[k] = y
                    weights[k] = Float(w * classWeights[Int(y)])
                }
            }
        }

        /// Checks the reduced loss and gradient, then takes the optimizer step.
        func applyStep(_ total: [Double], state: inout LinearTrainingState) throws {
            let loss = total[0], weight = total[1]
            guard weight > 0 else { return }  // every row weighted 0: nothing to learn from
            let meanLoss = loss / weight
            let lr = settings.schedule?.rate(afterUpdates: state.optimizer.step) ?? settings.learningRate
            let hint = "lower learning_rate (this step used \(lr))" + (settings.normalizeData ? "" : " or set normalize_data=true")
            guard meanLoss.isFinite else {
                throw LinearLearnerError.diverged(epoch: state.epoch, batch: state.batch, reason: "the loss is \(meanLoss)", hint: hint)
            }
            if let reference = state.referenceLoss {
                if meanLoss > Self.explosionFactor * max(reference, 1) {
                    throw LinearLearnerError.diverged(
                        epoch: state.epoch, batch: state.batch,
                        reason: "the loss exploded to \(meanLoss) from \(reference) at the start", hint: hint)
                }
            } else {
                state.referenceLoss = meanLoss
            }
            var mean = [Float](repeating: 0, count: layout.count)
            for j in 0..<layout.count { mean[j] = Float(total[2 + j] / weight) }
            try optimizer.step(parameters: &state.parameters, gradient: mean, learningRate: lr, state: &state.optimizer)
            if let bad = state.parameters.firstIndex(where: { !$0.isFinite }) {
                throw LinearLearnerError.diverged(epoch: state.epoch, batch: state.batch,
                                                  reason: "parameter \(bad) became \(state.parameters[bad])", hint: hint)
            }
            let beta = averagingDecay
            if beta > 0 {
                for j in 0..<layout.count { state.averaged[j] = beta * state.averaged[j] + (1 - beta) * Double(state.parameters[j]) }
            } else {
                for j in 0..<layout.count { state.averaged[j] = Double(state.parameters[j]) }
            }
            state.epochLoss += loss
            state.epochWeight += weight
        }

        /// The decay of the iterate average: `1 − 1/h` with a horizon `h` of an eighth of an
        /// epoch's updates, at least 1 (no averaging) and at most 100.
        var averagingDecay: Double {
            let steps = (train.rows + settings.miniBatchSize - 1) / settings.miniBatchSize
            return 1 - 1 / Double(min(100, max(1, steps / 8)))
        }

        /// A mini-batch loss this many times the first one (or 1, whichever is larger) counts as
        /// exploded: far beyond noise, well before overflow.
        static var explosionFactor: Double { 1e4 }

        /// Scores the epoch, updates the best model and the early-stopping count, reports, and
        /// checkpoints. Returns whether early stopping ends training.
        func endEpoch(_ state: inout LinearTrainingState, trainedRows: Int, started: UInt64) throws -> Bool {
            let epoch = state.epoch
            let trainLoss = state.epochWeight > 0 ? state.epochLoss / state.epochWeight : 0
            // Training runs in scaled label space with loss r²/2; report the MSE in label units.
            let units = settings.predictorType == .regressor ? 2 * state.scaler.labelScale * state.scaler.labelScale : 1
            let trainObjective = units * trainLoss
            var metrics = [MetricValue(channel: "train", name: LinearEvaluation.objectiveName(settings.predictorType),
                                       kind: .loss, value: trainObjective)]
            var criterion = metrics[0]
            let model = state.averaged.map { Float($0) }
            let penalty = self.penalty(model)
            if penalty > 0 {
                // Without validation data the best epoch is the one with the lowest value of what
                // training minimizes — loss plus penalty — so a converged regularized model is never
                // passed over for an earlier, less regularized one.
                criterion = MetricValue(channel: "train", name: criterion.name + "_with_penalty", kind: .loss,
                                        value: units * (trainLoss + penalty))
            }
            if let validation {
                let raw = try state.scaler.foldedIntoRawSpace(model, layout: layout)
                let scores = try distributedScores(parameters: raw, features: validation.features)
                let v = try LinearEvaluation.epochMetrics(settings: settings, scores: scores, dataset: validation,
                                                          classWeights: state.classWeights, threshold: LinearModel.defaultThreshold)
                metrics += v
                criterion = v[0]
            }
            guard criterion.value.isFinite else {
                throw LinearLearnerError.diverged(epoch: epoch, batch: state.batch, reason: "the \(criterion.channel) objective is \(criterion.value)",
                                                  hint: "lower learning_rate")
            }
            var improved = false
            if let best = state.best {
                let relative = (best.criterion - criterion.value) / max(abs(best.criterion), .leastNormalMagnitude)
                state.epochsWithoutImprovement = relative > settings.earlyStoppingTolerance ? 0 : state.epochsWithoutImprovement + 1
                improved = criterion.value < best.criterion
            } else {
                improved = true
            }
            if improved { state.best = .init(epoch: epoch, criterion: criterion.value, parameters: model) }

            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            let summary = EpochSummary(epoch: epoch, epochs: settings.epochs, metrics: metrics, criterion: criterion,
                                       improved: improved, rowsPerSecond: seconds > 0 ? Double(trainedRows) / seconds : 0,
                                       seconds: seconds)
            state.history.append(summary)
            state.epoch += 1
            state.batch = 0
            state.epochLoss = 0
            state.epochWeight = 0
            let early = state.epochsWithoutImprovement >= settings.earlyStoppingPatience
            state.finished = early || state.epoch >= settings.epochs
            if comm.rank == 0 {
                events(.epochEnded(summary))
                if improved { events(.note("Epoch \(epoch): loss improved, updating the best model")) }
                if early {
                    events(.note("Epoch \(epoch): no relative improvement above \(settings.earlyStoppingTolerance) for "
                                 + "\(settings.earlyStoppingPatience) epochs, stopping early; the best epoch is \(state.best?.epoch ?? epoch)"))
                }
                try checkpoint?(state)
            }
            // Rank 0's checkpoint may fail; the others must not run ahead into the next epoch's
            // collectives before it does (a failure aborts them there instead).
            try comm.barrier()
            return early
        }

        /// `wd/2·‖W‖² + bias_wd_mult·wd/2·‖b‖² + l1·‖W‖₁` in the training space.
        func penalty(_ parameters: [Float]) -> Double {
            guard settings.weightDecay > 0 || settings.l1 > 0 else { return 0 }
            var squares = 0.0, absolutes = 0.0, biasSquares = 0.0
            for i in 0..<layout.weightCount {
                let w = Double(parameters[i])
                squares += w * w
                absolutes += abs(w)
            }
            for i in layout.biasOffset..<layout.count { biasSquares += Double(parameters[i]) * Double(parameters[i]) }
            return settings.weightDecay / 2 * (squares + settings.biasWeightDecayMultiplier * biasSquares) + settings.l1 * absolutes
        }

        /// `X·W + b` for every row of `features`, each rank scoring a contiguous block.
        func distributedScores(parameters: [Float], features: Matrix<Float>) throws -> Matrix<Float> {
            let blocks = MicroShards(rows: features.rows, shardRows: 4096)
            let mine = blocks.rows(forRank: comm.rank, of: comm.size)
            var local = Matrix<Float>(rows: mine.count, columns: layout.outputs)
            if !mine.isEmpty { try layout.scores(features.rows(mine), parameters: parameters, into: &local) }
            let all = try comm.allGather(local.elements)
            return try Matrix(rows: features.rows, columns: layout.outputs, elements: all.flatMap { $0 })
        }
    }
}

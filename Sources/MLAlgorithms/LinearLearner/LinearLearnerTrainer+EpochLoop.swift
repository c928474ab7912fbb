import Foundation
import MLCore

extension LinearLearnerTrainer {
    /// The rows of one mini-batch: positions `0..<count` of it are rows of `data` — through the
    /// epoch's shuffled order for data in memory, in order for a streamed block.
    struct MiniBatch {
        let data: LinearDataset
        let start: Int
        let count: Int
        let order: EpochOrder?
        @inline(__always) func row(_ position: Int) -> Int { order?.row(start + position) ?? start + position }
    }

    /// This epoch's row order for data in memory: the whole blocks of ``shuffleBlockRows(_:)``
    /// consecutive rows in a seeded order, then the partial last block; or the data's own
    /// order. Kept as the block permutation, not one index per row: a 900,000-entry array per
    /// rank per epoch costs page faults that contend between the workers.
    struct EpochOrder {
        let blockRows: Int
        let blocks: [Int]
        /// The row at `position` of the epoch.
        @inline(__always) func row(_ position: Int) -> Int {
            let b = position / blockRows
            return b < blocks.count ? blocks[b] * blockRows + position % blockRows : position
        }
    }

    /// One worker's view of training: the same code runs on every rank, and every rank ends with
    /// the same state because it applies the same reduced gradient.
    struct EpochLoop<C: Communicator> {
        let trainer: LinearLearnerTrainer
        let settings: LinearLearnerSettings
        let layout: LinearParameterLayout
        /// The mini-batches of an epoch, `nil` after the last.
        let batches: (_ epoch: Int, _ index: Int) throws -> MiniBatch?
        /// Mini-batches per epoch when known up front (data in memory), for progress.
        let batchCount: Int?
        let validation: LinearDataset?
        let comm: C
        let cancellation: CancellationFlag?
        let checkpoint: (@Sendable (LinearTrainingState) throws -> Void)?
        let events: @Sendable (TrainingEvent) -> Void
        /// The loss in the standardized label space training runs in.
        let objective: LinearObjective
        let optimizer: LinearOptimizer
        let sparse: Bool

        // Per-worker scratch, reused across shards.
        var shardX: Matrix<Float>
        var shardSparse: SparseMatrix<Float>
        var shardLabels: [Float]
        var shardWeights: [Float]
        var gradient: [Float]
        var scores: Matrix<Float>
        var modelLosses: [Double]
        /// Sparse data: the reduced gradient's sums, zero outside the entries last touched.
        var sparseSums: [Double] = []
        var meanGradient: [Float]
        /// Sparse data: the rows of `W` the previous step's gradient touched.
        var previousTouched: [Int] = []
        /// Sparse data: per feature, the last shard (numbered per worker) that touched it, to
        /// list a shard's features once each without sorting or hashing.
        var stamps: [Int] = []
        var shardNumber = 0
        /// The scaler's statistics as Float, set on the first shard.
        var featureMean: [Float] = []
        var featureScale: [Float] = []
        /// The parameter server, when training goes through one (``LinearServer``), and the
        /// steps pushed to it; sparse data's scratch for the features a worker pulls.
        let server: LinearServer?
        var serverStep = 0
        var pullMask: [Bool] = []

        init(trainer: LinearLearnerTrainer, layout: LinearParameterLayout, sparse: Bool, batchCount: Int?,
             batches: @escaping (_ epoch: Int, _ index: Int) throws -> MiniBatch?, validation: LinearDataset?, labelScale: Double,
             comm: C, cancellation: CancellationFlag?, checkpoint: (@Sendable (LinearTrainingState) throws -> Void)?,
             events: @escaping @Sendable (TrainingEvent) -> Void, server: LinearServer? = nil) {
            self.trainer = trainer
            self.server = server
            self.settings = trainer.settings
            self.layout = layout
            self.sparse = sparse
            self.batchCount = batchCount
            self.batches = batches
            self.validation = validation
            self.comm = comm
            self.cancellation = cancellation
            self.checkpoint = checkpoint
            self.events = events
            objective = trainer.settings.objective.inScaledLabelSpace(labelScale)
            optimizer = LinearOptimizer(
                rule: settings.rule, layout: layout, weightDecays: settings.variants.map(\.weightDecay), l1s: settings.variants.map(\.l1),
                // Without a bias term the bias stays at 0: no step ever moves it.
                biasLearningRateMultiplier: settings.useBias ? settings.biasLearningRateMultiplier : 0,
                biasWeightDecayMultiplier: settings.biasWeightDecayMultiplier)
            let rows = trainer.microShardRows
            shardX = Matrix(rows: sparse ? 0 : rows, columns: layout.features)
            shardSparse = SparseMatrix(columns: layout.features)
            shardLabels = [Float](repeating: 0, count: rows)
            shardWeights = [Float](repeating: 1, count: rows)
            gradient = [Float](repeating: 0, count: layout.count)
            meanGradient = [Float](repeating: 0, count: layout.count)
            scores = Matrix(rows: rows, columns: layout.columns)
            modelLosses = [Double](repeating: 0, count: layout.models)
            if sparse { sparseSums = [Double](repeating: 0, count: layout.count) }
        }

        var models: Int { layout.models }

        /// Values per micro-shard in the dense all-reduce: the models' losses, the weight, the
        /// gradient, and a control slot (rank 0 raises it when it sees the cancellation flag, so
        /// every rank stops at the same step).
        var width: Int { models + 1 + layout.count + 1 }

        mutating func run(_ state: inout LinearTrainingState) throws -> StopReason {
            guard let server else { return try runEpochs(&state) }
            do {
                return try runEpochs(&state)
            } catch {
                // The other workers may be waiting on the server rather than in a collective.
                server.server.abort(reason: "worker \(comm.rank): \(error)")
                throw error
            }
        }

        mutating func runEpochs(_ state: inout LinearTrainingState) throws -> StopReason {
            while state.epoch < settings.epochs {
                let started = DispatchTime.now().uptimeNanoseconds
                var trainedRows = 0
                while let batch = try batches(state.epoch, state.batch) {
                    let shards = MicroShards(rows: batch.count, shardRows: trainer.microShardRows)
                    if let server {
                        if try serverStep(batch: batch, shards: shards, state: &state, server: server) {
                            _ = try finishServerEpoch(server, state: &state, stopped: true)
                            return .cancelled
                        }
                    } else {
                        let (stop, losses, weight) = sparse
                            ? try sparseStep(batch: batch, shards: shards, state: state)
                            : try denseStep(batch: batch, shards: shards, state: state)
                        if stop { return .cancelled }
                        try applyStep(losses: losses, weight: weight, state: &state)
                    }
                    state.batch += 1
                    trainedRows += batch.count
                    if comm.rank == 0, state.batch % max(1, trainer.progressInterval) == 0 || state.batch == batchCount {
                        events(.progress(epoch: state.epoch, completed: state.batch, total: batchCount ?? state.batch))
                    }
                }
                if let server, try finishServerEpoch(server, state: &state, stopped: false) { return .cancelled }
                if try endEpoch(&state, trainedRows: trainedRows, started: started) { return .earlyStopped(epoch: state.epoch - 1) }
            }
            return .completedEpochs
        }

        // MARK: Dense

        /// The mini-batch's losses, weight and (into ``meanGradient``) mean gradient, reduced over
        /// micro-shards in the fixed tree.
        mutating func denseStep(batch: MiniBatch, shards: MicroShards, state: LinearTrainingState) throws
            -> (stop: Bool, losses: [Double], weight: Double) {
            let mine = shards.shards(forRank: comm.rank, of: comm.size)
            var local: [Double] = []
            local.reserveCapacity(mine.count * width)
            for s in mine {
                let rows = shards.rows(ofShard: s)
                let m = rows.count
                gatherScaled(batch: batch, positions: rows, state: state)
                for j in gradient.indices { gradient[j] = 0 }
                for j in modelLosses.indices { modelLosses[j] = 0 }
                let weight = try objective.accumulate(
                    features: shardX.rows(0..<m), labels: Array(shardLabels[0..<m]), weights: Array(shardWeights[0..<m]),
                    parameters: state.parameters, layout: layout, gradient: &gradient, scratch: &scores, modelLosses: &modelLosses)
                local.append(contentsOf: modelLosses)
                local.append(weight)
                for g in gradient { local.append(Double(g)) }
                local.append(stopSignal(first: s == mine.lowerBound))
            }
            let total = try comm.reduceMicroShards(local, width: width, shards: shards)
            let weight = total[models]
            if weight > 0 {
                for j in 0..<layout.count { meanGradient[j] = Float(total[models + 1 + j] / weight) }
            }
            return (total[width - 1] > 0, Array(total[0..<models]), weight)
        }

        func stopSignal(first: Bool) -> Double {
            comm.rank == 0 && first && (cancellation?.isCancelled ?? false) ? 1 : 0
        }

        /// Copies the batch's rows at `positions` into the shard buffers, normalized into the
        /// training space, with each row's loss weight.
        mutating func gatherScaled(batch: MiniBatch, positions: Range<Int>, state: LinearTrainingState) {
            let d = layout.features
            if featureMean.count != d {
                featureMean = state.scaler.featureMean.map { Float($0) }
                featureScale = state.scaler.featureScale.map { Float($0) }
            }
            // Moved out and back (not copied) so the buffers stay uniquely referenced: writing
            // through a second reference would copy them on every shard.
            var x = Matrix<Float>(rows: 0, columns: 0), sx = SparseMatrix<Float>(columns: 0)
            swap(&x, &shardX)
            swap(&sx, &shardSparse)
            defer {
                swap(&x, &shardX)
                swap(&sx, &shardSparse)
            }
            switch batch.data.features {
            case .dense(let source):
                source.withUnsafeBufferPointer { source in
                    x.withUnsafeMutableBufferPointer { target in
                        featureMean.withUnsafeBufferPointer { mean in
                            featureScale.withUnsafeBufferPointer { scale in
                                // invariant: d > 0 and the shard buffer holds microShardRows ≥ positions.count rows
                                let src = source.baseAddress!, dst = target.baseAddress!, mu = mean.baseAddress!, sc = scale.baseAddress! // invariant: see above
                                for (k, p) in positions.enumerated() {
                                    let from = src + batch.row(p) * d, to = dst + k * d
                                    // Pointer loop: no bounds checks, so it vectorizes.
                                    for j in 0..<d { to[j] = (from[j] - mu[j]) * sc[j] }
                                }
                            }
                        }
                    }
                }
            case .sparse(let source):
                sx.removeAllRows()
                featureScale.withUnsafeBufferPointer { scale in
                    for p in positions { sx.appendRow(batch.row(p), of: source, scaledBy: scale) }
                }
            }
            gatherLabels(batch: batch, positions: positions, state: state)
        }

        mutating func gatherLabels(batch: MiniBatch, positions: Range<Int>, state: LinearTrainingState) {
            let labelMean = state.scaler.labelMean, labelScale = state.scaler.labelScale
            let classWeights = state.classWeights
            let regression = settings.predictorType == .regressor
            let sourceLabels = batch.data.labels, sourceWeights = batch.data.weights
            for (k, p) in positions.enumerated() {
                let i = batch.row(p)
                let y = sourceLabels[i]
                let w = Double(sourceWeights?[i] ?? 1)
                if regression {
                    shardLabels[k] = Float((Double(y) - labelMean) / labelScale)
                    shardWeights[k] = Float(w)
                } else {
                    shardLabels[k] = y
                    shardWeights[k] = Float(w * classWeights[Int(y)])
                }
            }
        }

        // MARK: Sparse

        /// The sparse counterpart of ``denseStep(batch:shards:state:)``: each micro-shard sends
        /// only the rows of `W` its rows touch, every rank gathers every shard's, and the sums
        /// are taken in shard order — the same bits for any worker count, and a message the size
        /// of the shard's non-zeros rather than of the whole model.
        mutating func sparseStep(batch: MiniBatch, shards: MicroShards, state: LinearTrainingState) throws
            -> (stop: Bool, losses: [Double], weight: Double) {
            let mine = shards.shards(forRank: comm.rank, of: comm.size)
            let k = layout.columns
            if stamps.isEmpty { stamps = [Int](repeating: -1, count: layout.features) }
            var local: [Double] = []
            for s in mine {
                let rows = shards.rows(ofShard: s)
                let m = rows.count
                gatherScaled(batch: batch, positions: rows, state: state)
                for j in modelLosses.indices { modelLosses[j] = 0 }
                let weight = try objective.accumulate(
                    sparse: shardSparse, labels: Array(shardLabels[0..<m]), weights: Array(shardWeights[0..<m]),
                    parameters: state.parameters, layout: layout, gradient: &gradient, scratch: &scores, modelLosses: &modelLosses)
                // Each feature once, in first-appearance order (the sums below do not depend on it).
                shardNumber += 1
                var touched: [Int32] = []
                for j in shardSparse.columnIndices where stamps[Int(j)] != shardNumber {
                    stamps[Int(j)] = shardNumber
                    touched.append(j)
                }
                local.append(contentsOf: modelLosses)
                local.append(weight)
                local.append(stopSignal(first: s == mine.lowerBound))
                local.append(Double(touched.count))
                for j in touched { local.append(Double(j)) }
                for j in touched {
                    let at = Int(j) * k
                    for c in 0..<k {
                        local.append(Double(gradient[at + c]))
                        gradient[at + c] = 0
                    }
                }
                for c in 0..<k {
                    local.append(Double(gradient[layout.biasOffset + c]))
                    gradient[layout.biasOffset + c] = 0
                }
            }
            // Every rank's shards, in rank order: the shards in order, since ranks own ascending runs.
            let all = try comm.allGather(local)
            var losses = [Double](repeating: 0, count: models), weight = 0.0, stop = false
            var touchedRows: [Int] = []
            for part in all {
                var at = 0
                while at < part.count {
                    for m in 0..<models { losses[m] += part[at + m] }
                    weight += part[at + models]
                    stop = stop || part[at + models + 1] > 0
                    let count = Int(part[at + models + 2])
                    let indices = at + models + 3, values = indices + count
                    for t in 0..<count {
                        let row = Int(part[indices + t]), base = row * k
                        if stamps[row] != -2 {
                            stamps[row] = -2  // listed for this step; reset below
                            touchedRows.append(row)
                        }
                        for c in 0..<k { sparseSums[base + c] += part[values + t * k + c] }
                    }
                    let bias = values + count * k
                    for c in 0..<k { sparseSums[layout.biasOffset + c] += part[bias + c] }
                    at = bias + k
                }
            }
            // The mean gradient: the touched rows and the bias; every other entry is already 0.
            for row in previousTouched {
                for c in 0..<k { meanGradient[row * k + c] = 0 }
            }
            let unique = touchedRows
            previousTouched = unique
            if weight > 0 {
                for row in unique {
                    for c in 0..<k { meanGradient[row * k + c] = Float(sparseSums[row * k + c] / weight) }
                }
                for c in 0..<k { meanGradient[layout.biasOffset + c] = Float(sparseSums[layout.biasOffset + c] / weight) }
            }
            for row in touchedRows {
                for c in 0..<k { sparseSums[row * k + c] = 0 }
                stamps[row] = -1
            }
            for c in 0..<k { sparseSums[layout.biasOffset + c] = 0 }
            return (stop, losses, weight)
        }

        // MARK: Step

        /// Checks each model's loss, then takes the optimizer step with the mean gradient in
        /// ``meanGradient``. A model that diverges is an error when it is the only one; among
        /// several it is frozen at zero and left out of selection, unless every model has.
        mutating func applyStep(losses: [Double], weight: Double, state: inout LinearTrainingState) throws {
            guard weight > 0 else { return }  // every row weighted 0: nothing to learn from
            let rates = settings.variants.map { $0.rate(afterUpdates: state.optimizer.step) }
            try checkLosses(losses, weight: weight, rates: rates, state: &state)
            // A diverged model's gradient is dropped, so its parameters stay at zero.
            for m in 0..<models where state.diverged[m] { zeroModel(m, in: &meanGradient) }
            try optimizer.step(parameters: &state.parameters, gradient: meanGradient, learningRates: rates, state: &state.optimizer)
            for m in 0..<models where !state.diverged[m] {
                if let bad = firstNonFinite(model: m, in: state.parameters) {
                    try markDiverged(m, reason: "parameter \(bad) became \(state.parameters[bad])", hint: divergenceHint(rate: rates[m]), state: &state)
                }
            }
            let beta = averagingDecay
            for j in 0..<layout.count {
                state.averaged[j] = beta > 0 ? beta * state.averaged[j] + (1 - beta) * Double(state.parameters[j]) : Double(state.parameters[j])
            }
            for m in 0..<models { state.epochLosses[m] += state.diverged[m] ? 0 : losses[m] }
            state.epochWeight += weight
        }

        /// Marks each live model whose mean loss this mini-batch is not finite, or has exploded
        /// from its first mini-batch's, as diverged (the yardstick is set on the first call).
        mutating func checkLosses(_ losses: [Double], weight: Double, rates: [Double], state: inout LinearTrainingState) throws {
            if state.referenceLosses == nil { state.referenceLosses = losses.map { $0 / weight } }
            // invariant: set just above
            let reference = state.referenceLosses! // invariant: see above
            for m in 0..<models where !state.diverged[m] {
                let meanLoss = losses[m] / weight
                var reason: String?
                if !meanLoss.isFinite {
                    reason = "the loss is \(meanLoss)"
                } else if meanLoss > Self.explosionFactor * max(reference[m], 1) {
                    reason = "the loss exploded to \(meanLoss) from \(reference[m]) at the start"
                }
                if let reason { try markDiverged(m, reason: reason, hint: divergenceHint(rate: rates[m]), state: &state) }
            }
        }

        /// What to change when a model trained at learning rate `rate` diverges.
        func divergenceHint(rate: Double) -> String {
            "lower learning_rate (this step used \(rate))" + (settings.normalizeData ? "" : " or set normalize_data=true")
        }

        func markDiverged(_ m: Int, reason: String, hint: String, state: inout LinearTrainingState) throws {
            if models == 1 || state.diverged.filter({ !$0 }).count == 1 {
                throw LinearLearnerError.diverged(epoch: state.epoch, batch: state.batch,
                                                  reason: (models > 1 ? "the last of \(models) models: " : "") + reason, hint: hint)
            }
            state.diverged[m] = true
            zeroModel(m, in: &state.parameters)
            zeroModel(m, in: &state.averaged)
            if comm.rank == 0 {
                events(.note("Model \(m) diverged in epoch \(state.epoch), mini-batch \(state.batch) (\(reason)); "
                             + "it is left out, \(state.diverged.filter { !$0 }.count) models remain"))
            }
        }

        func zeroModel<T: BLASScalar>(_ m: Int, in values: inout [T]) {
            let k = layout.outputs, c = layout.columns
            for j in 0..<layout.features {
                for o in 0..<k { values[j * c + m * k + o] = 0 }
            }
            for o in 0..<k { values[layout.biasOffset + m * k + o] = 0 }
        }

        func firstNonFinite(model m: Int, in values: [Float]) -> Int? {
            let k = layout.outputs, c = layout.columns
            for j in 0..<layout.features {
                for o in 0..<k where !values[j * c + m * k + o].isFinite { return j * c + m * k + o }
            }
            for o in 0..<k where !values[layout.biasOffset + m * k + o].isFinite { return layout.biasOffset + m * k + o }
            return nil
        }

        /// The decay of the iterate average: `1 − 1/h` with a horizon `h` of an eighth of an
        /// epoch's updates, at least 1 (no averaging) and at most 100.
        var averagingDecay: Double {
            let steps = batchCount ?? 800
            return 1 - 1 / Double(min(100, max(1, steps / 8)))
        }

        /// A mini-batch loss this many times the first one (or 1, whichever is larger) counts as
        /// exploded: far beyond noise, well before overflow.
        static var explosionFactor: Double { 1e4 }

        // MARK: Epoch end

        /// Scores the epoch, updates each model's best and the early-stopping count, reports, and
        /// checkpoints. Returns whether early stopping ends training.
        func endEpoch(_ state: inout LinearTrainingState, trainedRows: Int, started: UInt64) throws -> Bool {
            let epoch = state.epoch
            let full = settings.objective
            // Training runs in standardized label space; report the objective in label units.
            let units = full.reportScale * pow(state.scaler.labelScale, full.labelUnitPower)
            let model = state.averaged.map { Float($0) }
            var criteria = [Double](repeating: .infinity, count: models)
            var trainObjectives = criteria
            for m in 0..<models where !state.diverged[m] {
                let trainLoss = state.epochWeight > 0 ? state.epochLosses[m] / state.epochWeight : 0
                trainObjectives[m] = units * trainLoss
                // Without validation data the best epoch is the one with the lowest value of what
                // training minimizes — loss plus penalty — so a converged regularized model is
                // never passed over for an earlier, less regularized one.
                criteria[m] = units * (trainLoss + penalty(model, model: m))
            }
            var validationScores: Matrix<Float>?
            if let validation {
                let raw = try state.scaler.foldedIntoRawSpace(model, layout: layout)
                let scores = try distributedScores(parameters: raw, features: validation.features)
                validationScores = scores
                for m in 0..<models where !state.diverged[m] {
                    criteria[m] = LinearEvaluation.objective(
                        full, scores: LinearEvaluation.columns(of: scores, model: m, outputs: layout.outputs),
                        dataset: validation, classWeights: state.classWeights)
                }
            }
            // The model reported this epoch: the best one now.
            let live = (0..<models).filter { !state.diverged[$0] }
            // invariant: applyStep throws before the last live model is marked diverged
            let reported = live.min { criteria[$0] < criteria[$1] }!
            guard criteria[reported].isFinite else {
                throw LinearLearnerError.diverged(epoch: epoch, batch: state.batch, reason: "the objective is \(criteria[reported])",
                                                  hint: "lower learning_rate")
            }
            let objectiveName = full.metricName
            var metrics = [MetricValue(channel: "train", name: objectiveName, kind: .loss, value: trainObjectives[reported])]
            var criterion = metrics[0]
            if criteria[reported] != trainObjectives[reported] && validation == nil {
                criterion = MetricValue(channel: "train", name: objectiveName + "_with_penalty", kind: .loss, value: criteria[reported])
            }
            if let validation, let validationScores {
                let v = try LinearEvaluation.epochMetrics(
                    settings: settings, scores: LinearEvaluation.columns(of: validationScores, model: reported, outputs: layout.outputs),
                    dataset: validation, classWeights: state.classWeights, threshold: LinearModel.defaultThreshold(for: full))
                metrics += v
                criterion = v[0]
            }

            var improved = false, significant = false
            if var best = state.best {
                for m in live where criteria[m].isFinite {
                    let relative = (best.criteria[m] - criteria[m]) / max(abs(best.criteria[m]), .leastNormalMagnitude)
                    if relative > settings.earlyStoppingTolerance { significant = true }
                    if criteria[m] < best.criteria[m] {
                        improved = true
                        best.epochs[m] = epoch
                        best.criteria[m] = criteria[m]
                        layout.setParameters(ofModel: m, to: layout.parameters(ofModel: m, in: model), in: &best.parameters)
                    }
                }
                state.best = best
                state.epochsWithoutImprovement = significant ? 0 : state.epochsWithoutImprovement + 1
            } else {
                improved = true
                // A diverged model's criterion is recorded as the largest finite value (JSON has no ∞).
                state.best = .init(epochs: [Int](repeating: epoch, count: models),
                                   criteria: criteria.map { $0.isFinite ? $0 : .greatestFiniteMagnitude }, parameters: model)
            }

            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            let summary = EpochSummary(epoch: epoch, epochs: settings.epochs, metrics: metrics, criterion: criterion,
                                       improved: improved, rowsPerSecond: seconds > 0 ? Double(trainedRows) / seconds : 0,
                                       seconds: seconds)
            state.history.append(summary)
            state.epoch += 1
            state.batch = 0
            state.epochLosses = [Double](repeating: 0, count: models)
            state.epochWeight = 0
            let early = state.epochsWithoutImprovement >= settings.earlyStoppingPatience
            state.finished = early || state.epoch >= settings.epochs
            if comm.rank == 0 {
                events(.epochEnded(summary))
                if improved { events(.note("Epoch \(epoch): loss improved, updating the best model" + (models > 1 ? "s" : ""))) }
                if early {
                    events(.note("Epoch \(epoch): no relative improvement above \(settings.earlyStoppingTolerance) for "
                                 + "\(settings.earlyStoppingPatience) epochs, stopping early"))
                }
                try checkpoint?(state)
            }
            // Rank 0's checkpoint may fail; the others must not run ahead into the next epoch's
            // collectives before it does (a failure aborts them there instead).
            try comm.barrier()
            return early
        }

        /// Model `m`'s `wd/2·‖W‖² + bias_wd_mult·wd/2·‖b‖² + l1·‖W‖₁` in the training space.
        func penalty(_ parameters: [Float], model m: Int) -> Double {
            let variant = settings.variants[m]
            guard variant.weightDecay > 0 || variant.l1 > 0 else { return 0 }
            let single = layout.parameters(ofModel: m, in: parameters)
            let weights = layout.features * layout.outputs
            var squares = 0.0, absolutes = 0.0, biasSquares = 0.0
            for i in 0..<weights {
                let w = Double(single[i])
                squares += w * w
                absolutes += abs(w)
            }
            for i in weights..<single.count { biasSquares += Double(single[i]) * Double(single[i]) }
            return variant.weightDecay / 2 * (squares + settings.biasWeightDecayMultiplier * biasSquares) + variant.l1 * absolutes
        }

        /// `X·W + b` for every row of `features` and every model, each rank scoring a contiguous block.
        func distributedScores(parameters: [Float], features: Features) throws -> Matrix<Float> {
            let blocks = MicroShards(rows: features.rows, shardRows: 4096)
            let mine = blocks.rows(forRank: comm.rank, of: comm.size)
            var local = Matrix<Float>(rows: mine.count, columns: layout.columns)
            if !mine.isEmpty { try layout.scores(features.rows(mine), parameters: parameters, into: &local) }
            let all = try comm.allGather(local.elements)
            return try Matrix(rows: features.rows, columns: layout.columns, elements: all.flatMap { $0 })
        }
    }
}

import Foundation
import MLCore

extension LinearLearnerTrainer.EpochLoop {
    /// One mini-batch through the parameter server (``LinearServer``): pull the rows this
    /// worker's rows need, compute each micro-shard's losses and gradient, agree on the
    /// mini-batch's totals (synchronous) or keep them (otherwise), take the loss checks of
    /// ``applyStep(losses:weight:state:)``, and push. Returns whether training stops.
    mutating func serverStep(batch: LinearLearnerTrainer.MiniBatch, shards: MicroShards, state: inout LinearTrainingState,
                             server: LinearServer) throws -> Bool {
        let ps = server.server, rank = comm.rank, step = serverStep, k = layout.columns
        let mine = shards.shards(forRank: rank, of: comm.size)
        if !server.synchronous, cancellation?.isCancelled == true {
            // Nobody waits on a worker that has stopped; the others stop at their next mini-batch.
            ps.release(worker: rank)
            return true
        }

        // The parameters this worker's rows read.
        if sparse {
            let rows = touchedFeatures(batch: batch, shards: shards, mine: mine) + [layout.features]
            let values = try ps.pullRows(worker: rank, step: step, rows: rows)
            for (i, r) in rows.enumerated() {
                for c in 0..<k { state.parameters[r * k + c] = Float(values[i * k + c]) }
            }
        } else {
            let values = try ps.pull(worker: rank, step: step)
            for i in values.indices { state.parameters[i] = Float(values[i]) }
        }

        // Each micro-shard's losses, weight and stop flag, and its gradient.
        let headerWidth = models + 2
        var header: [Double] = []
        header.reserveCapacity(mine.count * headerWidth)
        var dense: [Double] = []
        var parts: [(rows: [Int], values: [Double])] = []
        if sparse, stamps.isEmpty { stamps = [Int](repeating: -1, count: layout.features) }
        for s in mine {
            let rows = shards.rows(ofShard: s)
            let m = rows.count
            gatherScaled(batch: batch, positions: rows, state: state)
            for j in modelLosses.indices { modelLosses[j] = 0 }
            let weight: Double
            if sparse {
                weight = try objective.accumulate(
                    sparse: shardSparse, labels: Array(shardLabels[0..<m]), weights: Array(shardWeights[0..<m]),
                    parameters: state.parameters, layout: layout, gradient: &gradient, scratch: &scores, modelLosses: &modelLosses)
                shardNumber += 1
                var touched: [Int] = []
                for j in shardSparse.columnIndices where stamps[Int(j)] != shardNumber {
                    stamps[Int(j)] = shardNumber
                    touched.append(Int(j))
                }
                touched.sort()
                var values: [Double] = []
                values.reserveCapacity((touched.count + 1) * k)
                // The touched rows and the bias, read and cleared (the next shard adds into zeros).
                for j in touched + [layout.features] {
                    for c in 0..<k {
                        values.append(Double(gradient[j * k + c]))
                        gradient[j * k + c] = 0
                    }
                }
                parts.append((rows: touched + [layout.features], values: values))
            } else {
                for j in gradient.indices { gradient[j] = 0 }
                weight = try objective.accumulate(
                    features: shardX.rows(0..<m), labels: Array(shardLabels[0..<m]), weights: Array(shardWeights[0..<m]),
                    parameters: state.parameters, layout: layout, gradient: &gradient, scratch: &scores, modelLosses: &modelLosses)
                for g in gradient { dense.append(Double(g)) }
            }
            header += modelLosses
            header.append(weight)
            header.append(stopSignal(first: s == mine.lowerBound))
        }

        // The mini-batch's totals: agreed by every worker, or this worker's own.
        var losses = [Double](repeating: 0, count: models), weight = 0.0, stop = false
        if server.synchronous {
            let total = try comm.reduceMicroShards(header, width: headerWidth, shards: shards)
            losses = Array(total[0..<models])
            weight = total[models]
            stop = total[models + 1] > 0
            // Every worker has pushed the previous step (it is in this collective), so every
            // shard has applied it: its non-finite parameters are all known now.
            if step > 0 { try checkServerNonFinite(server, upTo: step - 1, state: &state) }
        } else {
            for s in 0..<mine.count {
                for t in 0..<models { losses[t] += header[s * headerWidth + t] }
                weight += header[s * headerWidth + models]
            }
            try checkServerNonFinite(server, upTo: .max, state: &state)
        }
        if stop { return true }
        guard weight > 0 else {
            // Every row weighs zero: nothing to learn from (synchronous: every worker agrees).
            if !server.synchronous {
                try ps.skip(worker: rank, step: step)
                serverStep += 1
            }
            return false
        }

        // The loss checks of applyStep, on the same totals.
        let updates = server.firstStep + step
        try checkLosses(losses, weight: weight, rates: settings.variants.map { $0.rate(afterUpdates: updates) }, state: &state)

        if server.synchronous {
            server.prepare(step: step, weight: weight, diverged: state.diverged)
        } else {
            server.markDiverged(state.diverged)
            // The worker's own mean gradient: one update from its share of the mini-batch.
            for i in dense.indices { dense[i] /= weight }
            for p in parts.indices {
                for i in parts[p].values.indices { parts[p].values[i] /= weight }
            }
        }
        if sparse {
            try ps.pushRowParts(worker: rank, step: step, parts: parts)
        } else {
            try ps.push(worker: rank, step: step, partials: dense, microShards: mine)
        }
        for m in 0..<models { state.epochLosses[m] += state.diverged[m] ? 0 : losses[m] }
        state.epochWeight += weight
        serverStep += 1
        return false
    }

    /// Brings the server's model into `state` at the end of an epoch or at a stop: the last
    /// update in (synchronous), or every worker's pushes in and the epoch's losses summed over
    /// the workers (otherwise). Returns whether some worker stopped.
    mutating func finishServerEpoch(_ server: LinearServer, state: inout LinearTrainingState, stopped: Bool) throws -> Bool {
        let ps = server.server
        if server.synchronous {
            // Waits for every shard's last update.
            _ = try ps.pull(worker: comm.rank, step: serverStep)
            server.read(into: &state)
            try checkServerNonFinite(server, upTo: serverStep - 1, state: &state)
            return stopped
        }
        if stopped { ps.release(worker: comm.rank) }
        // A collective: once every worker is here, every push is in (a push applies before it returns).
        var sums = state.epochLosses + [state.epochWeight, stopped ? 1 : 0] + state.diverged.map { $0 ? 1.0 : 0 }
        try comm.allReduceSum(&sums)
        state.epochLosses = Array(sums[0..<models])
        state.epochWeight = sums[models]
        let anyStopped = sums[models + 1] > 0
        for m in 0..<models where sums[models + 2 + m] > 0 && !state.diverged[m] {
            state.diverged[m] = true
        }
        server.markDiverged(state.diverged)
        server.read(into: &state)
        try checkServerNonFinite(server, upTo: .max, state: &state)
        // Diverged models are zeroed on the server at their next update; the epoch's model has them at zero now.
        for m in 0..<models where state.diverged[m] {
            zeroModel(m, in: &state.parameters)
            zeroModel(m, in: &state.averaged)
        }
        return anyStopped
    }

    /// Marks the models whose parameters the server found non-finite as diverged (an error
    /// when it is the last live model), as ``applyStep(losses:weight:state:)`` does after a step.
    mutating func checkServerNonFinite(_ server: LinearServer, upTo step: Int, state: inout LinearTrainingState) throws {
        for bad in server.takeNonFinite(upTo: step) where !state.diverged[bad.model] {
            let rate = settings.variants[bad.model].rate(afterUpdates: server.firstStep + max(0, bad.step))
            try markDiverged(bad.model, reason: "parameter \(bad.index) became \(bad.value)",
                             hint: divergenceHint(rate: rate),
                             state: &state)
            if !server.synchronous { server.markDiverged(state.diverged) }
        }
    }

    /// The features (rows of `W`) the rows of this worker's micro-shards have values in, ascending.
    mutating func touchedFeatures(batch: LinearLearnerTrainer.MiniBatch, shards: MicroShards, mine: Range<Int>) -> [Int] {
        guard case .sparse(let source) = batch.data.features, !mine.isEmpty else { return [] }
        if pullMask.count != layout.features { pullMask = [Bool](repeating: false, count: layout.features) }
        var out: [Int] = []
        let positions = shards.rows(ofShard: mine.lowerBound).lowerBound..<shards.rows(ofShard: mine.upperBound - 1).upperBound
        source.withUnsafeBuffers { offsets, indices, _ in
            for p in positions {
                let i = batch.row(p)
                for e in offsets[i]..<offsets[i + 1] where !pullMask[Int(indices[e])] {
                    pullMask[Int(indices[e])] = true
                    out.append(Int(indices[e]))
                }
            }
        }
        for j in out { pullMask[j] = false }
        return out.sorted()
    }
}

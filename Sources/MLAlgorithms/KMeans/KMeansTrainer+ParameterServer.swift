import Foundation
import MLCore

/// The streaming centres on a parameter server: one row per centre, `(c₁ … c_d, N, ·)`, and a
/// last row for the mini-batch's loss. A worker pushes, per micro-shard, each centre's sum of
/// assigned rows, their count and the shard's row count; the server moves the centre exactly as
/// ``KMeansTrainer/step(_:batch:)`` does (the same arithmetic on the same tree sums), so the
/// synchronous server gives the bits of all-reduce. Asynchronously each worker's push moves the
/// centres on arrival, by its own rows (smaller mini-batches, in arrival order).
///
/// The loop still waits for every worker at the end of each mini-batch, so staleness cannot
/// exceed one mini-batch: `stale:s` behaves as `stale:0` here.
///
/// Across MPI processes the server is ``CollectiveParameterServer``: the shards live on the
/// ranks, each rank's partials go to the shards' owners only, and the owners move the centres —
/// synchronously, with the bits of all-reduce.
struct KMeansServer: Sendable {
    let server: ParameterServer<Double>
    let collective: CollectiveParameterServer<Double>?
    let centres: Int
    let features: Int
    var width: Int { features + 2 }
}

extension KMeansTrainer {
    func makeServer(_ state: KMeansTrainingState, events: (TrainingEvent) -> Void) throws -> KMeansServer {
        // invariant: only called with parameterServer set
        let shape = parameterServer!
        let acrossProcesses = group.map { !($0 is InProcessWorkerGroup) } ?? false
        if acrossProcesses && shape.consistency != .synchronous {
            throw HyperparameterError.invalid(name: "_kvstore", value: shape.consistency.description,
                                              rule: "across MPI processes the parameter server runs synchronously (dist_sync)")
        }
        let d = hyperparameters.featureDim, count = state.weights.count, w = d + 2
        var initial = [Double](repeating: 0, count: (count + 1) * w)
        for j in 0..<count {
            for t in 0..<d { initial[j * w + t] = Double(state.centres[j * d + t]) }
            initial[j * w + d] = state.weights[j]
        }
        let halfLife = hyperparameters.halfLifeTimeSize, synchronous = shape.consistency == .synchronous
        let server: ParameterServer<Double>
        var collective: CollectiveParameterServer<Double>?
        let update: ParameterServer<Double>.Apply = { range, v, u, _, _ in
            let first = range.lowerBound / w
            for row in first..<(range.upperBound / w) {
                let o = (row - first) * w
                if row == count {
                    // The loss row: the mini-batch's summed squared distance (synchronous), or
                    // a running sum of every push's (asynchronous).
                    v[o] = synchronous ? u[o] : v[o] + u[o]
                    continue
                }
                let decay = halfLife > 0 ? pow(0.5, u[o + d + 1] / Double(halfLife)) : 1
                let previous = v[o + d] * decay
                let m = u[o + d]
                if m > 0 {
                    let share = m / (previous + m)
                    for t in 0..<d {
                        let mean = u[o + t] / m
                        let c = v[o + t]
                        v[o + t] = Double(Float(c + share * (mean - c)))
                    }
                }
                v[o + d] = previous + m
            }
        }
        do {
            server = try ParameterServer<Double>(initial: initial, shards: shape.shards, workers: workers, consistency: shape.consistency,
                                                 rowWidth: w, apply: update)
            if acrossProcesses, let group {
                let rank = try group.run { comm in comm.rank }
                collective = try CollectiveParameterServer<Double>(initial: initial, shards: shape.shards, rank: rank, ranks: group.size,
                                                                   rowWidth: w, apply: update)
            }
        } catch let error as ParameterServerError {
            throw HyperparameterError.invalid(name: "parameter_server", value: shape.consistency.description, rule: error.description)
        }
        if !shape.consistency.isDeterministic {
            events(.note("parameter_server=\(shape.consistency): each worker's rows move the centres on arrival, so runs are not reproducible"))
        }
        if acrossProcesses, let group {
            events(.note("_kvstore: the parameter server across \(group.size) MPI processes (shards on the ranks), synchronously"))
        }
        return KMeansServer(server: server, collective: collective, centres: count, features: d)
    }

    /// One mini-batch through the server (`index`: the server's step count).
    func step(_ state: inout KMeansTrainingState, batch: Matrix<Float>, server: KMeansServer, index: Int) throws {
        let p = hyperparameters, d = p.featureDim, count = server.centres, w = server.width
        let prepared = KMeansCentres(values: state.centres, count: count, features: d)
        let shards = MicroShards(rows: batch.rows, shardRows: Self.shardRows)
        let ps = server.server, synchronous = ps.consistency == .synchronous
        let before = synchronous ? 0 : ps.values[count * w]
        let pulled = try batch.withUnsafeBufferPointer { xb in
            let x = SharedPointer(xb.baseAddress!) // invariant: a batch has ≥ 1 row
            // A fixed worker count: the server counts every worker's push, shards or none.
            // Across processes: the group's ranks, through the collective server.
            let runner: any WorkerGroup = server.collective != nil ? (group ?? InProcessWorkerGroup(workers: workers)) : InProcessWorkerGroup(workers: workers)
            return try runner.run { comm -> [Double] in
                do {
                    var local: [Double] = []
                    var scratch: [Float] = []
                    let mine = shards.shards(forRank: comm.rank, of: comm.size)
                    for s in mine {
                        let r = shards.rows(ofShard: s)
                        let acc = Self.accumulate(prepared, rows: r, x: x.base, count: count, d: d, scratch: &scratch)
                        // The accumulator's [sums | counts | loss] as the server's rows.
                        var rows = [Double](repeating: 0, count: (count + 1) * w)
                        for j in 0..<count {
                            for t in 0..<d { rows[j * w + t] = acc.values[j * d + t] }
                            rows[j * w + d] = acc.values[count * d + j]
                            rows[j * w + d + 1] = Double(r.count)
                        }
                        rows[count * w] = acc.values[count * d + count]
                        local += rows
                    }
                    if let collective = server.collective { return try collective.step(comm, partials: local, microShards: mine) }
                    try ps.push(worker: comm.rank, step: index, partials: local, microShards: mine)
                    return try ps.pull(worker: comm.rank, step: index + 1)
                } catch {
                    ps.abort(reason: "worker \(comm.rank): \(error)")
                    throw error
                }
            }
        }
        // Asynchronously rank 0's pull may predate the others' pushes; every push of this
        // mini-batch is in by now (the group waited for every worker).
        let values = synchronous ? pulled : ps.values
        for j in 0..<count {
            for t in 0..<d { state.centres[j * d + t] = Float(values[j * w + t]) }
            state.weights[j] = values[j * w + d]
        }
        state.epochLoss += synchronous ? values[count * w] : values[count * w] - before
        state.epochRows += batch.rows
    }
}

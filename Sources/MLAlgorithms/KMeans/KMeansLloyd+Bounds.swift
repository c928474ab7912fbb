import MLCore

/// Lloyd's iterations with Hamerly's bounds (Hamerly 2010): the same iterates as the plain
/// loop — every row still goes to its closest centre each iteration — but a row whose closest
/// centre provably cannot have changed is not measured again.
///
/// Each row keeps an upper bound u on the distance to its centre and a lower bound l on the
/// distance to every other. When the centres move by δⱼ, u grows by δ of its own centre and l
/// shrinks by the largest δ of the others. A row with u ≤ max(l, sⱼ/2) (sⱼ: half the distance
/// from its centre to the nearest other centre) keeps its centre; otherwise u is made exact, and
/// if that is not enough the row is measured against every centre by the GEMM kernel (gathered
/// in blocks). A relative margin of 1e-4 on the test sends near-ties to the exact path, so
/// Float rounding in the bounds cannot keep a row where the plain loop would move it.
///
/// Per-centre sums are kept per micro-shard and updated when a row changes centre; the shards'
/// sums are reduced in the fixed tree each iteration, so the result is the same for any worker
/// count.
extension KMeansLloyd {
    static func runBounded(_ x: Matrix<Float>, weights: [Float]?, initial: Matrix<Float>, maxIterations: Int, tolerance: Double,
                           workers: Int) throws -> Result {
        let n = x.rows, d = x.columns, k = initial.rows
        let shards = MicroShards(rows: n, shardRows: shardRows)
        let width = KMeansAccumulator.width(k: k, d: d)
        var labels = [Int32](repeating: 0, count: n)
        var upper = [Float](repeating: 0, count: n), lower = [Float](repeating: 0, count: n)
        var shardSums = [Double](repeating: 0, count: shards.count * width)
        var centres = initial.elements
        var iterations = 0
        var changed = n
        var strictlyConverged = false
        var measuredRows = 0
        let margin: Float = 1 + 1e-4

        return try labels.withUnsafeMutableBufferPointer { lb in
            try upper.withUnsafeMutableBufferPointer { ub in
                try lower.withUnsafeMutableBufferPointer { lob in
                    try shardSums.withUnsafeMutableBufferPointer { sb in
                        try x.withUnsafeBufferPointer { xb in
                            // invariant: n ≥ k ≥ 2 rows, so every buffer is non-empty
                            let lp = SharedMutablePointer(lb.baseAddress!), up = SharedMutablePointer(ub.baseAddress!) // invariant: see above
                            let lo = SharedMutablePointer(lob.baseAddress!), sp = SharedMutablePointer(sb.baseAddress!) // invariant: the buffer or result is non-empty / present by construction
                            let xp = SharedPointer(xb.baseAddress!) // invariant: the buffer or result is non-empty / present by construction
                            let w = weights

                            /// Runs `body(shard)` for every shard, spread over the workers; returns the
                            /// reduced per-centre totals and the rows whose centre changed.
                            func sweep(_ body: @escaping @Sendable (Int, inout [Float]) -> (moved: Int, measured: Int)) throws -> (totals: [Double], changed: Int) {
                                let outcomes = try InProcessCommunicator.run(workers: min(workers, shards.count)) { comm -> ([Double], Int, Int) in
                                    var local: [Double] = [], moved = 0, measured = 0
                                    var scratch: [Float] = []
                                    for s in shards.shards(forRank: comm.rank, of: comm.size) {
                                        let counts = body(s, &scratch)
                                        moved += counts.moved
                                        measured += counts.measured
                                        local += UnsafeBufferPointer(start: sp + s * width, count: width)
                                    }
                                    let totals = try comm.reduceMicroShards(local, width: width, shards: shards)
                                    let all = try comm.allGather([Double(moved), Double(measured)])
                                    return (totals, all.reduce(0) { $0 + Int($1[0]) }, all.reduce(0) { $0 + Int($1[1]) })
                                }
                                measuredRows += outcomes[0].2
                                return (outcomes[0].0, outcomes[0].1)
                            }

                            /// Adds (sign +1) or removes (−1) row i from centre j of its shard's sums.
                            @Sendable func account(_ i: Int, _ j: Int, _ sign: Double, shard s: Int) {
                                let weight = sign * Double(w?[i] ?? 1)
                                let base = sp + s * width, row = xp + i * d
                                for t in 0..<d { base[j * d + t] += weight * Double(row[t]) }
                                base[k * d + j] += weight
                            }

                            // The first assignment: every row against every centre.
                            let first = KMeansCentres(values: centres, count: k, features: d)
                            var (totals, _) = try sweep { s, scratch in
                                let r = shards.rows(ofShard: s)
                                first.assign(rows: r.count, x: xp + r.lowerBound * d, labels: lp + r.lowerBound, best: up + r.lowerBound,
                                                second: lo + r.lowerBound, scratch: &scratch)
                                for i in r {
                                    up[i] = up[i].squareRoot()
                                    lo[i] = lo[i].squareRoot()
                                    account(i, Int(lp[i]), 1, shard: s)
                                }
                                return (r.count, r.count)
                            }

                            /// Moves of the centres in the last M-step.
                            var moves = [Float](repeating: 0, count: k)
                            func estep() throws {
                                let prepared = KMeansCentres(values: centres, count: k, features: d)
                                // Half the distance from each centre to its nearest other centre.
                                var half = [Float](repeating: .infinity, count: k)
                                for a in 0..<k {
                                    for b in 0..<k where b != a {
                                        var t: Float = 0
                                        for c in 0..<d { let diff = centres[a * d + c] - centres[b * d + c]; t += diff * diff }
                                        half[a] = min(half[a], t.squareRoot() / 2)
                                    }
                                }
                                var top = 0
                                for j in 1..<k where moves[j] > moves[top] { top = j }
                                var runnerUp: Float = 0
                                for j in 0..<k where j != top { runnerUp = max(runnerUp, moves[j]) }
                                let largest = moves[top], movesNow = moves, halfNow = half, centresNow = centres, topNow = top, runnerUpNow = runnerUp
                                (totals, changed) = try sweep { s, scratch in
                                    let r = shards.rows(ofShard: s)
                                    var pending: [Int] = []
                                    for i in r {
                                        let a = Int(lp[i])
                                        up[i] += movesNow[a]
                                        lo[i] -= a == topNow ? runnerUpNow : largest
                                        let bound = max(lo[i], halfNow[a])
                                        if up[i] * margin <= bound { continue }
                                        var t: Float = 0
                                        for c in 0..<d { let diff = xp[i * d + c] - centresNow[a * d + c]; t += diff * diff }
                                        up[i] = t.squareRoot()
                                        if up[i] * margin <= bound { continue }
                                        pending.append(i)
                                    }
                                    guard !pending.isEmpty else { return (0, 0) }
                                    // The rows that need every distance, gathered into blocks for the GEMM kernel.
                                    var moved = 0
                                    let block = 256
                                    var gathered = [Float](repeating: 0, count: min(block, pending.count) * d)
                                    var newLabels = [Int32](repeating: 0, count: block)
                                    var best = [Float](repeating: 0, count: block), second = [Float](repeating: 0, count: block)
                                    var start = 0
                                    while start < pending.count {
                                        let m = min(block, pending.count - start)
                                        for (g, i) in pending[start..<(start + m)].enumerated() {
                                            for c in 0..<d { gathered[g * d + c] = xp[i * d + c] }
                                        }
                                        gathered.withUnsafeBufferPointer { gp in
                                            // invariant: m ≥ 1 rows gathered
                                            prepared.assign(rows: m, x: gp.baseAddress!, labels: &newLabels, best: &best, second: &second, scratch: &scratch) // invariant: see above
                                        }
                                        for g in 0..<m {
                                            let i = pending[start + g], old = Int(lp[i]), new = Int(newLabels[g])
                                            up[i] = best[g].squareRoot()
                                            lo[i] = second[g].squareRoot()
                                            if new != old {
                                                account(i, old, -1, shard: s)
                                                account(i, new, 1, shard: s)
                                                lp[i] = Int32(new)
                                                moved += 1
                                            }
                                        }
                                        start += m
                                    }
                                    return (moved, pending.count)
                                }
                            }

                            while iterations < maxIterations {
                                // M-step: the new centres (empty ones re-seeded at the farthest rows).
                                var updated = totals
                                if (0..<k).contains(where: { updated[k * d + $0] <= 0 }) {
                                    let current = centres
                                    let exact = (0..<n).map { i -> Float in
                                        var t: Float = 0
                                        for c in 0..<d { let diff = xp[i * d + c] - current[Int(lp[i]) * d + c]; t += diff * diff }
                                        return t
                                    }
                                    relocateEmpty(&updated, k: k, d: d, x: x, weights: weights, labels: Array(UnsafeBufferPointer(start: lp.base, count: n)),
                                                  distances: exact)
                                }
                                var next = centres
                                var shift = 0.0
                                moves = [Float](repeating: 0, count: k)
                                for j in 0..<k {
                                    let weight = updated[k * d + j]
                                    guard weight > 0 else { continue }
                                    var move = 0.0
                                    for t in 0..<d {
                                        let v = Float(updated[j * d + t] / weight)
                                        let diff = Double(v) - Double(centres[j * d + t])
                                        move += diff * diff
                                        next[j * d + t] = v
                                    }
                                    shift += move
                                    moves[j] = Float(move.squareRoot())
                                }
                                centres = next
                                iterations += 1
                                if iterations > 1 && changed == 0 { strictlyConverged = true; break }
                                if shift <= tolerance || iterations == maxIterations { break }
                                try estep()
                            }
                            // The labels of the final centres (scikit-learn's last E-step), by the bounds as well.
                            if !strictlyConverged { try estep() }
                            // Inertia against the final centres, by the direct difference (in Double).
                            let final = centres
                            let parts = try InProcessCommunicator.run(workers: min(workers, shards.count)) { comm -> [Double] in
                                var local: [Double] = []
                                for s in shards.shards(forRank: comm.rank, of: comm.size) {
                                    var t = 0.0
                                    for i in shards.rows(ofShard: s) {
                                        let a = Int(lp[i])
                                        var r: Float = 0
                                        for c in 0..<d { let diff = xp[i * d + c] - final[a * d + c]; r += diff * diff }
                                        t += Double(w?[i] ?? 1) * Double(r)
                                    }
                                    local.append(t)
                                }
                                return try comm.reduceMicroShards(local, width: 1, shards: shards)
                            }
                            // invariant: k × d elements
                            let matrix = try! Matrix(rows: k, columns: d, elements: centres) // invariant: see above
                            return Result(centres: matrix, inertia: parts[0][0], iterations: iterations,
                                          labels: Array(UnsafeBufferPointer(start: lp.base, count: n)), measuredRows: measuredRows)
                        }
                    }
                }
            }
        }
    }
}

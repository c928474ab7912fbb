import Foundation
import MLCore
import Synchronization
import Testing

/// Every wait in these tests is bounded, so a bug fails a test instead of hanging CI.
private let bounded = 30.0

/// A least-squares problem `y ≈ X·w` (rows × d, Float) and its SGD-with-momentum training,
/// written once for both the all-reduce and the parameter-server path. The flat buffer holds
/// rows of width 2, `(w_j, b_j)`: the weight and its momentum, so the optimizer state lives on
/// the server beside the weight it moves; a push carries `(g_j, 0)`.
private struct LeastSquares: Sendable {
    let rows = 150, d = 7, shardRows = 16
    let x: [Float], y: [Float]
    static let lr: Float = 0.05, momentum: Float = 0.9

    init(seed: UInt64 = 7) {
        var r = RandomStream(seed: seed)
        let truth = (0..<7).map { _ in Float(r.standardNormal()) }
        var x: [Float] = [], y: [Float] = []
        for _ in 0..<150 {
            let row = (0..<7).map { _ in Float(r.standardNormal()) }
            x += row
            y.append(zip(row, truth).map { $0 * $1 }.reduce(0, +) + 0.01 * Float(r.standardNormal()))
        }
        self.x = x
        self.y = y
    }

    var shards: MicroShards { MicroShards(rows: rows, shardRows: shardRows) }

    /// Partials of `shardRange`'s micro-shards at weights `w` (the 2d layout), concatenated.
    func partials(_ buffer: [Float], shards range: Range<Int>) -> [Float] {
        var out: [Float] = []
        for s in range {
            var g = [Float](repeating: 0, count: 2 * d)
            for i in shards.rows(ofShard: s) {
                var p: Float = 0
                for j in 0..<d { p += x[i * d + j] * buffer[2 * j] }
                let e = (p - y[i]) / Float(rows)
                for j in 0..<d { g[2 * j] += e * x[i * d + j] }
            }
            out += g
        }
        return out
    }

    /// The update on `(w, b)` pairs; `scale` turns one worker's share into a whole step's.
    static func update(_ v: UnsafeMutableBufferPointer<Float>, _ u: UnsafeBufferPointer<Float>, scale: Float) {
        var j = 0
        while j + 1 < v.count {
            v[j + 1] = momentum * v[j + 1] + scale * u[j]
            v[j] -= lr * v[j + 1]
            j += 2
        }
    }

    func loss(_ buffer: [Float]) -> Double {
        var s = 0.0
        for i in 0..<rows {
            var p: Float = 0
            for j in 0..<d { p += x[i * d + j] * buffer[2 * j] }
            s += Double((p - y[i]) * (p - y[i]))
        }
        return s / Double(rows)
    }

    /// `steps` steps over all-reduce with `workers` ranks: every rank applies the same update.
    func allReduce(workers: Int, steps: Int) throws -> [Float] {
        let problem = self
        return try InProcessWorkerGroup(workers: workers, timeout: bounded).run { comm in
            var buffer = [Float](repeating: 0, count: 2 * problem.d)
            for _ in 0..<steps {
                let mine = problem.shards.shards(forRank: comm.rank, of: comm.size)
                let total = try comm.reduceMicroShards(problem.partials(buffer, shards: mine), width: 2 * problem.d, shards: problem.shards)
                buffer.withUnsafeMutableBufferPointer { v in
                    total.withUnsafeBufferPointer { u in Self.update(v, u, scale: 1) }
                }
            }
            return buffer
        }
    }

    /// `steps` steps through a parameter server of `servers` shards.
    func parameterServer(workers: Int, servers: Int, consistency: ParameterServerConsistency, steps: Int,
                         delay: (@Sendable (_ worker: Int, _ step: Int) -> Void)? = nil,
                         observe: (@Sendable (_ worker: Int, _ step: Int, _ lag: Int) -> Void)? = nil) throws -> (values: [Float], server: ParameterServer<Float>) {
        let problem = self
        let server = try ParameterServer<Float>(initial: [Float](repeating: 0, count: 2 * d), shards: servers, workers: workers,
                                                consistency: consistency, rowWidth: 2, timeout: bounded) { _, v, u, contributors, _ in
            Self.update(v, u, scale: Float(workers / contributors))
        }
        try InProcessWorkerGroup(workers: workers, timeout: bounded).run { comm in
            do {
                for step in 0..<steps {
                    let buffer = try server.pull(worker: comm.rank, step: step)
                    observe?(comm.rank, step, server.lag(at: step))
                    delay?(comm.rank, step)
                    let mine = problem.shards.shards(forRank: comm.rank, of: comm.size)
                    try server.push(worker: comm.rank, step: step, partials: problem.partials(buffer, shards: mine), microShards: mine)
                }
            } catch {
                server.abort(reason: "worker \(comm.rank): \(error)")
                throw error
            }
        }
        return (server.values, server)
    }
}

@Suite("Parameter server")
struct ParameterServerTests {
    @Test("synchronous mode equals all-reduce bit for bit, for 1–4 workers and 1–3 server shards")
    func synchronousEqualsAllReduce() throws {
        let problem = LeastSquares()
        let reference = try problem.allReduce(workers: 1, steps: 25)
        #expect(problem.loss(reference) < problem.loss([Float](repeating: 0, count: 14)) / 10)
        for workers in 1...4 {
            #expect(try problem.allReduce(workers: workers, steps: 25) == reference)
            for servers in 1...3 {
                let (values, server) = try problem.parameterServer(workers: workers, servers: servers, consistency: .synchronous, steps: 25)
                #expect(values == reference, "\(workers) workers, \(servers) shards")
                let c = server.counters
                #expect(c.pushes == 25 * workers && c.pulls == 25 * workers)
                #expect(c.updates == 25 * server.shardRanges.count)
                #expect(c.bytesPulled == 25 * workers * 14 * 4)
            }
        }
    }

    @Test("shards own contiguous whole rows covering the buffer")
    func shardRanges() throws {
        for (count, width, shards) in [(14, 2, 3), (12, 3, 5), (10, 1, 10), (6, 2, 8)] {
            let server = try ParameterServer<Double>(initial: [Double](repeating: 0, count: count), shards: shards, workers: 1,
                                                     consistency: .synchronous, rowWidth: width) { _, _, _, _, _ in }
            var next = 0
            for r in server.shardRanges {
                #expect(r.lowerBound == next && r.count % width == 0 && !r.isEmpty)
                next = r.upperBound
            }
            #expect(next == count)
            #expect(server.shardRanges.count == min(shards, count / width))
        }
    }

    @Test("bounded staleness: no worker pulls more than s steps ahead of the slowest, and training converges near the synchronous result")
    func boundedStaleness() throws {
        let problem = LeastSquares()
        let sync = problem.loss(try problem.allReduce(workers: 1, steps: 60))
        for s in [0, 2] {
            let lags = Mutex<[Int]>([])
            let (values, _) = try problem.parameterServer(
                workers: 3, servers: 2, consistency: .boundedStaleness(s), steps: 60,
                // worker 0 is slow, so the others run ahead as far as the bound lets them
                delay: { worker, _ in if worker == 0 { usleep(2000) } },
                observe: { _, _, lag in lags.withLock { $0.append(lag) } })
            let seen = lags.withLock { $0 }
            #expect(seen.count == 180)
            #expect((seen.max() ?? 0) <= s, "lags \(seen.max() ?? 0) > \(s)")
            if s > 0 { #expect((seen.max() ?? 0) > 0, "the fast workers never ran ahead: the test exercises nothing") }
            let loss = problem.loss(values)
            #expect(loss.isFinite && loss < 2 * sync + 1e-3, "stale:\(s) loss \(loss), synchronous \(sync)")
        }
    }

    @Test("asynchronous mode never waits and converges within a tolerance of the synchronous result")
    func asynchronousConverges() throws {
        let problem = LeastSquares()
        let sync = problem.loss(try problem.allReduce(workers: 1, steps: 60))
        let (values, server) = try problem.parameterServer(workers: 3, servers: 3, consistency: .asynchronous, steps: 60,
                                                           delay: { worker, _ in if worker == 0 { usleep(1000) } })
        let loss = problem.loss(values)
        #expect(loss.isFinite && loss < 2 * sync + 1e-3, "async loss \(loss), synchronous \(sync)")
        // Each push is its own update on every shard.
        #expect(server.counters.updates == 60 * 3 * 3)
        #expect(!ParameterServerConsistency.asynchronous.isDeterministic && ParameterServerConsistency.synchronous.isDeterministic)
    }

    @Test("sparse pushes and pulls touch only their rows; synchronous rows equal the dense rank-order sum bit for bit")
    func sparseRows() throws {
        let rows = 40, width = 3, workers = 3, steps = 6
        // Worker w touches a seeded subset of rows each step.
        @Sendable func touched(_ worker: Int, _ step: Int) -> [Int] {
            var r = RandomStream(seed: 11, path: [UInt64(worker), UInt64(step)])
            return (0..<rows).filter { _ in r.nextDouble() < 0.2 }
        }
        @Sendable func values(_ worker: Int, _ step: Int, _ row: Int) -> [Float] {
            (0..<width).map { Float(worker * 7 + step) * 0.1 + Float(row) * 0.01 + Float($0) * 0.3 }
        }
        let server = try ParameterServer<Float>(initial: [Float](repeating: 1, count: rows * width), shards: 3, workers: workers,
                                                consistency: .synchronous, rowWidth: width, timeout: bounded) { _, _, _, _, _ in }
        let visits = Mutex<Int>(0)
        try InProcessWorkerGroup(workers: workers, timeout: bounded).run { comm in
            for step in 0..<steps {
                let mine = touched(comm.rank, step)
                let pulled = try server.pullRows(worker: comm.rank, step: step, rows: mine)
                #expect(pulled.count == mine.count * width)
                try server.pushRows(worker: comm.rank, step: step, rows: mine, values: mine.flatMap { values(comm.rank, step, $0) }) { _, v, u, _ in
                    visits.withLock { $0 += 1 }
                    for t in 0..<v.count { v[t] += u[t] }
                }
            }
        }
        // Dense reference: every worker's rows (zeros elsewhere) summed in rank order, then added.
        var reference = [Float](repeating: 1, count: rows * width)
        var expectedVisits = 0
        for step in 0..<steps {
            let dense = try InProcessWorkerGroup(workers: workers, timeout: bounded).run { comm -> [Float] in
                var buffer = [Float](repeating: 0, count: rows * width)
                for row in touched(comm.rank, step) {
                    for (t, v) in values(comm.rank, step, row).enumerated() { buffer[row * width + t] = v }
                }
                try comm.allReduceSum(&buffer)
                return buffer
            }
            let union = Set((0..<workers).flatMap { touched($0, step) })
            expectedVisits += union.count
            for row in union { for t in 0..<width { reference[row * width + t] += dense[row * width + t] } }
        }
        #expect(server.values == reference)
        #expect(visits.withLock { $0 } == expectedVisits, "untouched rows were visited")
        #expect(server.counters.bytesPulled < steps * workers * rows * width * 4)
    }

    @Test("malformed pushes and pulls are refused with a reason")
    func refusals() throws {
        let server = try ParameterServer<Float>(initial: [Float](repeating: 0, count: 12), shards: 2, workers: 2,
                                                consistency: .synchronous, rowWidth: 3) { _, _, _, _, _ in }
        #expect(throws: ParameterServerError.self) { try server.push(worker: 0, step: 0, partials: [1, 2], microShards: 0..<1) }
        #expect(throws: ParameterServerError.self) { try server.push(worker: 2, step: 0, partials: [], microShards: 0..<0) }
        #expect(throws: ParameterServerError.self) { _ = try server.pullRows(worker: 0, step: 0, rows: [2, 1]) }
        #expect(throws: ParameterServerError.self) { _ = try server.pullRows(worker: 0, step: 0, rows: [4]) }
        #expect(throws: ParameterServerError.self) {
            try server.pushRows(worker: 0, step: 0, rows: [0], values: [1, 2]) { _, _, _, _ in }
        }
        #expect(throws: ParameterServerError.self) {
            _ = try ParameterServer<Float>(initial: [0, 0, 0], shards: 1, workers: 1, consistency: .synchronous, rowWidth: 2) { _, _, _, _, _ in }
        }
        for bad in ["", "stale", "stale:-1", "stale:x", "bsp"] {
            #expect(throws: ParameterServerError.self) { _ = try ParameterServerConsistency(parsing: bad) }
        }
        #expect(try ParameterServerConsistency(parsing: "stale:3") == .boundedStaleness(3))
        #expect(try ParameterServerConsistency(parsing: "SYNC") == .synchronous)
    }

    @Test("a worker that never pushes makes the others' pulls time out; abort ends every wait")
    func timeoutAndAbort() throws {
        let server = try ParameterServer<Float>(initial: [0, 0], shards: 1, workers: 2, consistency: .synchronous, timeout: 0.3) { _, _, _, _, _ in }
        try server.push(worker: 0, step: 0, partials: [], microShards: 0..<0)
        let start = Date()
        #expect(throws: ParameterServerError.timedOut(operation: "pull", seconds: 0.3)) { _ = try server.pull(worker: 0, step: 1) }
        #expect(Date().timeIntervalSince(start) < 5)
        let stale = try ParameterServer<Float>(initial: [0], shards: 1, workers: 2, consistency: .boundedStaleness(0), timeout: bounded) { _, _, _, _, _ in }
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { stale.abort(reason: "worker 1 failed") }
        #expect(throws: ParameterServerError.aborted(reason: "worker 1 failed")) { _ = try stale.pull(worker: 0, step: 3) }
    }
}

import Foundation
import MLCore
import Synchronization
import Testing

/// The synchronous server across ranks (shards co-located with them) against the in-process
/// server: the same values bit for bit, and each partial sent to its shard's owner only.
@Suite("Collective parameter server")
struct CollectiveParameterServerTests {
    /// Micro-shard `m`'s partial at `step`: values whose sums depend on the order of addition.
    static func partial(_ m: Int, step: Int, count: Int) -> [Float] {
        (0..<count).map { i in
            let big: Float = (i + m + step) % 3 == 0 ? 1e7 : ((i + m + step) % 3 == 1 ? -1e7 : 1)
            return big * (1 + Float(m) / 9) + Float(i % 7) * 0.37 - Float(step) * 0.11
        }
    }

    /// `w ← w − 0.01·g`, with a momentum row beside it in the width-2 layout.
    static let update: ParameterServer<Float>.Apply = { _, v, g, _, _ in
        var i = 0
        while i + 1 < v.count {
            v[i + 1] = 0.9 * v[i + 1] + g[i]
            v[i] -= 0.01 * v[i + 1]
            i += 2
        }
    }

    @Test("equal to the in-process synchronous server bit for bit, 1–4 ranks × 1–5 shards, micro-shards unevenly split")
    func equalsInProcessServer() throws {
        let count = 62, steps = 4, microShards = 7
        let initial = (0..<count).map { Float($0) * 0.5 - 3 }
        let shards = MicroShards(rows: microShards * 10, shardRows: 10)
        func reference(_ shardCount: Int) throws -> [Float] {
            let ps = try ParameterServer<Float>(initial: initial, shards: shardCount, workers: 3, consistency: .synchronous, rowWidth: 2,
                                                timeout: 30, apply: Self.update)
            _ = try InProcessWorkerGroup(workers: 3, timeout: 30).run { comm -> Int in
                for step in 0..<steps {
                    let mine = shards.shards(forRank: comm.rank, of: comm.size)
                    try ps.push(worker: comm.rank, step: step, partials: mine.flatMap { Self.partial($0, step: step, count: count) }, microShards: mine)
                    _ = try ps.pull(worker: comm.rank, step: step + 1)
                }
                return 0
            }
            return try ps.pull(worker: 0, step: steps)
        }
        for shardCount in 1...5 {
            let expected = try reference(shardCount)
            for ranks in 1...4 {
                let results = Mutex<[Int: [Float]]>([:])
                _ = try InProcessWorkerGroup(workers: ranks, timeout: 30).run { comm -> Int in
                    let server = try CollectiveParameterServer<Float>(initial: initial, shards: shardCount, rank: comm.rank, ranks: comm.size,
                                                                      rowWidth: 2, apply: Self.update)
                    var values: [Float] = []
                    for step in 0..<steps {
                        let mine = shards.shards(forRank: comm.rank, of: comm.size)
                        values = try server.step(comm, partials: mine.flatMap { Self.partial($0, step: step, count: count) }, microShards: mine)
                    }
                    results.withLock { $0[comm.rank] = values }
                    return 0
                }
                for (rank, values) in results.withLock({ $0 }) {
                    #expect(values.map(\.bitPattern) == expected.map(\.bitPattern), "\(ranks) ranks, \(shardCount) shards, rank \(rank)")
                }
            }
        }
    }

    @Test("each rank pushes its partials once (not to every rank) and pulls the buffer once per step")
    func traffic() throws {
        let count = 40
        _ = try InProcessWorkerGroup(workers: 2, timeout: 30).run { comm -> Int in
            let server = try CollectiveParameterServer<Float>(initial: [Float](repeating: 0, count: count), shards: 2, rank: comm.rank,
                                                              ranks: 2, rowWidth: 2, apply: Self.update)
            let mine = comm.rank..<(comm.rank + 1)
            _ = try server.step(comm, partials: Self.partial(comm.rank, step: 0, count: count), microShards: mine)
            // One micro-shard: its 40 values plus a 2-value header to each of the 2 owners.
            let statistics = server.statistics
            let pushed: Int = (count + 2 * 2) * 4
            #expect(statistics.bytesPushed == pushed)
            #expect(statistics.bytesPulled == count * 4)
            #expect(statistics.updates == 1)
            return 0
        }
    }

    @Test("allToAll: each rank receives the part addressed to it, from every rank, in rank order")
    func allToAll() throws {
        let received = Mutex<[Int: [[Double]]]>([:])
        _ = try InProcessWorkerGroup(workers: 3, timeout: 30).run { comm -> Int in
            let parts = (0..<3).map { d in (0..<(comm.rank + d)).map { Double(100 * comm.rank + 10 * d + $0) } }
            let got = try comm.allToAll(parts)
            received.withLock { $0[comm.rank] = got }
            return 0
        }
        for (rank, got) in received.withLock({ $0 }) {
            var expected: [[Double]] = []
            for s in 0..<3 {
                let values: [Double] = (0..<(s + rank)).map { i in Double(100 * s + 10 * rank + i) }
                expected.append(values)
            }
            #expect(got == expected)
        }
    }
}

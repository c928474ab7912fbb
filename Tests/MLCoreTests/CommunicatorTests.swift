import Foundation
import MLCore
import Testing

/// Every wait in these tests is bounded, so a bug fails a test instead of hanging CI.
private let bounded = 30.0

@Suite("MicroShards")
struct MicroShardsTests {
    @Test("shards cover the rows once, in order, balanced across ranks", arguments: [0, 1, 255, 256, 257, 1000, 4097])
    func coverage(rows: Int) {
        let shards = MicroShards(rows: rows, shardRows: 256)
        #expect(shards.count == (rows + 255) / 256)
        for size in [1, 2, 3, 8] {
            var next = 0, nextRow = 0
            var counts: [Int] = []
            for rank in 0..<size {
                let mine = shards.shards(forRank: rank, of: size)
                #expect(mine.lowerBound == next)
                next = mine.upperBound
                counts.append(mine.count)
                let rowsOfRank = shards.rows(forRank: rank, of: size)
                if !mine.isEmpty {
                    #expect(rowsOfRank.lowerBound == nextRow)
                    nextRow = rowsOfRank.upperBound
                } else {
                    #expect(rowsOfRank.isEmpty)
                }
            }
            #expect(next == shards.count)
            #expect(nextRow == rows)
            #expect((counts.max() ?? 0) - (counts.min() ?? 0) <= 1)
        }
        var covered = 0
        for s in 0..<shards.count {
            let r = shards.rows(ofShard: s)
            #expect(r.lowerBound == covered && r.count <= 256 && !r.isEmpty)
            covered = r.upperBound
        }
        #expect(covered == rows)
    }
}

@Suite("InProcessCommunicator")
struct InProcessCommunicatorTests {
    @Test("allGather returns every rank's buffer in rank order on every rank", arguments: [1, 2, 3, 8])
    func allGather(workers: Int) throws {
        let results = try InProcessCommunicator.run(workers: workers, timeout: bounded) { c in
            // Several rounds back to back: a fast rank must not overwrite a round a slow one still reads.
            try (0..<50).map { round in try c.allGather([Double](repeating: Double(c.rank * 100 + round), count: c.rank + 1)) }
        }
        for (rank, rounds) in results.enumerated() {
            for (round, gathered) in rounds.enumerated() {
                #expect(gathered.count == workers, "rank \(rank)")
                for (r, part) in gathered.enumerated() {
                    #expect(part == [Double](repeating: Double(r * 100 + round), count: r + 1))
                }
            }
        }
    }

    @Test("broadcast, barrier and allReduceSum", arguments: [1, 2, 3, 8])
    func collectives(workers: Int) throws {
        let results = try InProcessCommunicator.run(workers: workers, timeout: bounded) { c in
            let root = c.size - 1
            let b = try c.broadcast(c.rank == root ? [Float(7), 8, 9] : [], root: root)
            try c.barrier()
            var sum: [Double] = [Double(c.rank), 1]
            try c.allReduceSum(&sum)
            return (b, sum)
        }
        for (b, sum) in results {
            #expect(b == [7, 8, 9])
            #expect(sum == [Double(workers * (workers - 1) / 2), Double(workers)])
        }
    }

    @Test("reduceMicroShards gives the same bits for 1, 2, 3 and 8 workers")
    func microShardReductionIsIndependentOfWorkers() throws {
        // Values whose sum depends on the order of the additions.
        var rng = RandomStream(seed: 3)
        let rows = 37 * 16 + 5, width = 7
        let values = (0..<(rows * width)).map { _ in Float(pow(10, 12 * rng.nextDouble() - 6)) * (rng.nextDouble() < 0.5 ? -1 : 1) }
        let shards = MicroShards(rows: rows, shardRows: 16)
        @Sendable func partial(_ s: Int) -> [Float] {
            var out = [Float](repeating: 0, count: width)
            for i in shards.rows(ofShard: s) { for j in 0..<width { out[j] += values[i * width + j] } }
            return out
        }
        var reference: [Float]?
        for workers in [1, 2, 3, 8] {
            let results = try InProcessCommunicator.run(workers: workers, timeout: bounded) { c in
                let local = shards.shards(forRank: c.rank, of: c.size).flatMap(partial)
                return try c.reduceMicroShards(local, width: width, shards: shards)
            }
            for r in results { #expect(r == results[0]) }
            if let reference { #expect(results[0].map(\.bitPattern) == reference.map(\.bitPattern), "\(workers) workers") }
            reference = results[0]
        }
        // And it is the fixed tree over all shards.
        var oracle = [Float](repeating: 0, count: width)
        try DeterministicReduction.sumBuffers((0..<shards.count).map(partial), into: &oracle)
        #expect(reference == oracle)
    }

    private struct Boom: Error, Equatable {}

    @Test("a rank that throws releases the others and its own error is rethrown")
    func failureDoesNotHang() {
        #expect(throws: Boom.self) {
            _ = try InProcessCommunicator.run(workers: 4, timeout: bounded) { c in
                if c.rank == 2 { throw Boom() }
                for _ in 0..<10 { try c.barrier() }
                return 0
            }
        }
    }

    @Test("ranks calling different collectives get a mismatch, not a hang")
    func mismatchedCollectives() {
        #expect(throws: CommunicatorError.self) {
            _ = try InProcessCommunicator.run(workers: 3, timeout: bounded) { c in
                if c.rank == 1 { try c.barrier() } else { _ = try c.allGather([Float(1)]) }
                return 0
            }
        }
    }

    @Test("a rank that never arrives turns into a timeout")
    func missingRankTimesOut() {
        do {
            _ = try InProcessCommunicator.run(workers: 2, timeout: 0.3) { c in
                if c.rank == 0 { try c.barrier() }
                return 0
            }
            Issue.record("expected a timeout")
        } catch let e as CommunicatorError {
            guard case .timedOut = e else { Issue.record("expected timedOut, got \(e)"); return }
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}

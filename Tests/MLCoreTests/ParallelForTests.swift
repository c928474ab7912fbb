import Foundation
import MLCore
import Synchronization
import Testing

private struct BlockError: Error, Equatable {
    let block: Int
}

/// Counts how many times each block ran and the peak number of blocks running at once.
private final class Tally: Sendable {
    let counts: Mutex<[Int]>
    let running = Atomic<Int>(0)
    let peak = Atomic<Int>(0)

    init(blocks: Int) { counts = Mutex([Int](repeating: 0, count: blocks)) }

    func run(_ b: Int, pause: Bool = false) {
        let now = running.add(1, ordering: .relaxed).newValue
        peak.max(now, ordering: .relaxed)
        if pause { usleep(200) }
        counts.withLock { $0[b] += 1 }
        running.subtract(1, ordering: .relaxed)
    }

    var values: [Int] { counts.withLock { $0 } }
}

@Suite("parallelFor")
struct ParallelForTests {
    static let threadCounts = [1, 2, 3, 8]
    static let blockCounts = [0, 1, 2, 3, 5, 64]

    @Test(arguments: threadCounts, blockCounts)
    func everyBlockRunsExactlyOnce(threads: Int, blocks: Int) {
        let tally = Tally(blocks: blocks)
        parallelFor(blocks: blocks, threads: threads) { b in tally.run(b, pause: blocks <= 8) }
        #expect(tally.values == [Int](repeating: 1, count: blocks))
        #expect(tally.peak.load(ordering: .relaxed) <= max(1, min(threads, blocks)), "never more workers than threads or blocks")
    }

    @Test func nonPositiveThreadsRunSerially() {
        for threads in [0, -3] {
            let tally = Tally(blocks: 7)
            parallelFor(blocks: 7, threads: threads) { b in tally.run(b) }
            #expect(tally.values == [Int](repeating: 1, count: 7))
            #expect(tally.peak.load(ordering: .relaxed) == 1)
        }
    }

    @Test func nestedLoopsCoverEveryPair() {
        let tally = Tally(blocks: 6 * 5)
        parallelFor(blocks: 6, threads: 3) { i in
            parallelFor(blocks: 5, threads: 2) { j in tally.run(i * 5 + j) }
        }
        #expect(tally.values == [Int](repeating: 1, count: 30))
    }

    // MARK: Throwing variant

    @Test(arguments: threadCounts, blockCounts)
    func throwingVariantWithoutErrorsRunsEveryBlock(threads: Int, blocks: Int) throws {
        let tally = Tally(blocks: blocks)
        try parallelFor(blocks: blocks, threads: threads) { (b: Int) throws in tally.run(b) }
        #expect(tally.values == [Int](repeating: 1, count: blocks))
    }

    @Test(arguments: threadCounts)
    func lowestFailingBlockWins(threads: Int) {
        // Blocks 3 and 7 fail; 7 fails at once while 3 is slow, so 7's error arrives first.
        let tally = Tally(blocks: 40)
        #expect(throws: BlockError(block: 3)) {
            try parallelFor(blocks: 40, threads: threads) { (b: Int) throws in
                tally.run(b)
                if b == 3 { usleep(20_000); throw BlockError(block: 3) }
                if b == 7 { throw BlockError(block: 7) }
            }
        }
        let counts = tally.values
        #expect(counts.allSatisfy { $0 <= 1 }, "no block runs twice")
        #expect(counts[0...3].allSatisfy { $0 == 1 }, "every block below the failing one ran")
    }

    @Test(arguments: [2, 3, 8])
    func reportedErrorDoesNotDependOnScheduling(threads: Int) {
        // Every block fails: whatever the interleaving, the error must be block 0's, so no block
        // below a failure may be skipped.
        for _ in 0..<50 {
            #expect(throws: BlockError(block: 0)) {
                try parallelFor(blocks: 16, threads: threads) { (b: Int) throws in throw BlockError(block: b) }
            }
        }
    }

    @Test func throwingVariantStopsStartingBlocksAfterAFailure() {
        let tally = Tally(blocks: 1000)
        #expect(throws: BlockError(block: 0)) {
            try parallelFor(blocks: 1000, threads: 2) { (b: Int) throws in
                tally.run(b)
                if b == 0 { throw BlockError(block: 0) }
                usleep(100)
            }
        }
        #expect(tally.values.reduce(0, +) < 1000, "blocks after the failure are skipped")
    }

    // MARK: Per-worker scratch

    @Test(arguments: threadCounts, blockCounts)
    func scratchIsMadeAtMostOncePerWorker(threads: Int, blocks: Int) {
        let made = Atomic<Int>(0)
        let tally = Tally(blocks: blocks)
        // Each scratch records the blocks it served; the union must be every block once.
        final class Log: @unchecked Sendable { var blocks: [Int] = [] }
        let logs = Mutex<[Log]>([])
        parallelFor(blocks: blocks, threads: threads, makeScratch: { () -> Log in
            made.add(1, ordering: .relaxed)
            let log = Log()
            logs.withLock { $0.append(log) }
            return log
        }) { b, log in
            tally.run(b, pause: blocks <= 8)
            log.blocks.append(b)
        }
        let count = made.load(ordering: .relaxed)
        #expect(count <= max(0, min(threads, blocks)), "made \(count) scratches for \(threads) threads, \(blocks) blocks")
        #expect(blocks == 0 ? count == 0 : count >= 1)
        if threads == 1 || blocks == 1 { #expect(count == min(1, blocks), "the serial path makes one scratch") }
        #expect(tally.values == [Int](repeating: 1, count: blocks))
        #expect(logs.withLock { $0.flatMap(\.blocks) }.sorted() == Array(0..<blocks))
    }

    @Test func scratchPersistsAcrossAWorkersBlocks() {
        // A worker's scratch is reused: the sum over workers of blocks served equals the blocks,
        // and with one thread a single scratch serves all of them in order.
        final class Log: @unchecked Sendable { var blocks: [Int] = [] }
        let logs = Mutex<[Log]>([])
        parallelFor(blocks: 9, threads: 1, makeScratch: { () -> Log in
            let log = Log()
            logs.withLock { $0.append(log) }
            return log
        }) { b, log in log.blocks.append(b) }
        #expect(logs.withLock { $0.map(\.blocks) } == [Array(0..<9)])
    }
}

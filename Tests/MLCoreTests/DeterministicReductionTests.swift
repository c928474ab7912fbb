import Foundation
import MLCore
import Synchronization
import Testing

/// Floats of mixed signs and magnitudes (1e-6 … 1e6): their sum depends on the order of the
/// additions, so only a fixed order gives the same bits.
private func mixedFloats(_ count: Int, seed: UInt64) -> [Float] {
    var rng = SeededRandom(seed: seed)
    return (0..<count).map { _ in
        let magnitude = Float(pow(10, 12 * rng.unit() - 6))
        let sign: Float = rng.next() & 1 == 0 ? 1 : -1
        return sign * magnitude * Float(1 + rng.unit())
    }
}

/// The oracle: blocks summed left to right, then adjacent pairs combined level by level.
private func pairwiseLevels<T>(_ values: [T], _ combine: (T, T) -> T) -> T {
    var level = values
    while level.count > 1 {
        level = stride(from: 0, to: level.count, by: 2).map { i in
            i + 1 < level.count ? combine(level[i], level[i + 1]) : level[i]
        }
    }
    return level[0]
}

private func blockedTreeSum(_ values: [Float], blockSize: Int) -> Float {
    let partials = stride(from: 0, to: values.count, by: blockSize).map { lo in
        values[lo..<min(values.count, lo + blockSize)].reduce(Float(0), +)
    }
    return pairwiseLevels(partials, +)
}

@Suite("DeterministicReduction")
struct DeterministicReductionTests {
    static let threadCounts = [1, 2, 3, 8]

    @Test func treeShapeIsFixedPairwise() {
        func shape(_ n: Int) -> String {
            let leaves = (0..<n).map { String(UnicodeScalar(UInt8(ascii: "a") + UInt8($0))) }
            return DeterministicReduction.treeCombine(leaves) { "(\($0)+\($1))" }
        }
        #expect(shape(1) == "a")
        #expect(shape(2) == "(a+b)")
        #expect(shape(3) == "((a+b)+c)")
        #expect(shape(4) == "((a+b)+(c+d))")
        #expect(shape(5) == "(((a+b)+(c+d))+e)")
        #expect(shape(6) == "(((a+b)+(c+d))+(e+f))")
        #expect(shape(7) == "(((a+b)+(c+d))+((e+f)+g))")
        #expect(shape(9) == "((((a+b)+(c+d))+((e+f)+(g+h)))+i)")
    }

    @Test func treeOrderIsNotLeftToRight() {
        // Float spacing at 1e8 is 8, so 1e8 + 1 rounds to 1e8.
        let values: [Float] = [1e8, 1, -1e8, 1]
        #expect(values.reduce(0, +) == 1, "left to right: ((1e8 + 1) − 1e8) + 1")
        #expect(DeterministicReduction.treeCombine(values, +) == 0, "pairwise: (1e8 + 1) + (−1e8 + 1)")
        let sum = values.withUnsafeBufferPointer { DeterministicReduction.sum($0, blockSize: 1, threads: 3) }
        #expect(sum == 0)
        let blocksOfTwo = values.withUnsafeBufferPointer { DeterministicReduction.sum($0, blockSize: 2, threads: 2) }
        #expect(blocksOfTwo == 0)
        let oneBlock = values.withUnsafeBufferPointer { DeterministicReduction.sum($0, blockSize: 4, threads: 2) }
        #expect(oneBlock == 1, "one block is summed left to right")
    }

    @Test func millionFloatSumIsBitIdenticalForAnyThreadCount() {
        let values = mixedFloats(1_000_000, seed: 2024)
        #expect(values.reduce(0, +) != values.reversed().reduce(0, +), "the data must be order-sensitive")
        let exact = values.reduce(0.0) { $0 + Double($1) }
        let magnitude = values.reduce(0.0) { $0 + Double(abs($1)) }
        for blockSize in [4096, 1000] {
            let expected = blockedTreeSum(values, blockSize: blockSize)
            for threads in Self.threadCounts {
                let sum = values.withUnsafeBufferPointer {
                    DeterministicReduction.sum($0, blockSize: blockSize, threads: threads)
                }
                #expect(sum.bitPattern == expected.bitPattern, "block \(blockSize), \(threads) threads: \(sum) vs \(expected)")
            }
            #expect(abs(Double(expected) - exact) <= 1e-6 * magnitude, "the tree keeps the error small")
        }
        let defaultBlock = values.withUnsafeBufferPointer { DeterministicReduction.sum($0, threads: 3) }
        #expect(defaultBlock.bitPattern == blockedTreeSum(values, blockSize: 4096).bitPattern)
    }

    @Test func doubleSumIsBitIdenticalForAnyThreadCount() {
        let values = mixedFloats(100_003, seed: 7).map { Double($0) * 1.000_000_1 }
        let sums = Self.threadCounts.map { threads in
            values.withUnsafeBufferPointer { DeterministicReduction.sum($0, blockSize: 777, threads: threads) }
        }
        #expect(Set(sums.map(\.bitPattern)).count == 1, "\(sums)")
    }

    @Test func emptySumIsZero() {
        let empty: [Float] = []
        #expect(empty.withUnsafeBufferPointer { DeterministicReduction.sum($0, threads: 4) } == 0)
    }

    @Test(arguments: threadCounts)
    func reduceVisitsFixedBlocksInOrder(threads: Int) {
        func blocks(count: Int, blockSize: Int) -> [Range<Int>] {
            DeterministicReduction.reduce(
                count: count, blockSize: blockSize, threads: threads, identity: [Range<Int>](),
                map: { [$0] }, combine: { $0 + $1 })
        }
        #expect(blocks(count: 10, blockSize: 3) == [0..<3, 3..<6, 6..<9, 9..<10])
        #expect(blocks(count: 9, blockSize: 3) == [0..<3, 3..<6, 6..<9])
        #expect(blocks(count: 2, blockSize: 5) == [0..<2])
        #expect(blocks(count: 3, blockSize: 0) == [0..<1, 1..<2, 2..<3], "block size 0 is treated as 1")
        #expect(blocks(count: 0, blockSize: 4) == [], "an empty range gives the identity")
        let total = DeterministicReduction.reduce(
            count: 1000, blockSize: 7, threads: threads, identity: 0,
            map: { $0.reduce(0, +) }, combine: +)
        #expect(total == 999 * 1000 / 2)
    }

    // MARK: sumBuffers

    /// Per-micro-shard column sums of `shards × rows × width` mixed floats, computed with
    /// `threads` workers (each shard's partial depends only on its data).
    private func partials(threads: Int, shards: Int, rows: Int, width: Int, data: [Float]) -> [[Float]] {
        let out = UnsafeMutableBufferPointer<[Float]>.allocate(capacity: shards)
        out.initialize(repeating: [])
        defer { _ = out.deinitialize(); out.deallocate() }
        let slots = SharedMutablePointer(out.baseAddress!) // block s writes only slot s
        data.withUnsafeBufferPointer { buffer in
            let p = SharedPointer(buffer.baseAddress!)
            parallelFor(blocks: shards, threads: threads) { s in
                var acc = [Float](repeating: 0, count: width)
                for r in 0..<rows {
                    let row = (s * rows + r) * width
                    for j in 0..<width { acc[j] += p[row + j] }
                }
                slots[s] = acc
            }
        }
        return Array(out)
    }

    @Test func sumBuffersIsBitIdenticalForAnyThreadCount() throws {
        let (shards, rows, width) = (37, 20, 500)
        let data = mixedFloats(shards * rows * width, seed: 99)
        var expected = [Float](repeating: 0, count: width)
        let reference = partials(threads: 1, shards: shards, rows: rows, width: width, data: data)
        for j in 0..<width { expected[j] = pairwiseLevels(reference.map { $0[j] }, +) }
        for threads in Self.threadCounts {
            let parts = partials(threads: threads, shards: shards, rows: rows, width: width, data: data)
            var result = [Float](repeating: 0, count: width)
            try DeterministicReduction.sumBuffers(parts, into: &result)
            #expect(result.count == width)
            #expect(result.map(\.bitPattern) == expected.map(\.bitPattern), "\(threads) threads")
        }
    }

    @Test func sumBuffersSmallCases() throws {
        var result: [Double] = [9, 9]
        try DeterministicReduction.sumBuffers([[1, 2]], into: &result)
        #expect(result == [1, 2])
        try DeterministicReduction.sumBuffers([[1, 2], [10, 20], [100, 200]], into: &result)
        #expect(result == [111, 222])
        let floats: [[Float]] = [[1e8], [1], [-1e8], [1]]
        var f: [Float] = [0]
        try DeterministicReduction.sumBuffers(floats, into: &f)
        #expect(f == [0], "combined pairwise, not left to right")
        try DeterministicReduction.sumBuffers([], into: &result)
        #expect(result == [0, 0], "the sum of no buffers is zero, not whatever was in the result")
        #expect(throws: ShapeError.self, "buffers of another length are refused, not truncated") {
            try DeterministicReduction.sumBuffers([[1, 2], [3]], into: &result)
        }
    }
}

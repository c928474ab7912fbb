import Foundation
import MLCore
import Testing

/// Reproducibility, stream independence, splitting, checkpointing and skipping.
@Suite struct RandomStreamTests {
    @Test func sameSeedAndStreamGiveTheSameSequence() {
        for (seed, stream) in [(0, 0), (42, 7), (UInt64.max, 3)] as [(UInt64, UInt64)] {
            var a = RandomStream(seed: seed, stream: stream)
            var b = RandomStream(seed: seed, stream: stream)
            for i in 0..<1000 {
                // Mixed widths, so buffering inside a block is exercised too.
                switch i % 3 {
                case 0: #expect(a.nextUInt32() == b.nextUInt32())
                case 1: #expect(a.next() == b.next())
                default: #expect(a.nextFloat() == b.nextFloat())
                }
            }
            #expect(a == b)
        }
    }

    @Test func defaultStreamIsStreamZeroAndEmptyPathIsStreamZero() {
        #expect(RandomStream(seed: 9) == RandomStream(seed: 9, stream: 0))
        #expect(RandomStream(seed: 9, path: []) == RandomStream(seed: 9, stream: 0))
        #expect(RandomStream(seed: 9, path: [4]) == RandomStream(seed: 9, stream: 4))
        #expect(
            RandomStream(seed: 9, path: [4, 2, 7]) == RandomStream(seed: 9, stream: 4).split(2).split(7))
    }

    /// Pairs of streams that must look independent: neighbouring seeds, neighbouring streams,
    /// sibling children, parent and child, and a stream against itself one draw later.
    static let pairs: [(String, RandomStream, RandomStream)] = {
        let root = RandomStream(seed: 2024, stream: 0)
        var lagged = root
        _ = lagged.next()
        return [
            ("seed 0 vs seed 1", RandomStream(seed: 0), RandomStream(seed: 1)),
            ("stream 0 vs stream 1", RandomStream(seed: 0, stream: 0), RandomStream(seed: 0, stream: 1)),
            ("split 0 vs split 1", root.split(0), root.split(1)),
            ("parent vs child", root, root.split(0)),
            ("child of stream 0 vs child of stream 1", root.split(5), RandomStream(seed: 2024, stream: 1).split(5)),
            ("lag 1", root, lagged),
        ]
    }()

    /// Sample correlation of n = 100 000 uniform pairs. Under independence it is ≈ N(0, 1/n), so
    /// |r| < 5/√n ≈ 0.0158 (5σ; a correct generator fails with probability 6e-7).
    @Test(arguments: 0..<pairs.count)
    func differentStreamsAreUncorrelated(_ index: Int) {
        let (name, first, second) = Self.pairs[index]
        var a = first, b = second
        let n = 100_000
        var x = [Double](), y = [Double]()
        x.reserveCapacity(n)
        y.reserveCapacity(n)
        for _ in 0..<n {
            x.append(a.nextDouble())
            y.append(b.nextDouble())
        }
        #expect(x[0..<100] != y[0..<100], "\(name)")
        let r = RandomStats.correlation(x, y)
        #expect(abs(r) < 5 / Double(n).squareRoot(), "\(name): r = \(r)")
    }

    @Test func splitIsAPureFunctionOfIdentityNotPosition() {
        var s = RandomStream(seed: 77, stream: 3)
        let before = s.split(11)
        for _ in 0..<13 { _ = s.nextUInt32() }
        #expect(s.split(11) == before)
        #expect(before.block == 0 && before.wordInBlock == 0)
        #expect(s.split(11) != s.split(12))
    }

    @Test func childrenHaveDistinctIdentities() {
        var seen = Set<[UInt64]>()
        var count = 0
        for parent in [RandomStream(seed: 1), RandomStream(seed: 1, stream: 1), RandomStream(seed: 2)] {
            for index in UInt64(0)..<2000 {
                let child = parent.split(index)
                seen.insert([child.key, child.stream])
                // Grandchildren too: a different key level.
                if index < 50 {
                    for j in UInt64(0)..<20 {
                        let g = child.split(j)
                        seen.insert([g.key, g.stream])
                        count += 1
                    }
                }
                count += 1
            }
            seen.insert([parent.key, parent.stream])
            count += 1
        }
        #expect(seen.count == count)
    }

    @Test func checkpointMidBlockContinuesIdentically() throws {
        for drawn in 0..<9 {
            var s = RandomStream(seed: 0xDEAD_BEEF, stream: 5).split(3)
            for _ in 0..<drawn { _ = s.nextUInt32() }
            let data = try JSONEncoder().encode(s)
            var restored = try JSONDecoder().decode(RandomStream.self, from: data)
            #expect(restored == s)
            var rebuilt = try RandomStream(key: s.key, stream: s.stream, block: s.block, wordInBlock: s.wordInBlock)
            #expect(rebuilt == s)
            for _ in 0..<100 {
                let expected = s.next()
                #expect(restored.next() == expected)
                #expect(rebuilt.next() == expected)
            }
        }
    }

    @Test func encodedStateIsReadableAndExact() throws {
        var s = RandomStream(seed: .max, stream: .max - 1)
        s.seek(toBlock: .max - 2)
        _ = s.nextUInt32()
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let text = String(decoding: try encoder.encode(s), as: UTF8.self)
        #expect(
            text
                == #"{"block":18446744073709551613,"generator":"philox4x32-10","key":18446744073709551615,"stream":18446744073709551614,"word":1}"#
        )
        #expect(try JSONDecoder().decode(RandomStream.self, from: Data(text.utf8)) == s)
    }

    @Test func decodingRejectsAnotherGeneratorOrABadWordIndex() {
        let wrongGenerator = #"{"generator":"mt19937","key":1,"stream":0,"block":0,"word":0}"#
        let badWord = #"{"generator":"philox4x32-10","key":1,"stream":0,"block":0,"word":4}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(RandomStream.self, from: Data(wrongGenerator.utf8)) }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(RandomStream.self, from: Data(badWord.utf8)) }
        #expect(throws: RandomError.self) { try RandomStream(key: 1, stream: 0, block: 0, wordInBlock: 4) }
        #expect(throws: RandomError.self) { try RandomStream(key: 1, stream: 0, block: 0, wordInBlock: -1) }
    }

    @Test func skippingEqualsDrawing() {
        for start in 0..<4 {
            for count in [0, 1, 2, 3, 4, 5, 7, 8, 9, 1000, 12_345] as [UInt64] {
                var drawn = RandomStream(seed: 5, stream: 6)
                for _ in 0..<start { _ = drawn.nextUInt32() }
                var skipped = drawn
                for _ in 0..<count { _ = drawn.nextUInt32() }
                skipped.skip(words: count)
                #expect(skipped == drawn, "start \(start), count \(count)")
                #expect(skipped.next() == drawn.next())
            }
        }
    }

    @Test func skippingKnowsHowManyWordsEachDrawUses() throws {
        var drawn = RandomStream(seed: 8)
        var skipped = drawn
        _ = drawn.nextFloat()  // 1 word
        _ = drawn.nextDouble()  // 2
        _ = drawn.standardNormal()  // 4
        _ = try drawn.bernoulli(probability: 0.5)  // 2
        _ = try drawn.nextFloat(in: -1..<1)  // 1
        _ = try drawn.nextDouble(in: -1..<1)  // 2
        skipped.skip(words: 12)
        #expect(skipped == drawn)
    }

    @Test func hugeSkipsWrapAroundTheStream() {
        var a = RandomStream(seed: 1, stream: 2)
        a.skip(words: .max)  // 2⁶⁴ − 1 words: block 2⁶² − 1, word 3
        #expect(a.block == (1 << 62) - 1 && a.wordInBlock == 3)
        var b = RandomStream(seed: 1, stream: 2)
        b.seek(toBlock: (1 << 62) - 1)
        b.skip(words: 3)
        #expect(a == b && a.nextUInt32() == b.nextUInt32())
        var c = RandomStream(seed: 1, stream: 2)
        c.seek(toBlock: .max)
        c.skip(words: 4)
        #expect(c == RandomStream(seed: 1, stream: 2))
    }

    @Test func seekMovesBothWays() {
        var s = RandomStream(seed: 3)
        s.seek(toBlock: 10)
        let ahead = s.next()
        s.seek(toBlock: 0)
        #expect(s == RandomStream(seed: 3))
        s.skip(words: 40)
        #expect(s.next() == ahead)
    }

    @Test func unalignedNextCombinesTwoWordsLowFirst() {
        for start in 0..<4 {
            var a = RandomStream(seed: 12)
            for _ in 0..<start { _ = a.nextUInt32() }
            var b = a
            let low = UInt64(b.nextUInt32())
            let high = UInt64(b.nextUInt32())
            #expect(a.next() == low | high << 32)
            #expect(a == b)
        }
    }

    /// The design rule: per-shard streams give the same numbers whichever worker draws them.
    @Test func shardStreamsAreIndependentOfWhichTaskDrawsThem() async {
        let seed: UInt64 = 31
        func shardSum(_ shard: Int) -> Double {
            var s = RandomStream(seed: seed, path: [UInt64(shard), 4])
            return (0..<1000).reduce(0) { sum, _ in sum + s.nextDouble() }
        }
        let serial = (0..<16).map(shardSum)
        let parallel = await withTaskGroup(of: (Int, Double).self) { group in
            for shard in (0..<16).reversed() { group.addTask { (shard, shardSum(shard)) } }
            var sums = [Double](repeating: 0, count: 16)
            for await (shard, sum) in group { sums[shard] = sum }
            return sums
        }
        #expect(parallel == serial)
    }

    @Test func worksWithStandardLibraryRandomAPIs() {
        var s = RandomStream(seed: 1)
        let x = Int.random(in: 0..<10, using: &s)
        #expect((0..<10).contains(x))
        #expect(s.description.contains("philox4x32-10"))
    }
}

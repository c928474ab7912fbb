import MLCore
import Testing

/// Known-answer tests for ``Philox4x32`` and for how ``RandomStream`` lays its counter out.
@Suite struct RandomPhiloxTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        var counter: SIMD4<UInt32>
        var key: SIMD2<UInt32>
        var expected: SIMD4<UInt32>
        var testDescription: String { "ctr \(counter) key \(key)" }

        init(_ c: [UInt32], _ k: [UInt32], _ e: [UInt32]) {
            counter = SIMD4(c[0], c[1], c[2], c[3])
            key = SIMD2(k[0], k[1])
            expected = SIMD4(e[0], e[1], e[2], e[3])
        }
    }

    /// The three `philox4x32 10` lines of Random123's `tests/kat_vectors`
    /// (github.com/DEShawResearch/random123, v1.14.0), columns CTR[4] KEY[2] EXPECTED[4], word 0
    /// first:
    /// ```
    /// philox4x32 10 00000000 00000000 00000000 00000000 00000000 00000000   6627e8d5 e169c58d bc57ac4c 9b00dbd8
    /// philox4x32 10 ffffffff ffffffff ffffffff ffffffff ffffffff ffffffff   408f276d 41c83b0e a20bc7c6 6d5451fd
    /// philox4x32 10 243f6a88 85a308d3 13198a2e 03707344 a4093822 299f31d0   d16cfe09 94fdcceb 5001e420 24126ea1
    /// ```
    static let random123 = [
        Vector([0, 0, 0, 0], [0, 0], [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]),
        Vector(
            [0xffff_ffff, 0xffff_ffff, 0xffff_ffff, 0xffff_ffff], [0xffff_ffff, 0xffff_ffff],
            [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]),
        Vector(
            [0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344], [0xa409_3822, 0x299f_31d0],
            [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1]),
    ]

    /// `philox4x32 10` lines of the Random123 manual's `examples/kat_vectors`
    /// (github.com/girving/random123-manual @ 61e84792): single-bit counters and keys, which pin
    /// down which word is which — the three vectors above are too symmetric to catch a swapped
    /// lane in every position.
    static let singleBit = [
        Vector([1, 0, 0, 0], [1, 0], [0xac08_141b, 0xdfc5_ccbe, 0x79c0_7a47, 0xa7f6_6093]),
        Vector([0, 1, 0, 0], [1, 0], [0x833f_f8dc, 0x225c_963c, 0x232b_88b3, 0x0b33_4b07]),
        Vector([0, 0, 1, 0], [1, 0], [0x0707_1c12, 0x4282_64b6, 0x3909_104b, 0x6da2_bda2]),
        Vector([0, 0, 0, 1], [1, 0], [0x127b_ee41, 0x1e04_7488, 0x4884_2b20, 0x0a39_3496]),
        Vector([1, 0, 0, 0], [0, 1], [0xccf3_076a, 0x6306_f434, 0xbea7_1965, 0xd96f_e48a]),
        Vector([0, 0, 0, 0x8000_0000], [0, 0x8000_0000], [0xf7a0_b371, 0xe51d_c93d, 0x56ce_135d, 0x1d4b_5580]),
        Vector(
            [0x4528_21e6, 0x38d0_1377, 0xbe54_66cf, 0x34e9_0c6c], [0, 0xffff_ffff],
            [0x72ce_44b3, 0xb44f_9b78, 0x49af_0267, 0x7268_13ac]),
    ]

    @Test(arguments: random123 + singleBit)
    func blockFunctionMatchesPublishedVectors(_ v: Vector) {
        #expect(Philox4x32.block(counter: v.counter, key: v.key) == v.expected)
    }

    /// Counter words 0–1 are the block index, 2–3 the stream index, the key words the key; words
    /// come out in lane order.
    @Test(arguments: random123 + singleBit)
    func streamReadsTheVectorAtItsCounter(_ v: Vector) throws {
        let key = UInt64(v.key[0]) | UInt64(v.key[1]) << 32
        let block = UInt64(v.counter[0]) | UInt64(v.counter[1]) << 32
        let stream = UInt64(v.counter[2]) | UInt64(v.counter[3]) << 32

        var restored = try RandomStream(key: key, stream: stream, block: block, wordInBlock: 0)
        var seeked = RandomStream(seed: key, stream: stream)
        seeked.seek(toBlock: block)
        let words = (0..<4).map { _ in restored.nextUInt32() }
        #expect(words == [v.expected[0], v.expected[1], v.expected[2], v.expected[3]])
        #expect((0..<4).map { _ in seeked.nextUInt32() } == words)

        var wide = try RandomStream(key: key, stream: stream, block: block, wordInBlock: 0)
        #expect(wide.next() == UInt64(v.expected[0]) | UInt64(v.expected[1]) << 32)
        #expect(wide.next() == UInt64(v.expected[2]) | UInt64(v.expected[3]) << 32)
    }

    @Test func seedZeroStartsWithTheZeroVector() {
        var s = RandomStream(seed: 0)
        #expect(s.nextFloat() == Float(0x6627_e8d5 >> 8) * 0x1p-24)
        #expect(s.nextUInt32() == 0xe169_c58d)
        #expect(s.nextDouble() == Double(UInt64(0x9b00_dbd8_bc57_ac4c) >> 11) * 0x1p-53)
        #expect(s.block == 1 && s.wordInBlock == 0)
    }

    @Test func counterWrapsToBlockZeroAfterTheLastBlock() {
        var s = RandomStream(seed: .max, stream: .max)
        s.seek(toBlock: .max)
        #expect((0..<4).map { _ in s.nextUInt32() } == [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd])
        #expect(s.block == 0 && s.wordInBlock == 0)
        var start = RandomStream(seed: .max, stream: .max)
        #expect(s.next() == start.next())
    }
}

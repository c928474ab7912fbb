/// A reproducible, splittable random stream: Philox4x32-10 keyed by a seed, one counter
/// subsequence per stream index.
///
/// ## Identity and layout
/// A stream is identified by a 64-bit `key` and a 64-bit `stream` index. Its 32-bit words are the
/// outputs of ``Philox4x32`` at the 128-bit counter `(block, stream)`, four words per block:
/// ```
/// counter words (c0, c1, c2, c3) = (block.low32, block.high32, stream.low32, stream.high32)
/// key words     (k0, k1)         = (key.low32, key.high32)
/// word 4·block + j               = Philox4x32-10(counter, key)[j],  j = 0…3
/// ```
/// This is cuRAND's and PyTorch's Philox layout (counter = offset ‖ subsequence, key = seed), so
/// `RandomStream(seed: s, stream: t)` is the "subsequence `t` of seed `s`" every Philox user knows.
/// Each stream holds 2⁶⁶ words before it wraps to its own start. The root streams of one seed
/// share a key and differ in the counter, so they can never overlap; streams under different keys
/// (other seeds, split children) are independent Philox instances.
///
/// ## Deriving streams
/// The design rule is that randomness comes from `(seed, shard index)`, never from which worker
/// runs a shard. Use the root stream index for one axis and ``split(_:)`` for the others, e.g.
/// `RandomStream(seed: seed, path: [purpose, epoch, shard])`. A child's identity is a pseudo-random
/// function of its parent's `(key, stream)` and the index only — never of how far the parent has
/// drawn — so children are the same whether derived before or after the parent is used.
///
/// ## Why Philox
/// Counter-based: the whole state is four integers `(key, stream, block, word)` that checkpoint
/// exactly and restore without replaying; skipping `n` words is O(1); streams are independent by
/// construction rather than by hoping seeds land far apart (the weakness of seeding a sequential
/// generator such as xoshiro or Mersenne Twister per shard). Counter-based generators are what JAX
/// (Threefry), cuRAND and PyTorch's GPU and XPU back ends (Philox) use for exactly these reasons,
/// and Philox has published known-answer vectors to test against. The cost — ten rounds of two 32×32 multiplies per four words; on this
/// 2-core machine about 1.5 ns per `Float` in bulk fills (whole blocks go straight from Philox to
/// the buffer) and about 5 ns per single ``nextUInt32()`` — is small next to the work that
/// consumes the numbers.
///
/// ## Guarantees
/// - The same `(key, stream, block, word)` produces the same words on every platform and build;
///   uniform, integer, Bernoulli, shuffle and sampling results are bit-exact everywhere. Normal
///   draws also call the C library's `log`, `cos` and `sin`, so they are bit-exact for one libm
///   (glibc here) and may differ in the last bit on another.
/// - Every draw consumes a documented number of 32-bit words (variable only for rejection
///   sampling), so ``skip(words:)`` can jump over draws without computing them.
/// - ``Codable`` and ``Equatable`` cover exactly the position; a decoded stream continues with the
///   same words as the stream that was encoded.
/// - Not cryptographically secure.
public struct RandomStream: RandomNumberGenerator, Sendable, Hashable, CustomStringConvertible {
    /// The Philox key; equal to the seed for a root stream, derived for a ``split(_:)`` child.
    public let key: UInt64
    /// The subsequence index (counter words 2 and 3).
    public let stream: UInt64

    /// Index of the Philox block that holds the next word (counter words 0 and 1).
    @usableFromInline var _block: UInt64
    /// Index of the next word inside `_block`, 0…3.
    @usableFromInline var _word: Int
    /// Cache of `Philox4x32(_block, stream; key)`: words 0 and 1 (`_low`), 2 and 3 (`_high`),
    /// lower-numbered word in the lower half. Always valid (refilled whenever `_block` changes),
    /// never part of equality or the encoded state.
    @usableFromInline var _low: UInt64
    @usableFromInline var _high: UInt64

    /// The root stream `stream` of `seed`, positioned at its first word.
    ///
    /// `RandomStream(seed: s, stream: t)` for `t = 0, 1, 2, …` are disjoint subsequences of the
    /// same Philox key; use them for shards, and ``split(_:)`` for further axes.
    public init(seed: UInt64, stream: UInt64 = 0) {
        self.init(_key: seed, stream: stream, block: 0, word: 0)
    }

    /// The stream at `path` under `seed`: `path[0]` selects the root stream and each later index
    /// splits, so `RandomStream(seed: s, path: [a, b, c])` equals
    /// `RandomStream(seed: s, stream: a).split(b).split(c)`. An empty path is stream 0.
    public init(seed: UInt64, path: [UInt64]) {
        var s = RandomStream(seed: seed, stream: path.first ?? 0)
        for index in path.dropFirst() { s = s.split(index) }
        self = s
    }

    /// Restores a stream from its four state fields (as read from ``key``, ``stream``, ``block``
    /// and ``wordInBlock``). Throws if `wordInBlock` is not in 0…3.
    public init(key: UInt64, stream: UInt64, block: UInt64, wordInBlock: Int) throws(RandomError) {
        guard (0..<4).contains(wordInBlock) else {
            throw .invalid("wordInBlock", wordInBlock, "must be in 0...3 (a Philox block holds four 32-bit words)")
        }
        self.init(_key: key, stream: stream, block: block, word: wordInBlock)
    }

    @usableFromInline
    init(_key key: UInt64, stream: UInt64, block: UInt64, word: Int) {
        self.key = key
        self.stream = stream
        self._block = block
        self._word = word
        self._low = 0
        self._high = 0
        _refill()
    }

    /// Index of the Philox block that will supply the next word.
    public var block: UInt64 { _block }
    /// Index (0…3) of the next word inside ``block``.
    public var wordInBlock: Int { _word }

    // MARK: Deriving child streams

    /// XORed into the parent key when deriving children, so that deriving is a different keyed
    /// function from drawing (the first 64 fractional bits of π; nothing up the sleeve).
    @usableFromInline static var splitKeyTweak: UInt64 { 0x243F_6A88_85A3_08D3 }

    /// The child stream `index` of this stream.
    ///
    /// The child's `(key, stream)` is the Philox4x32-10 block at counter `(index, self.stream)`
    /// under key `self.key ^ 0x243F6A8885A308D3`: words 0–1 become the child key, words 2–3 its
    /// stream index. Because Philox is a bijection of the counter, all children at one level of one
    /// seed (any parent stream, any index) have distinct identities; across levels two paths
    /// collide with probability about 2⁻¹²⁸. Does not depend on or change this stream's position.
    @inlinable
    public func split(_ index: UInt64) -> RandomStream {
        let k = key ^ Self.splitKeyTweak
        let r = Philox4x32._block(
            UInt32(truncatingIfNeeded: index), UInt32(truncatingIfNeeded: index >> 32),
            UInt32(truncatingIfNeeded: stream), UInt32(truncatingIfNeeded: stream >> 32),
            UInt32(truncatingIfNeeded: k), UInt32(truncatingIfNeeded: k >> 32))
        return RandomStream(
            _key: UInt64(r.0) | UInt64(r.1) << 32, stream: UInt64(r.2) | UInt64(r.3) << 32, block: 0, word: 0)
    }

    // MARK: Raw words

    /// The four words of `block` of this stream.
    @inlinable @inline(__always)
    func _philox(_ block: UInt64) -> (UInt32, UInt32, UInt32, UInt32) {
        Philox4x32._block(
            UInt32(truncatingIfNeeded: block), UInt32(truncatingIfNeeded: block >> 32),
            UInt32(truncatingIfNeeded: stream), UInt32(truncatingIfNeeded: stream >> 32),
            UInt32(truncatingIfNeeded: key), UInt32(truncatingIfNeeded: key >> 32))
    }

    @inlinable @inline(__always)
    mutating func _refill() {
        let r = _philox(_block)
        _low = UInt64(r.0) | UInt64(r.1) << 32
        _high = UInt64(r.2) | UInt64(r.3) << 32
    }

    /// Moves to the start of the next block (wrapping after block 2⁶⁴ − 1 to block 0).
    @inlinable
    mutating func _nextBlock() {
        _block &+= 1
        _word = 0
        _refill()
    }

    /// The next 32-bit word. Consumes 1 word.
    @inlinable
    public mutating func nextUInt32() -> UInt32 {
        let pair = _word < 2 ? _low : _high
        let value = UInt32(truncatingIfNeeded: pair >> UInt64((_word & 1) << 5))
        _word += 1
        if _word == 4 { _nextBlock() }
        return value
    }

    /// The next 64 bits: word `w` in the low half, word `w + 1` in the high half. Consumes 2 words
    /// (which may straddle two blocks). The `RandomNumberGenerator` requirement, so the standard
    /// library's `random(in:using:)` also works — but its algorithms are not promised to stay the
    /// same across Swift releases; use this type's own distributions for reproducible results.
    @inlinable
    public mutating func next() -> UInt64 {
        if _word & 1 == 0 {
            let value = _word == 0 ? _low : _high
            _word += 2
            if _word == 4 { _nextBlock() }
            return value
        }
        let low = UInt64(nextUInt32())
        return low | UInt64(nextUInt32()) << 32
    }

    // MARK: Moving without drawing

    /// Advances by `count` 32-bit words in O(1), exactly as if `count` words had been drawn.
    public mutating func skip(words count: UInt64) {
        let word = UInt64(_word) + (count & 3)
        _block &+= (count >> 2) &+ (word >> 2)
        _word = Int(word & 3)
        _refill()
    }

    /// Moves to the first word of `block` (counter value `block`), forwards or backwards.
    public mutating func seek(toBlock block: UInt64) {
        _block = block
        _word = 0
        _refill()
    }

    // MARK: Equality and description

    public static func == (a: RandomStream, b: RandomStream) -> Bool {
        a.key == b.key && a.stream == b.stream && a._block == b._block && a._word == b._word
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(key)
        hasher.combine(stream)
        hasher.combine(_block)
        hasher.combine(_word)
    }

    public var description: String {
        "RandomStream(\(Self.generatorName), key: \(key), stream: \(stream), block: \(_block), word: \(_word))"
    }

    /// The generator tag written into the encoded state.
    public static let generatorName = "philox4x32-10"
}

// MARK: Checkpointing

extension RandomStream: Codable {
    private enum CodingKeys: String, CodingKey {
        case generator, key, stream, block, word
    }

    /// Encodes `{"generator": "philox4x32-10", "key", "stream", "block", "word"}` (integers).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.generatorName, forKey: .generator)
        try c.encode(key, forKey: .key)
        try c.encode(stream, forKey: .stream)
        try c.encode(_block, forKey: .block)
        try c.encode(_word, forKey: .word)
    }

    /// Decodes the state written by ``encode(to:)``; rejects another generator's state and a word
    /// index outside 0…3.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let generator = try c.decode(String.self, forKey: .generator)
        guard generator == Self.generatorName else {
            throw DecodingError.dataCorruptedError(
                forKey: .generator, in: c,
                debugDescription: "random state is for generator '\(generator)', expected '\(Self.generatorName)'")
        }
        let word = try c.decode(Int.self, forKey: .word)
        guard (0..<4).contains(word) else {
            throw DecodingError.dataCorruptedError(
                forKey: .word, in: c, debugDescription: "word index \(word) is not in 0...3")
        }
        self.init(
            _key: try c.decode(UInt64.self, forKey: .key), stream: try c.decode(UInt64.self, forKey: .stream),
            block: try c.decode(UInt64.self, forKey: .block), word: word)
    }
}

/// A batch of `rows` rows cut into micro-shards of ``shardRows`` rows — a constant of the
/// algorithm, never derived from the worker count — and the contiguous run of shards each rank
/// takes. Partial results are computed per shard and combined over all shards in one fixed tree
/// (``Communicator/reduceMicroShards(_:width:shards:)``), which is what makes 1, 2, 3 or 8
/// workers produce the same bits (DESIGN.md "Determinism").
public struct MicroShards: Sendable, Equatable {
    public let rows: Int
    public let shardRows: Int

    public init(rows: Int, shardRows: Int) {
        self.rows = max(0, rows)
        self.shardRows = max(1, shardRows)
    }

    public var count: Int { (rows + shardRows - 1) / shardRows }

    /// The rows of shard `shard`.
    public func rows(ofShard shard: Int) -> Range<Int> {
        let lo = shard * shardRows
        return lo..<min(rows, lo + shardRows)
    }

    /// The shards rank `rank` of `size` computes: a balanced contiguous run (the first
    /// `count % size` ranks take one more). Empty when there are fewer shards than ranks.
    public func shards(forRank rank: Int, of size: Int) -> Range<Int> {
        let n = count, q = n / max(1, size), r = n % max(1, size)
        let lo = rank * q + min(rank, r)
        return lo..<(lo + q + (rank < r ? 1 : 0))
    }

    /// The rows rank `rank` of `size` covers (its shards' rows, contiguous).
    public func rows(forRank rank: Int, of size: Int) -> Range<Int> {
        let s = shards(forRank: rank, of: size)
        guard !s.isEmpty else { return rows..<rows }
        return rows(ofShard: s.lowerBound).lowerBound..<rows(ofShard: s.upperBound - 1).upperBound
    }
}

extension Communicator {
    /// The sum over every micro-shard of `shards` of its partial result, combined in the fixed
    /// pairwise tree over global shard order — the same bits whatever the rank count.
    ///
    /// `local` holds this rank's partials (``MicroShards/shards(forRank:of:)``), `width` values
    /// per shard, concatenated in shard order. Every rank receives the same result.
    @_specialize(exported: true, where Self == InProcessCommunicator, T == Float)
    @_specialize(exported: true, where Self == InProcessCommunicator, T == Double)
    public func reduceMicroShards<T: BLASScalar>(_ local: [T], width: Int, shards: MicroShards) throws(CommunicatorError) -> [T] {
        let mine = shards.shards(forRank: rank, of: size)
        guard local.count == mine.count * width else {
            throw .mismatch(operation: "reduceMicroShards",
                            reason: "rank \(rank) has \(mine.count) shards of \(width) values but passed \(local.count)")
        }
        let all = try allGather(local)
        var partials: [[T]] = []
        partials.reserveCapacity(shards.count)
        for (r, part) in all.enumerated() {
            let expected = shards.shards(forRank: r, of: size).count
            guard part.count == expected * width else {
                throw .mismatch(operation: "reduceMicroShards", reason: "rank \(r) passed \(part.count) values, expected \(expected * width)")
            }
            for s in 0..<expected { partials.append(Array(part[(s * width)..<((s + 1) * width)])) }
        }
        var result = [T](repeating: 0, count: width)
        do {
            try DeterministicReduction.sumBuffers(partials, into: &result)
        } catch {
            throw .mismatch(operation: "reduceMicroShards", reason: error.description)
        }
        return result
    }
}

/// The synchronous parameter server across processes (DESIGN.md "Distributed"): the flat
/// buffer's shards are co-located with the ranks — shard `j` lives on rank `j mod size` — and a
/// step is two collectives. Each rank sends each micro-shard's slice of shard `j` to `j`'s owner
/// only (``Communicator/allToAll(_:)``: every partial crosses the network once), the owner sums
/// the slices in micro-shard order in the fixed tree and applies the update (the optimizer runs
/// on the owner, as in MXNet's KVStore), then every rank gathers the owners' new slices.
///
/// The same arithmetic as ``ParameterServer``'s synchronous mode, so the values equal it — and
/// all-reduce — bit for bit, over ``InProcessCommunicator`` or MPI ranks. Each rank keeps one
/// object; `apply` runs only for the shards the rank owns.
public final class CollectiveParameterServer<T: BLASScalar>: @unchecked Sendable {
    public let count: Int
    public let rowWidth: Int
    /// Each shard's slice of the flat buffer: contiguous, in order, multiples of `rowWidth`.
    public let shardRanges: [Range<Int>]
    /// The rank holding this object, and the rank count.
    public let rank: Int
    public let ranks: Int

    private let apply: ParameterServer<T>.Apply
    /// Every value as of the last step (the owned shards are authoritative).
    public private(set) var values: [T]
    private var versions: [Int]
    public private(set) var statistics = ParameterServerStatistics()

    /// A server over `initial` split into `shards` shards of whole rows, for rank `rank` of `ranks`.
    public init(initial: [T], shards: Int, rank: Int, ranks: Int, rowWidth: Int = 1,
                apply: @escaping ParameterServer<T>.Apply) throws(ParameterServerError) {
        guard shards >= 1 else { throw .invalidSetting(name: "shards", value: "\(shards)", rule: "must be ≥ 1") }
        guard ranks >= 1, (0..<ranks).contains(rank) else { throw .invalidSetting(name: "rank", value: "\(rank) of \(ranks)", rule: "must be a rank") }
        guard rowWidth >= 1, initial.count % rowWidth == 0 else {
            throw .invalidSetting(name: "rowWidth", value: "\(rowWidth)", rule: "must be ≥ 1 and divide the \(initial.count) values")
        }
        count = initial.count
        self.rowWidth = rowWidth
        self.rank = rank
        self.ranks = ranks
        self.apply = apply
        values = initial
        let rows = initial.count / rowWidth, s = max(1, min(shards, max(1, rows)))
        shardRanges = (0..<s).map { j in ((j * rows / s) * rowWidth)..<(((j + 1) * rows / s) * rowWidth) }
        versions = [Int](repeating: 0, count: s)
    }

    /// The rank that owns shard `j`.
    public func owner(ofShard j: Int) -> Int { j % ranks }

    /// One synchronous step: this rank's partials (one buffer of ``count`` values per
    /// micro-shard of `microShards`, concatenated) in, every rank's new values out. Every rank
    /// calls it once per step, in the same order as its other collectives.
    public func step(_ comm: any Communicator, partials: [T], microShards: Range<Int>) throws -> [T] {
        guard comm.rank == rank, comm.size == ranks else {
            throw ParameterServerError.mismatch(operation: "step", reason: "rank \(comm.rank) of \(comm.size), the server was made for \(rank) of \(ranks)")
        }
        guard partials.count == microShards.count * count else {
            throw ParameterServerError.mismatch(operation: "step",
                                                reason: "\(partials.count) values for \(microShards.count) micro-shards of \(count)")
        }
        // To each owner: [k, the k micro-shard indices, then per owned shard (ascending) the k slices].
        var outgoing = [[T]](repeating: [], count: ranks)
        for d in 0..<ranks {
            outgoing[d].append(T(microShards.count))
            for m in microShards { outgoing[d].append(T(m)) }
        }
        for (j, range) in shardRanges.enumerated() {
            let d = owner(ofShard: j)
            for k in 0..<microShards.count {
                outgoing[d] += partials[(k * count + range.lowerBound)..<(k * count + range.upperBound)]
            }
        }
        let incoming = try comm.allToAll(outgoing)
        statistics.pushes += 1
        statistics.bytesPushed += outgoing.reduce(0) { $0 + $1.count } * MemoryLayout<T>.size

        // Each owned shard: every rank's slices, ordered by micro-shard, summed in the tree, applied.
        var mine: [T] = []
        var cursors = incoming.map { message -> (indices: [Int], at: Int) in
            let k = message.isEmpty ? 0 : Int(message[0])
            return ((0..<k).map { Int(message[1 + $0]) }, 1 + k)
        }
        for (j, range) in shardRanges.enumerated() where owner(ofShard: j) == rank {
            var slices: [(Int, [T])] = []
            for (sender, message) in incoming.enumerated() {
                for index in cursors[sender].indices {
                    let at = cursors[sender].at
                    guard at + range.count <= message.count else {
                        throw ParameterServerError.mismatch(operation: "step", reason: "rank \(sender)'s message is short for shard \(j)")
                    }
                    slices.append((index, Array(message[at..<(at + range.count)])))
                    cursors[sender].at += range.count
                }
            }
            let ordered = slices.sorted { $0.0 < $1.0 }.map(\.1)
            var total = [T](repeating: 0, count: range.count)
            try DeterministicReduction.sumBuffers(ordered, into: &total)
            let version = versions[j]
            values.withUnsafeMutableBufferPointer { v in
                total.withUnsafeBufferPointer { u in
                    apply(range, UnsafeMutableBufferPointer(rebasing: v[range]), u, ranks, version)
                }
            }
            versions[j] += 1
            statistics.updates += 1
            mine += values[range]
        }

        // Every owner's new slices to every rank.
        let gathered = try comm.allGather(mine)
        var offsets = [Int](repeating: 0, count: ranks)
        for (j, range) in shardRanges.enumerated() {
            let d = owner(ofShard: j), at = offsets[d]
            guard at + range.count <= gathered[d].count else {
                throw ParameterServerError.mismatch(operation: "step", reason: "rank \(d) returned too few values for shard \(j)")
            }
            values.replaceSubrange(range, with: gathered[d][at..<(at + range.count)])
            offsets[d] += range.count
        }
        statistics.pulls += 1
        statistics.bytesPulled += count * MemoryLayout<T>.size
        return values
    }
}

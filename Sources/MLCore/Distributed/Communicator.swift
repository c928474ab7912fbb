/// The collectives a distributed algorithm is written against (DESIGN.md "Distributed"): the
/// same trainer runs over in-process workers (``InProcessCommunicator``) and, later, MPI ranks.
///
/// Every rank calls the same collectives in the same order. Results are in rank order and
/// identical on every rank, so anything computed from them is too. A rank that fails calls
/// ``abort(reason:)`` so the others' collectives throw instead of waiting forever.
public protocol Communicator: Sendable {
    /// This worker's index, `0..<size`.
    var rank: Int { get }
    /// The number of workers.
    var size: Int { get }

    /// Every rank's `local`, indexed by rank, on every rank. Ranks may contribute different lengths.
    func allGather<T: BLASScalar>(_ local: [T]) throws(CommunicatorError) -> [[T]]

    /// `root`'s `buffer` on every rank (other ranks' arguments are ignored).
    func broadcast<T: BLASScalar>(_ buffer: [T], root: Int) throws(CommunicatorError) -> [T]

    /// Returns once every rank has called it.
    func barrier() throws(CommunicatorError)

    /// Personalized exchange: `parts[d]` goes to rank `d` (one part per rank, any lengths);
    /// returns what every rank sent this one, indexed by sender.
    func allToAll<T: BLASScalar>(_ parts: [[T]]) throws(CommunicatorError) -> [[T]]

    /// Marks the group failed: collectives other ranks are in, or enter later, throw
    /// ``CommunicatorError/aborted(rank:reason:)``.
    func abort(reason: String)
}

extension Communicator {
    /// ``allToAll(_:)`` through ``allGather(_:)``: every rank receives every part and keeps its
    /// own — correct everywhere, with all-gather's traffic (transports with a personalized
    /// exchange, such as MPI's `MPI_Alltoallv`, send each part once).
    public func allToAll<T: BLASScalar>(_ parts: [[T]]) throws(CommunicatorError) -> [[T]] {
        guard parts.count == size else {
            throw .mismatch(operation: "allToAll", reason: "rank \(rank) passed \(parts.count) parts for \(size) ranks")
        }
        let lengths = try allGather(parts.map { Double($0.count) })
        let all = try allGather(parts.flatMap { $0 })
        var out: [[T]] = []
        out.reserveCapacity(size)
        for sender in 0..<size {
            guard lengths[sender].count == size else {
                throw .mismatch(operation: "allToAll", reason: "rank \(sender) passed \(lengths[sender].count) parts for \(size) ranks")
            }
            let offset = lengths[sender][0..<rank].reduce(0) { $0 + Int($1) }
            out.append(Array(all[sender][offset..<(offset + Int(lengths[sender][rank]))]))
        }
        return out
    }

    /// Element-wise sum of every rank's `buffer`, added in rank order (so the bits depend on the
    /// rank count; for results independent of it, reduce over micro-shards with
    /// ``reduceMicroShards(_:width:shards:)``).
    public func allReduceSum<T: BLASScalar>(_ buffer: inout [T]) throws(CommunicatorError) {
        let all = try allGather(buffer)
        for (r, part) in all.enumerated() where part.count != buffer.count {
            throw .mismatch(operation: "allReduceSum", reason: "rank \(r) contributed \(part.count) values, rank \(rank) \(buffer.count)")
        }
        for i in buffer.indices {
            var s = all[0][i]
            for r in 1..<all.count { s += all[r][i] }
            buffer[i] = s
        }
    }
}

/// A collective that could not complete.
public enum CommunicatorError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A rank gave up (an error in its own work, or a timeout); the collective was abandoned.
    case aborted(rank: Int, reason: String)
    /// Ranks called different collectives, or passed arguments that cannot go together.
    case mismatch(operation: String, reason: String)
    /// No other rank arrived within the group's timeout.
    case timedOut(operation: String, seconds: Double)

    public var description: String {
        switch self {
        case .aborted(let rank, let reason): "worker \(rank) aborted: \(reason)"
        case .mismatch(let operation, let reason): "\(operation): workers disagree: \(reason)"
        case .timedOut(let operation, let seconds): "\(operation): the other workers did not arrive within \(seconds) s"
        }
    }
}

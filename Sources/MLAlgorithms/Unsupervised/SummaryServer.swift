import Foundation
import MLCore

/// A parameter server for summaries that merge rather than add (PCA's scatter, its sketch):
/// workers push each micro-shard's summary; the server's shards each keep an
/// ``OrderedMerge`` of their band of it. `split` cuts a summary into the shards' bands (each band
/// carries whatever its merge needs — PCA's scatter bands repeat the count and the mean), and
/// `combine(shard, a, b)` merges two bands of one shard.
///
/// `.synchronous`: a step's summaries enter each shard's merge once every worker has pushed the
/// step, in micro-shard order — the merge all-reduce does on every rank, so the result is the
/// same bits when each band's merge is the whole merge restricted to it. `.boundedStaleness(s)`
/// (a push waits until the slowest worker is at most `s` steps behind) and `.asynchronous`
/// merge on arrival: the same rows, merged in another order — equal up to rounding.
public final class SummaryServer: @unchecked Sendable {
    public typealias Combine = @Sendable (_ shard: Int, _ a: [Double], _ b: [Double]) -> [Double]

    public let shards: Int
    public let workers: Int
    public let consistency: ParameterServerConsistency
    public let timeout: Double?
    private let split: @Sendable ([Double]) -> [[Double]]
    private let combine: Combine

    private final class Shard: @unchecked Sendable {
        var merge: OrderedMerge<[Double]>
        var pending: [Int: (parts: [(index: Int, band: [Double])], arrivals: Int)] = [:]
        let lock = NSLock()
        init(_ merge: OrderedMerge<[Double]>) { self.merge = merge }
    }

    private let shardStates: [Shard]
    private var clocks: [Int]
    private var failure: String?
    private var statistics = ParameterServerStatistics()
    /// Guards `clocks`, `failure` and `statistics`.
    private let condition = NSCondition()

    public init(shards: Int, workers: Int, consistency: ParameterServerConsistency, timeout: Double? = nil,
                split: @escaping @Sendable ([Double]) -> [[Double]], combine: @escaping Combine) throws(ParameterServerError) {
        guard shards >= 1 else { throw .invalidSetting(name: "shards", value: "\(shards)", rule: "must be ≥ 1") }
        guard workers >= 1 else { throw .invalidSetting(name: "workers", value: "\(workers)", rule: "must be ≥ 1") }
        self.shards = shards
        self.workers = workers
        self.consistency = consistency
        self.timeout = timeout
        self.split = split
        self.combine = combine
        shardStates = (0..<shards).map { s in Shard(OrderedMerge<[Double]> { a, b in combine(s, a, b) }) }
        clocks = [Int](repeating: 0, count: workers)
    }

    /// The traffic so far (pushes and the values they carried).
    public var counters: ParameterServerStatistics {
        condition.lock()
        defer { condition.unlock() }
        return statistics
    }

    /// Ends every wait, now and later, with ``ParameterServerError/aborted(reason:)``.
    public func abort(reason: String) {
        condition.lock()
        if failure == nil { failure = reason }
        condition.broadcast()
        condition.unlock()
    }

    /// Worker `worker`'s summaries for `step`: `(global micro-shard index, summary)` pairs.
    public func push(worker: Int, step: Int, summaries: [(index: Int, values: [Double])]) throws(ParameterServerError) {
        guard (0..<workers).contains(worker) else { throw .mismatch(operation: "push", reason: "worker \(worker) of \(workers)") }
        try gate(step: step)
        var bands = [[(index: Int, band: [Double])]](repeating: [], count: shards)
        var values = 0
        for summary in summaries {
            let cut = split(summary.values)
            guard cut.count == shards else {
                throw .mismatch(operation: "push", reason: "a summary split into \(cut.count) bands for \(shards) shards")
            }
            for s in 0..<shards { bands[s].append((summary.index, cut[s])) }
            values += summary.values.count
        }
        for (s, shard) in shardStates.enumerated() {
            shard.lock.lock()
            if consistency == .synchronous {
                var entry = shard.pending[step] ?? (parts: [], arrivals: 0)
                entry.parts += bands[s]
                entry.arrivals += 1
                if entry.arrivals == workers {
                    shard.pending[step] = nil
                    for part in entry.parts.sorted(by: { $0.index < $1.index }) { shard.merge.push(part.band) }
                } else {
                    shard.pending[step] = entry
                }
            } else {
                for part in bands[s] { shard.merge.push(part.band) }
            }
            shard.lock.unlock()
        }
        condition.lock()
        clocks[worker] = max(clocks[worker], step + 1)
        statistics.pushes += 1
        statistics.updates += summaries.count * shards
        statistics.bytesPushed += values * MemoryLayout<Double>.size
        condition.broadcast()
        condition.unlock()
    }

    /// Each shard's merge of everything pushed so far (`nil` for a shard with nothing), in
    /// shard order. The caller makes sure every push it wants is in (a collective after them).
    public func merged() -> [[Double]?] {
        shardStates.map { shard in
            shard.lock.lock()
            defer { shard.lock.unlock() }
            return shard.merge.finish()
        }
    }

    /// The stale mode's gate: the slowest worker is at most `s` steps behind `step`.
    private func gate(step: Int) throws(ParameterServerError) {
        condition.lock()
        defer { condition.unlock() }
        if let failure { throw .aborted(reason: failure) }
        guard case .boundedStaleness(let s) = consistency else { return }
        let deadline = timeout.map { Date(timeIntervalSinceNow: $0) }
        while (clocks.min() ?? 0) < step - s {
            if let failure { throw .aborted(reason: failure) }
            if let deadline, Date() >= deadline { throw .timedOut(operation: "push", seconds: timeout ?? 0) }
            _ = condition.wait(until: Date(timeIntervalSinceNow: 0.25))
        }
    }
}

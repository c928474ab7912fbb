import Foundation

/// How much of each other's progress parameter-server workers must see before they go on.
public enum ParameterServerConsistency: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Step `t`'s update is applied once every worker has pushed step `t`, as one sum in the
    /// fixed micro-shard tree; a pull for step `t + 1` waits for it. The result equals an
    /// all-reduce (``Communicator/reduceMicroShards(_:width:shards:)``) bit for bit.
    case synchronous
    /// Each push is applied on arrival; a worker may start step `t` once the slowest worker
    /// has pushed step `t − s − 1` (it runs at most `s` steps ahead). Not deterministic.
    case boundedStaleness(Int)
    /// Each push is applied on arrival and pulls never wait. Not deterministic; convergence
    /// depends on the learning rate and the worker count (opt-in only).
    case asynchronous

    /// `sync`, `stale:<s>` (s ≥ 0) or `async` — the hyperparameter's spelling.
    public init(parsing text: String, name: String = "parameter_server") throws(ParameterServerError) {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        switch t {
        case "sync", "synchronous": self = .synchronous
        case "async", "asynchronous": self = .asynchronous
        default:
            if t.hasPrefix("stale:"), let s = Int(t.dropFirst(6)), s >= 0 {
                self = .boundedStaleness(s)
            } else {
                throw .invalidSetting(name: name, value: text, rule: "must be sync, stale:<s> with s ≥ 0, or async")
            }
        }
    }

    public var description: String {
        switch self {
        case .synchronous: "sync"
        case .boundedStaleness(let s): "stale:\(s)"
        case .asynchronous: "async"
        }
    }

    /// Whether the same inputs give the same bits on every run.
    public var isDeterministic: Bool { self == .synchronous }
}

/// What a parameter server could not do.
public enum ParameterServerError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidSetting(name: String, value: String, rule: String)
    /// A push or pull that does not fit the server (wrong length, rows out of range, a step out of order).
    case mismatch(operation: String, reason: String)
    /// A worker gave up; every wait ends with this.
    case aborted(reason: String)
    /// A wait for the other workers lasted longer than the server's timeout.
    case timedOut(operation: String, seconds: Double)

    public var description: String {
        switch self {
        case let .invalidSetting(name, value, rule): "\(name)=\(value): \(rule)"
        case let .mismatch(operation, reason): "parameter server \(operation): \(reason)"
        case let .aborted(reason): "parameter server aborted: \(reason)"
        case let .timedOut(operation, seconds): "parameter server \(operation): the other workers did not arrive within \(seconds) s"
        }
    }
}

/// Counters of a server's traffic (all workers, all shards).
public struct ParameterServerStatistics: Sendable, Equatable {
    /// Pushes received and pulls answered.
    public var pushes = 0
    public var pulls = 0
    /// Server-side updates applied (one per shard per applied push in the non-synchronous
    /// modes, one per shard per step when synchronous).
    public var updates = 0
    public var bytesPushed = 0
    public var bytesPulled = 0
    public init() {}
}

/// A parameter server in this process (DESIGN.md "Distributed"): a flat buffer of `count`
/// values split into contiguous shards, each owning its slice and applying updates to it (the
/// optimizer step runs on the server side, as MXNet's KVStore does). Workers pull the values,
/// compute on their micro-shards and push partial results.
///
/// The server work (summing, the update) runs under each shard's own lock on the thread of the
/// worker whose push completes it — servers co-located with workers — so shards update in
/// parallel and no thread is kept for them.
///
/// `apply(range, values, update, contributors, version)` turns a shard's aggregated push into
/// new values: `values` and `update` are the shard's slices; `contributors` is how many
/// workers' pushes `update` sums (every worker when synchronous, 1 otherwise); `version` counts
/// the updates the shard has applied before this one. Elementwise updates give each element
/// the same bits whatever the shard boundaries.
public final class ParameterServer<T: BLASScalar>: @unchecked Sendable {
    public typealias Apply = @Sendable (_ range: Range<Int>, _ values: UnsafeMutableBufferPointer<T>, _ update: UnsafeBufferPointer<T>,
                                        _ contributors: Int, _ version: Int) -> Void

    public let count: Int
    public let workers: Int
    public let consistency: ParameterServerConsistency
    /// Each shard's slice of the flat buffer: contiguous, in order, multiples of `rowWidth`.
    public let shardRanges: [Range<Int>]
    public let rowWidth: Int
    /// The longest any wait may last, in seconds (`nil`: forever).
    public let timeout: Double?

    private let apply: Apply
    private let shards: [Shard]
    /// Steps pushed by each worker; the stale mode's pulls wait on it.
    private var clocks: [Int]
    private var failure: String?
    private var statistics = ParameterServerStatistics()
    /// Guards `clocks`, `failure` and `statistics`.
    private let condition = NSCondition()

    /// One shard's state, guarded by its own condition.
    private final class Shard: @unchecked Sendable {
        let range: Range<Int>
        var values: [T]
        var version = 0
        /// Synchronous mode: step → (global micro-shard index, partial slice), and arrivals.
        var pending: [Int: (partials: [(Int, [T])], arrivals: Int)] = [:]
        /// Synchronous sparse pushes: step → (worker, rows, values), and arrivals.
        var pendingRows: [Int: (parts: [(worker: Int, rows: [Int], values: [T])], arrivals: Int)] = [:]
        /// Synchronous row-part pushes: step → (worker, part index, rows, values), and arrivals.
        var pendingParts: [Int: (parts: [(worker: Int, part: Int, rows: [Int], values: [T])], arrivals: Int)] = [:]
        let condition = NSCondition()
        init(range: Range<Int>, values: [T]) {
            self.range = range
            self.values = values
        }
    }

    /// A server over `initial`, split into `shards` shards of whole rows of `rowWidth` values
    /// (as even as rows allow), for `workers` workers.
    public init(initial: [T], shards: Int, workers: Int, consistency: ParameterServerConsistency, rowWidth: Int = 1,
                timeout: Double? = nil, apply: @escaping Apply) throws(ParameterServerError) {
        guard shards >= 1 else { throw .invalidSetting(name: "shards", value: "\(shards)", rule: "must be ≥ 1") }
        guard workers >= 1 else { throw .invalidSetting(name: "workers", value: "\(workers)", rule: "must be ≥ 1") }
        guard rowWidth >= 1, initial.count % rowWidth == 0 else {
            throw .invalidSetting(name: "rowWidth", value: "\(rowWidth)", rule: "must be ≥ 1 and divide the \(initial.count) values")
        }
        if case .boundedStaleness(let s) = consistency, s < 0 {
            throw .invalidSetting(name: "staleness", value: "\(s)", rule: "must be ≥ 0")
        }
        self.count = initial.count
        self.workers = workers
        self.consistency = consistency
        self.rowWidth = rowWidth
        self.timeout = timeout
        self.apply = apply
        let rows = initial.count / rowWidth, s = max(1, min(shards, max(1, rows)))
        var ranges: [Range<Int>] = []
        for j in 0..<s {
            let lo = j * rows / s, hi = (j + 1) * rows / s
            ranges.append((lo * rowWidth)..<(hi * rowWidth))
        }
        self.shardRanges = ranges
        self.shards = ranges.map { Shard(range: $0, values: Array(initial[$0])) }
        self.clocks = [Int](repeating: 0, count: workers)
    }

    /// The traffic so far.
    public var counters: ParameterServerStatistics {
        condition.lock()
        defer { condition.unlock() }
        return statistics
    }

    /// Every value, as the shards hold them now (no waiting).
    public var values: [T] {
        var out: [T] = []
        out.reserveCapacity(count)
        for shard in shards {
            shard.condition.lock()
            out += shard.values
            shard.condition.unlock()
        }
        return out
    }

    /// Ends every wait, now and later, with ``ParameterServerError/aborted(reason:)``.
    public func abort(reason: String) {
        condition.lock()
        if failure == nil { failure = reason }
        condition.broadcast()
        condition.unlock()
        for shard in shards {
            shard.condition.lock()
            shard.condition.broadcast()
            shard.condition.unlock()
        }
    }

    private var abortReason: String? {
        condition.lock()
        defer { condition.unlock() }
        return failure
    }

    private func count(pushes: Int = 0, pulls: Int = 0, updates: Int = 0, pushed: Int = 0, pulled: Int = 0) {
        condition.lock()
        statistics.pushes += pushes
        statistics.pulls += pulls
        statistics.updates += updates
        statistics.bytesPushed += pushed * MemoryLayout<T>.size
        statistics.bytesPulled += pulled * MemoryLayout<T>.size
        condition.unlock()
    }

    /// Waits on `cond` (locked by the caller) until `ready()`, the deadline or an abort.
    /// `failed` reads the abort reason (without taking a lock the caller holds).
    private func wait(_ cond: NSCondition, operation: String, failed: () -> String?, until ready: () -> Bool) throws(ParameterServerError) {
        let deadline = timeout.map { Date(timeIntervalSinceNow: $0) }
        while !ready() {
            if let reason = failed() { throw .aborted(reason: reason) }
            if let deadline {
                if !cond.wait(until: min(deadline, Date(timeIntervalSinceNow: 0.25))), Date() >= deadline {
                    if ready() { return }
                    throw .timedOut(operation: operation, seconds: timeout ?? 0)
                }
            } else {
                _ = cond.wait(until: Date(timeIntervalSinceNow: 0.25))
            }
        }
    }

    // MARK: Dense

    /// Worker `worker`'s partial results for `step`: `partials` holds one buffer of ``count``
    /// values per micro-shard in `microShards` (global indices, this worker's run of them),
    /// concatenated. Synchronous: the last worker to push step `step` sums every micro-shard's
    /// partial in the fixed tree and applies it. Otherwise this worker's shards are summed in
    /// the same tree and applied at once.
    public func push(worker: Int, step: Int, partials: [T], microShards: Range<Int>) throws(ParameterServerError) {
        guard (0..<workers).contains(worker) else { throw .mismatch(operation: "push", reason: "worker \(worker) of \(workers)") }
        guard partials.count == microShards.count * count else {
            throw .mismatch(operation: "push", reason: "worker \(worker) passed \(partials.count) values for \(microShards.count) micro-shards of \(count)")
        }
        if let reason = abortReason { throw .aborted(reason: reason) }
        count(pushes: 1, pushed: partials.count)
        if consistency == .synchronous {
            for shard in shards {
                let r = shard.range
                var slices: [(Int, [T])] = []
                for (k, m) in microShards.enumerated() {
                    slices.append((m, Array(partials[(k * count + r.lowerBound)..<(k * count + r.upperBound)])))
                }
                shard.condition.lock()
                var entry = shard.pending[step] ?? (partials: [], arrivals: 0)
                entry.partials += slices
                entry.arrivals += 1
                if entry.arrivals == workers {
                    shard.pending[step] = nil
                    let ordered = entry.partials.sorted { $0.0 < $1.0 }.map { $0.1 }
                    applyLocked(shard, sum: ordered, contributors: workers)
                    shard.condition.broadcast()
                } else {
                    shard.pending[step] = entry
                }
                shard.condition.unlock()
            }
        } else if !microShards.isEmpty {
            var mine: [[T]] = []
            for k in 0..<microShards.count { mine.append(Array(partials[(k * count)..<((k + 1) * count)])) }
            for shard in shards {
                let r = shard.range
                let slices = mine.map { Array($0[r]) }
                shard.condition.lock()
                applyLocked(shard, sum: slices, contributors: 1)
                shard.condition.broadcast()
                shard.condition.unlock()
            }
        }
        advanceClock(worker: worker, past: step)
    }

    /// Worker `worker` has pushed (or skipped) `step`: the stale mode's waits may go on.
    private func advanceClock(worker: Int, past step: Int) {
        condition.lock()
        clocks[worker] = max(clocks[worker], step + 1)
        condition.broadcast()
        condition.unlock()
    }

    /// Sums `sum` (slices of one shard) in the fixed pairwise tree and applies it. Shard locked.
    private func applyLocked(_ shard: Shard, sum: [[T]], contributors: Int) {
        var total = [T](repeating: 0, count: shard.range.count)
        // invariant: every slice has the shard's length (cut from buffers checked above)
        try! DeterministicReduction.sumBuffers(sum, into: &total) // invariant: see above
        let apply = self.apply, range = shard.range, version = shard.version
        shard.values.withUnsafeMutableBufferPointer { v in
            total.withUnsafeBufferPointer { u in apply(range, v, u, contributors, version) }
        }
        shard.version += 1
        count(updates: 1)
    }

    /// The values worker `worker` computes step `step` from: synchronous, after step `step − 1`'s
    /// update (step 0: the initial values); stale, once every worker has pushed step
    /// `step − s − 1`; asynchronous, at once.
    public func pull(worker: Int, step: Int) throws(ParameterServerError) -> [T] {
        try waitForStep(worker: worker, step: step, operation: "pull")
        var out: [T] = []
        out.reserveCapacity(count)
        for shard in shards {
            try reading(shard, at: step, operation: "pull") { out += shard.values }
        }
        count(pulls: 1, pulled: count)
        return out
    }

    /// Runs `body` under `shard`'s lock once the shard is ready for a pull of `step`
    /// (synchronous: its update of step `step − 1` applied; otherwise at once).
    private func reading(_ shard: Shard, at step: Int, operation: String, _ body: () -> Void) throws(ParameterServerError) {
        shard.condition.lock()
        defer { shard.condition.unlock() }
        if consistency == .synchronous {
            try wait(shard.condition, operation: operation, failed: { abortReason }) { shard.version >= step }
        }
        body()
    }

    /// The stale mode's gate: the slowest worker is at most `s` steps behind `step`.
    private func waitForStep(worker: Int, step: Int, operation: String) throws(ParameterServerError) {
        guard (0..<workers).contains(worker) else { throw .mismatch(operation: operation, reason: "worker \(worker) of \(workers)") }
        guard case .boundedStaleness(let s) = consistency else { return }
        condition.lock()
        defer { condition.unlock() }
        // The global condition is held: read `failure` directly.
        try wait(condition, operation: operation, failed: { failure }) { (clocks.min() ?? 0) >= step - s }
    }

    /// Worker `worker` has nothing to push for `step` (its rows all weigh zero) and goes on:
    /// only its clock moves. Not for the synchronous mode, where every worker's push completes a step.
    public func skip(worker: Int, step: Int) throws(ParameterServerError) {
        guard (0..<workers).contains(worker) else { throw .mismatch(operation: "skip", reason: "worker \(worker) of \(workers)") }
        guard consistency != .synchronous else { throw .mismatch(operation: "skip", reason: "a synchronous step needs every worker's push") }
        advanceClock(worker: worker, past: step)
    }

    /// Worker `worker` pushes no more: nobody waits for it again (a worker that stopped early,
    /// so the stale mode's gate does not keep the others waiting on it).
    public func release(worker: Int) {
        guard (0..<workers).contains(worker) else { return }
        condition.lock()
        clocks[worker] = Int.max / 2
        condition.broadcast()
        condition.unlock()
    }

    /// How far behind `step` the slowest worker is now (for tests and logs): `step − min(clock)`.
    public func lag(at step: Int) -> Int {
        condition.lock()
        defer { condition.unlock() }
        return step - (clocks.min() ?? 0)
    }

    // MARK: Sparse

    /// Worker `worker`'s rows for `step`: `rows` (ascending, distinct row indices) and their
    /// values, `rowWidth` each. Synchronous: once every worker has pushed, each touched row is
    /// the sum of the workers' rows in worker order and `applyRow` runs on it; otherwise applied
    /// on arrival. Untouched rows are not visited.
    public func pushRows(worker: Int, step: Int, rows: [Int], values rowValues: [T],
                         applyRow: @escaping @Sendable (_ row: Int, _ values: UnsafeMutableBufferPointer<T>, _ update: UnsafeBufferPointer<T>, _ contributors: Int) -> Void)
        throws(ParameterServerError) {
        guard (0..<workers).contains(worker) else { throw .mismatch(operation: "pushRows", reason: "worker \(worker) of \(workers)") }
        let w = rowWidth, rowCount = count / w
        guard rowValues.count == rows.count * w else {
            throw .mismatch(operation: "pushRows", reason: "\(rows.count) rows of \(w) need \(rows.count * w) values, got \(rowValues.count)")
        }
        for (i, r) in rows.enumerated() where r < 0 || r >= rowCount || (i > 0 && rows[i - 1] >= r) {
            throw .mismatch(operation: "pushRows", reason: "row \(r) at position \(i): rows must be ascending, distinct and below \(rowCount)")
        }
        if let reason = abortReason { throw .aborted(reason: reason) }
        count(pushes: 1, pushed: rowValues.count + rows.count)
        var start = 0
        for shard in shards {
            let lo = shard.range.lowerBound / w, hi = shard.range.upperBound / w
            var end = start
            while end < rows.count && rows[end] < hi { end += 1 }
            let mineRows = Array(rows[start..<end]), mineValues = Array(rowValues[(start * w)..<(end * w)])
            start = end
            shard.condition.lock()
            if consistency == .synchronous {
                var entry = shard.pendingRows[step] ?? (parts: [], arrivals: 0)
                entry.parts.append((worker: worker, rows: mineRows, values: mineValues))
                entry.arrivals += 1
                if entry.arrivals == workers {
                    shard.pendingRows[step] = nil
                    // Each row: the workers' values added in worker order (as allReduceSum adds ranks).
                    var sums: [Int: [T]] = [:]
                    for part in entry.parts.sorted(by: { $0.worker < $1.worker }) {
                        for (i, row) in part.rows.enumerated() {
                            let values = part.values[(i * w)..<((i + 1) * w)]
                            if var s = sums[row] {
                                for t in 0..<w { s[t] += values[values.startIndex + t] }
                                sums[row] = s
                            } else {
                                sums[row] = Array(values)
                            }
                        }
                    }
                    for row in sums.keys.sorted() {
                        applyRowLocked(shard, row: row, lo: lo, update: sums[row] ?? [], contributors: workers, applyRow: applyRow)
                    }
                    shard.version += 1
                    shard.condition.broadcast()
                } else {
                    shard.pendingRows[step] = entry
                }
            } else {
                for (i, row) in mineRows.enumerated() {
                    applyRowLocked(shard, row: row, lo: lo, update: Array(mineValues[(i * w)..<((i + 1) * w)]), contributors: 1, applyRow: applyRow)
                }
                shard.version += 1
                shard.condition.broadcast()
            }
            shard.condition.unlock()
        }
        advanceClock(worker: worker, past: step)
    }

    private func applyRowLocked(_ shard: Shard, row: Int, lo: Int, update: [T], contributors: Int,
                                applyRow: (Int, UnsafeMutableBufferPointer<T>, UnsafeBufferPointer<T>, Int) -> Void) {
        let w = rowWidth, offset = (row - lo) * w
        shard.values.withUnsafeMutableBufferPointer { v in
            update.withUnsafeBufferPointer { u in
                // invariant: `row` lies in the shard (rows were routed by range), so the slice is inside `v`
                let slice = UnsafeMutableBufferPointer(rebasing: v[offset..<(offset + w)])
                applyRow(row, slice, u, contributors)
            }
        }
        count(updates: 1)
    }

    /// Worker `worker`'s sparse partial results for `step`, one part per micro-shard (in order):
    /// each part's `rows` (ascending, distinct) and their values, `rowWidth` each. Only the
    /// touched rows travel, but each shard's update is dense: its rows start at zero and every
    /// part's rows are added to them, part after part in (worker, part) order — the order of the
    /// micro-shards — and the server's `apply` runs on the whole shard, untouched rows with a
    /// zero update (an optimizer with momentum or decay moves them too). Synchronous: once every
    /// worker has pushed `step`; otherwise this worker's parts at once. A worker with no rows
    /// this step still pushes (no parts) so the others are not kept waiting.
    public func pushRowParts(worker: Int, step: Int, parts: [(rows: [Int], values: [T])]) throws(ParameterServerError) {
        guard (0..<workers).contains(worker) else { throw .mismatch(operation: "pushRowParts", reason: "worker \(worker) of \(workers)") }
        let w = rowWidth, rowCount = count / w
        for (p, part) in parts.enumerated() {
            guard part.values.count == part.rows.count * w else {
                throw .mismatch(operation: "pushRowParts", reason: "part \(p): \(part.rows.count) rows of \(w) need \(part.rows.count * w) values, got \(part.values.count)")
            }
            for (i, r) in part.rows.enumerated() where r < 0 || r >= rowCount || (i > 0 && part.rows[i - 1] >= r) {
                throw .mismatch(operation: "pushRowParts", reason: "part \(p), row \(r) at position \(i): rows must be ascending, distinct and below \(rowCount)")
            }
        }
        if let reason = abortReason { throw .aborted(reason: reason) }
        count(pushes: 1, pushed: parts.reduce(0) { $0 + $1.values.count + $1.rows.count })
        // Each part's rows cut at the shard boundaries (rows are ascending, so one scan each).
        var starts = [Int](repeating: 0, count: parts.count)
        for shard in shards {
            let hi = shard.range.upperBound / w
            var mine: [(worker: Int, part: Int, rows: [Int], values: [T])] = []
            for (p, part) in parts.enumerated() {
                var end = starts[p]
                while end < part.rows.count && part.rows[end] < hi { end += 1 }
                if end > starts[p] {
                    mine.append((worker: worker, part: p, rows: Array(part.rows[starts[p]..<end]),
                                 values: Array(part.values[(starts[p] * w)..<(end * w)])))
                }
                starts[p] = end
            }
            shard.condition.lock()
            if consistency == .synchronous {
                var entry = shard.pendingParts[step] ?? (parts: [], arrivals: 0)
                entry.parts += mine
                entry.arrivals += 1
                if entry.arrivals == workers {
                    shard.pendingParts[step] = nil
                    applyPartsLocked(shard, parts: entry.parts.sorted { ($0.worker, $0.part) < ($1.worker, $1.part) }, contributors: workers)
                    shard.condition.broadcast()
                } else {
                    shard.pendingParts[step] = entry
                }
            } else if !parts.isEmpty {
                // A worker's push updates every shard, as a dense push does.
                applyPartsLocked(shard, parts: mine, contributors: 1)
                shard.condition.broadcast()
            }
            shard.condition.unlock()
        }
        advanceClock(worker: worker, past: step)
    }

    /// Adds `parts` (in the given order) into a zero update of the shard, then applies it. Shard locked.
    private func applyPartsLocked(_ shard: Shard, parts: [(worker: Int, part: Int, rows: [Int], values: [T])], contributors: Int) {
        let w = rowWidth, lo = shard.range.lowerBound
        var total = [T](repeating: 0, count: shard.range.count)
        for part in parts {
            for (i, row) in part.rows.enumerated() {
                let at = row * w - lo
                for t in 0..<w { total[at + t] += part.values[i * w + t] }
            }
        }
        let apply = self.apply, range = shard.range, version = shard.version
        shard.values.withUnsafeMutableBufferPointer { v in
            total.withUnsafeBufferPointer { u in apply(range, v, u, contributors, version) }
        }
        shard.version += 1
        count(updates: 1)
    }

    /// Rows `rows` (ascending, distinct), `rowWidth` values each, with the same waiting rule as
    /// ``pull(worker:step:)``.
    public func pullRows(worker: Int, step: Int, rows: [Int]) throws(ParameterServerError) -> [T] {
        try waitForStep(worker: worker, step: step, operation: "pullRows")
        let w = rowWidth, rowCount = count / w
        for (i, r) in rows.enumerated() where r < 0 || r >= rowCount || (i > 0 && rows[i - 1] >= r) {
            throw .mismatch(operation: "pullRows", reason: "row \(r) at position \(i): rows must be ascending, distinct and below \(rowCount)")
        }
        var out: [T] = []
        out.reserveCapacity(rows.count * w)
        var i = 0
        for shard in shards where i < rows.count {
            let lo = shard.range.lowerBound / w, hi = shard.range.upperBound / w
            guard rows[i] < hi else { continue }
            try reading(shard, at: step, operation: "pullRows") {
                while i < rows.count && rows[i] < hi {
                    let offset = (rows[i] - lo) * w
                    out += shard.values[offset..<(offset + w)]
                    i += 1
                }
            }
        }
        count(pulls: 1, pulled: out.count)
        return out
    }
}

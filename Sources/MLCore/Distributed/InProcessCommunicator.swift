import Foundation
import Synchronization

/// ``Communicator`` for workers that are threads of this process.
///
/// Every collective is a rendezvous: each rank deposits its contribution, the last to arrive
/// publishes them all and wakes the rest. Workers run on dedicated threads (``run(workers:timeout:_:)``),
/// not on Dispatch's shared pool: a worker blocks in collectives, and a pool sized to the cores
/// could leave a rank unscheduled while the others wait for it — a deadlock with 8 workers on 2
/// cores.
public struct InProcessCommunicator: Communicator {
    public let rank: Int
    public var size: Int { rendezvous.size }
    let rendezvous: Rendezvous

    public func allGather<T: BLASScalar>(_ local: [T]) throws(CommunicatorError) -> [[T]] {
        let all = try rendezvous.exchange(rank: rank, operation: "allGather", local)
        var out: [[T]] = []
        out.reserveCapacity(all.count)
        for (r, value) in all.enumerated() {
            guard let v = value as? [T] else {
                throw .mismatch(operation: "allGather", reason: "rank \(r) passed \(type(of: value)), rank \(rank) [\(T.self)]")
            }
            out.append(v)
        }
        return out
    }

    public func broadcast<T: BLASScalar>(_ buffer: [T], root: Int) throws(CommunicatorError) -> [T] {
        guard (0..<size).contains(root) else {
            throw .mismatch(operation: "broadcast", reason: "root \(root) is not a rank of \(size)")
        }
        let all = try rendezvous.exchange(rank: rank, operation: "broadcast(root: \(root))", rank == root ? buffer : [])
        guard let v = all[root] as? [T] else {
            throw .mismatch(operation: "broadcast", reason: "root \(root) passed \(type(of: all[root])), rank \(rank) expects [\(T.self)]")
        }
        return v
    }

    public func barrier() throws(CommunicatorError) {
        _ = try rendezvous.exchange(rank: rank, operation: "barrier", [Float]())
    }

    public func abort(reason: String) { rendezvous.abort(rank: rank, reason: reason) }

    /// Runs `body` on `workers` threads, one communicator each, and returns their results in rank
    /// order.
    ///
    /// If any rank throws, the group is aborted so no rank waits forever, and the error of the
    /// lowest rank that failed for its own reason (not because another aborted) is rethrown.
    /// `timeout` bounds every wait in a collective: a rank that never arrives turns into
    /// ``CommunicatorError/timedOut(operation:seconds:)`` instead of a hang.
    public static func run<R: Sendable>(
        workers: Int, timeout: Double? = nil, _ body: @escaping @Sendable (InProcessCommunicator) throws -> R
    ) throws -> [R] {
        let size = max(1, workers)
        let rendezvous = Rendezvous(size: size, timeout: timeout)
        let outcomes = Outcomes<R>(count: size)
        let done = DispatchGroup()
        for rank in 0..<size {
            done.enter()
            let thread = Thread {
                let communicator = InProcessCommunicator(rank: rank, rendezvous: rendezvous)
                do {
                    outcomes.set(rank, .success(try body(communicator)))
                } catch {
                    rendezvous.abort(rank: rank, reason: "\(error)")
                    outcomes.set(rank, .failure(error))
                }
                done.leave()
            }
            // Training workers run BLAS and deep Swift frames; the platform default can be small.
            thread.stackSize = 8 << 20
            thread.name = "mlcore-worker-\(rank)"
            thread.start()
        }
        done.wait()
        let results = outcomes.values
        var firstAbort: (any Error)?
        for outcome in results {
            guard case .failure(let error)? = outcome else { continue }
            if case CommunicatorError.aborted? = error as? CommunicatorError {
                if firstAbort == nil { firstAbort = error }
                continue
            }
            throw error
        }
        if let firstAbort { throw firstAbort }
        var values: [R] = []
        for case .success(let value)? in results { values.append(value) }
        // Every rank stores an outcome before leaving the group and failures were thrown above,
        // so this only guards against a broken invariant, as an error rather than a trap.
        guard values.count == size else {
            throw CommunicatorError.mismatch(operation: "run", reason: "\(size - values.count) workers finished without a result")
        }
        return values
    }
}

/// The meeting point of one group's collectives.
///
/// Waiting is spin-then-block: a rank that arrives early first polls an atomic generation
/// counter for a few tens of microseconds — a synchronous trainer's ranks arrive within that of
/// each other at every step, and a futex sleep and wake-up costs about as much as a small
/// mini-batch's arithmetic — then sleeps on the condition. It spins only when every rank can have
/// its own core; with more ranks than cores a spinning rank would steal the time of the ranks
/// it waits for.
final class Rendezvous: @unchecked Sendable {
    // @unchecked: every stored property except `completed` is read and written only with
    // `condition` locked; `completed` is atomic.
    let size: Int
    let timeout: Double?
    private let spins: Int
    private let condition = NSCondition()
    private let completed = Atomic<Int>(0)
    private var slots: [Any?]
    private var operations: [String?]
    private var arrived = 0
    /// Ranks asleep on `condition` (the rest of the waiting ranks are spinning).
    private var sleepers = 0
    private var generation = 0
    private var published: [Any] = []
    private var failure: (rank: Int, reason: String)?

    init(size: Int, timeout: Double?) {
        self.size = size
        self.timeout = timeout
        spins = size > 1 && size <= ProcessInfo.processInfo.activeProcessorCount ? 20_000 : 0
        slots = Array(repeating: nil, count: size)
        operations = Array(repeating: nil, count: size)
    }

    /// Deposits `value` and returns every rank's value once all have arrived.
    func exchange(rank: Int, operation: String, _ value: Any) throws(CommunicatorError) -> [Any] {
        condition.lock()
        if let failure {
            condition.unlock()
            throw .aborted(rank: failure.rank, reason: failure.reason)
        }
        slots[rank] = value
        operations[rank] = operation
        arrived += 1
        let mine = generation
        if arrived == size {
            defer { condition.unlock() }
            let names = Set(operations.compactMap { $0 })
            guard names.count == 1 else {
                let reason = "ranks called " + operations.enumerated().map { "\($0.offset): \($0.element ?? "-")" }.joined(separator: ", ")
                failure = (rank, reason)
                condition.broadcast()
                throw .mismatch(operation: operation, reason: reason)
            }
            published = slots.map { $0 ?? [Float]() }
            for i in 0..<size {
                slots[i] = nil
                operations[i] = nil
            }
            arrived = 0
            generation += 1
            completed.store(generation, ordering: .releasing)
            // A wake-up is a system call; skip it when every other rank is still spinning.
            if sleepers > 0 { condition.broadcast() }
            return published
        }
        if spins > 0 {
            condition.unlock()
            var n = 0
            while completed.load(ordering: .acquiring) == mine && n < spins { n += 1 }
            condition.lock()
        }
        defer { condition.unlock() }
        let deadline = timeout.map { Date(timeIntervalSinceNow: $0) }
        while generation == mine && failure == nil {
            if let deadline {
                sleepers += 1
                let woken = condition.wait(until: deadline)
                sleepers -= 1
                if !woken && generation == mine && failure == nil {
                    failure = (rank, "timed out in \(operation) after \(timeout ?? 0) s")
                    condition.broadcast()
                    throw .timedOut(operation: operation, seconds: timeout ?? 0)
                }
            } else {
                sleepers += 1
                condition.wait()
                sleepers -= 1
            }
        }
        // A generation that completed is valid even if a failure was recorded just after it.
        if generation == mine, let failure { throw .aborted(rank: failure.rank, reason: failure.reason) }
        return published
    }

    func abort(rank: Int, reason: String) {
        condition.lock()
        if failure == nil { failure = (rank, reason) }
        condition.broadcast()
        condition.unlock()
    }
}

/// Per-rank outcomes, written once each by the worker threads.
private final class Outcomes<R: Sendable>: @unchecked Sendable {
    // @unchecked: guarded by `lock`.
    private let lock = NSLock()
    private var storage: [Result<R, any Error>?]
    init(count: Int) { storage = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ value: Result<R, any Error>) {
        lock.lock()
        storage[i] = value
        lock.unlock()
    }
    var values: [Result<R, any Error>?] {
        lock.lock()
        defer { lock.unlock() }
        return storage
    }
}

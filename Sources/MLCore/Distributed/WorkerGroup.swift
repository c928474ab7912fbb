/// Where a distributed trainer's ranks run: the threads of this process
/// (``InProcessWorkerGroup``), or — from the `MLCluster` target — one rank per MPI process
/// across processes and hosts. Trainers are written once against ``Communicator``; the group
/// decides how many ranks there are and which of them live in this process.
public protocol WorkerGroup: Sendable {
    /// Ranks in the whole group, across every process.
    var size: Int { get }
    /// Whether this process hosts rank 0: the one that prints, checkpoints and writes the model.
    var isPrimary: Bool { get }
    /// Runs `body` on every rank this process hosts, each with its communicator, and returns the
    /// result of the lowest of them. Every rank ends a synchronous trainer with the same state,
    /// so whichever rank's result a process returns is the result.
    ///
    /// A rank that throws aborts the group: the others' collectives throw instead of waiting.
    func run<R: Sendable>(_ body: @escaping @Sendable (any Communicator) throws -> R) throws -> R
}

/// `workers` ranks as threads of this process (``InProcessCommunicator``); collectives wait at
/// most `timeout` seconds for the other ranks.
public struct InProcessWorkerGroup: WorkerGroup {
    public let workers: Int
    public let timeout: Double?

    public init(workers: Int, timeout: Double? = nil) {
        self.workers = max(1, workers)
        self.timeout = timeout
    }

    public var size: Int { workers }
    public var isPrimary: Bool { true }

    public func run<R: Sendable>(_ body: @escaping @Sendable (any Communicator) throws -> R) throws -> R {
        let results = try InProcessCommunicator.run(workers: workers, timeout: timeout) { communicator in try body(communicator) }
        // invariant: `run` returns one result per rank, at least one rank
        return results[0]
    }
}

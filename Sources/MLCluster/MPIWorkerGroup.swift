#if MPI
import Foundation
import MLCore

/// ``WorkerGroup`` of an MPI job: this process hosts exactly one rank (its `MPI_COMM_WORLD`
/// rank), the other ranks are other processes, on this host or others.
///
/// ``run(_:)`` runs the body on the calling thread (MPI is initialised with
/// `MPI_THREAD_SERIALIZED`, so any one thread at a time may call collectives). If the body
/// throws, ``onFailure`` runs (the container writes its failure file there), then the job is
/// aborted with the error's description, so the other ranks end at once instead of waiting in
/// a collective for this one. With Open MPI the abort ends this process too; the error is
/// rethrown only if it ever returns.
public struct MPIWorkerGroup: WorkerGroup {
    public let communicator: MPICommunicator
    /// Called with a rank's error before the job is aborted; it must be quick.
    public var onFailure: (@Sendable (any Error) -> Void)?

    public init(communicator: MPICommunicator, onFailure: (@Sendable (any Error) -> Void)? = nil) {
        self.communicator = communicator
        self.onFailure = onFailure
    }

    /// The group of every process of this MPI job (``MPICommunicator/world(timeout:environment:)``).
    public static func world(environment: [String: String] = ProcessInfo.processInfo.environment,
                             onFailure: (@Sendable (any Error) -> Void)? = nil) throws(ClusterError) -> MPIWorkerGroup {
        MPIWorkerGroup(communicator: try MPICommunicator.world(environment: environment), onFailure: onFailure)
    }

    public var size: Int { communicator.size }
    public var isPrimary: Bool { communicator.rank == 0 }

    public func run<R: Sendable>(_ body: @escaping @Sendable (any Communicator) throws -> R) throws -> R {
        do {
            return try body(communicator)
        } catch {
            onFailure?(error)
            communicator.abort(reason: "\(error)")
            throw error
        }
    }
}
#endif

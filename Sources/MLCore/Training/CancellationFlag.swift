import Synchronization

/// Asks a running trainer to stop at its next step boundary. Set from any thread (a SIGTERM
/// handler's dispatch source, a UI); trainers read it between steps and return a state that
/// resumes exactly where they stopped.
public final class CancellationFlag: Sendable {
    private let flag = Atomic<Bool>(false)

    public init() {}

    public func cancel() { flag.store(true, ordering: .releasing) }

    public var isCancelled: Bool { flag.load(ordering: .acquiring) }
}

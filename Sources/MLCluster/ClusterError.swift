/// Why a process could not join, launch or wait for a multi-process job.
public enum ClusterError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A setting the user controls is wrong (an environment variable, resourceconfig.json); the
    /// message says which and how to fix it.
    case configuration(String)
    /// MPI or the launcher failed (MPI_Init_thread, mpirun missing, a peer host never came up).
    case runtime(String)

    public var description: String {
        switch self {
        case .configuration(let message), .runtime(let message): message
        }
    }
}

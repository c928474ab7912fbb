import Foundation

/// What the environment says about MPI, without initialising it (so a plain `mlc train` never
/// touches MPI): whether `mpirun` started this process, and the collective timeout.
public enum MPIEnvironment {
    /// The variable that bounds every collective's wait, in seconds (docs/distributed.md).
    public static let timeoutVariable = "MLC_COLLECTIVE_TIMEOUT_SECONDS"
    /// Ten minutes: one epoch (or one evaluation) between two collectives can be long, and a
    /// rank that is slow is not a rank that is gone — a dead rank ends the job through mpirun at
    /// once, the timeout only catches a rank that hangs.
    public static let defaultTimeout: Double = 600

    /// Whether an MPI launcher started this process: Open MPI's `mpirun` sets
    /// `OMPI_COMM_WORLD_SIZE` and `OMPI_COMM_WORLD_RANK`; PMIx launchers (Open MPI 4+, Slurm's
    /// `srun --mpi=pmix`) set `PMIX_RANK`.
    public static func isLaunchedByMPI(_ environment: [String: String]) -> Bool {
        if environment["OMPI_COMM_WORLD_SIZE"] != nil && environment["OMPI_COMM_WORLD_RANK"] != nil { return true }
        return environment["PMIX_RANK"] != nil
    }

    /// ``timeoutVariable`` when set (a positive number of seconds), else ``defaultTimeout``.
    public static func collectiveTimeout(_ environment: [String: String]) throws(ClusterError) -> Double {
        guard let text = environment[timeoutVariable]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else {
            return defaultTimeout
        }
        guard let seconds = Double(text), seconds.isFinite, seconds > 0 else {
            throw .configuration("\(timeoutVariable)='\(text)' is not a positive number of seconds (unset it for the default, \(Int(defaultTimeout)) s)")
        }
        return seconds
    }
}

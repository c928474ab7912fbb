import Foundation

/// How `mlc train` runs, from resourceconfig.json and the environment — SageMaker's MPI
/// distribution, as its training toolkit does it (docs/distributed.md):
///
/// - started by `mpirun` (``MPIEnvironment/isLaunchedByMPI(_:)``): this process is one rank;
/// - one host: train in this process;
/// - several hosts: the first in sorted order launches `mpirun` over all of them, one process per
///   host, and waits for it; every other host runs an ssh daemon for `mpirun` to reach it, waits
///   for the `orted` daemon `mpirun` starts there, and exits 0 when that ends.
public enum LaunchRole: Equatable, Sendable {
    case single
    case rank
    case primary(hosts: [String])
    case worker(primary: String)
}

/// The pure decisions of a multi-host launch; ``MultiHostLauncher`` carries them out.
public enum MultiHostLaunch {
    /// This host's role. `hosts` need not be sorted (resourceconfig.json sorts them; this does too).
    public static func role(currentHost: String, hosts: [String], environment: [String: String]) -> LaunchRole {
        if MPIEnvironment.isLaunchedByMPI(environment) { return .rank }
        let sorted = Array(Set(hosts)).sorted()
        guard sorted.count > 1, let first = sorted.first else { return .single }
        return currentHost == first ? .primary(hosts: sorted) : .worker(primary: first)
    }

    /// Variables every rank needs from the primary's environment, by name (`mpirun -x NAME`
    /// copies the value): the SageMaker, toolkit and MLCore settings, the search paths and the
    /// thread settings — but not what names the primary host itself (`SM_CURRENT_HOST`,
    /// `SM_CURRENT_INSTANCE_*`, `SM_RESOURCE_CONFIG`, `SM_TRAINING_ENV`, `CURRENT_HOST`):
    /// each rank reads its own host's resourceconfig.json.
    public static func forwardedVariables(_ environment: [String: String]) -> [String] {
        let prefixes = ["SM_", "SAGEMAKER_", "MLC_", "TRAINING_JOB_"]
        let names: Set<String> = ["PATH", "LD_LIBRARY_PATH", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"]
        let hostSpecific: Set<String> = ["SM_CURRENT_HOST", "SM_RESOURCE_CONFIG", "SM_TRAINING_ENV", "CURRENT_HOST"]
        return environment.keys.filter { name in
            guard !hostSpecific.contains(name), !name.hasPrefix("SM_CURRENT_INSTANCE") else { return false }
            return names.contains(name) || prefixes.contains { name.hasPrefix($0) }
        }.sorted()
    }

    /// `mpirun`'s arguments to run `executable arguments` once on each of `hosts`.
    ///
    /// - `-H h1:1,h2:1 -np N`: one slot, so one process, per host (a rank uses every core
    ///   through its own worker threads), and `--bind-to none` so the rank is not pinned to one.
    /// - `btl_tcp_if_include` / `oob_tcp_if_include`: MPI's data and Open MPI's control traffic
    ///   on resourceconfig's `network_interface_name` (SageMaker hosts have several interfaces).
    /// - `plm_rsh_no_tree_spawn`: the primary starts every remote daemon itself over ssh (hosts
    ///   can reach the primary, not necessarily each other, when the job starts).
    /// - `orte_abort_on_non_zero_status`: a rank that exits non-zero ends the job.
    /// - `--allow-run-as-root`: SageMaker runs containers as root.
    public static func mpirunArguments(hosts: [String], networkInterface: String, executable: String,
                                       arguments: [String], environment: [String: String]) -> [String] {
        var out = [
            "--allow-run-as-root",
            "-H", hosts.map { $0 + ":1" }.joined(separator: ","),
            "-np", "\(hosts.count)",
            "--bind-to", "none",
            "--tag-output",
            "--mca", "btl_tcp_if_include", networkInterface,
            "--mca", "oob_tcp_if_include", networkInterface,
            "--mca", "plm_rsh_no_tree_spawn", "1",
            "--mca", "orte_abort_on_non_zero_status", "1",
        ]
        for name in forwardedVariables(environment) { out += ["-x", name] }
        return out + [executable] + arguments
    }

    /// Whether any of `processNames` (`/proc/<pid>/comm`) is Open MPI's remote daemon.
    public static func containsMPIDaemon(_ processNames: [String]) -> Bool {
        processNames.contains { $0.trimmingCharacters(in: .whitespacesAndNewlines) == "orted" }
    }
}

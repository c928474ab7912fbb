import Foundation
import MLContainer
import MLCore
#if MPI
import MLCluster
#endif

/// `mlc train` across processes and hosts (docs/distributed.md): what resourceconfig.json and
/// the environment make of this process.
enum ClusterPlacement {
    /// Train here, in this process's threads.
    case local
    /// A rank of an MPI job; the group runs the trainer's collectives across the job.
    case rank(any WorkerGroup)
    /// This host's part is over (it launched mpirun and it ended, or it hosted a rank for the
    /// primary): exit with this status.
    case finished(Int32)
}

extension TrainRun {
    /// The decision and, for the primary and the other hosts of a multi-host job, the launch
    /// or the wait (``MultiHostLaunch``, ``MultiHostLauncher``).
    func clusterPlacement(environment: TrainingEnvironment, output: JobOutput) throws(ContainerError) -> ClusterPlacement {
        let resources = try readResources(environment)
        #if MPI
        let processEnvironment = ProcessInfo.processInfo.environment
        let role = MultiHostLaunch.role(currentHost: resources.currentHost, hosts: resources.hosts, environment: processEnvironment)
        let launcher = MultiHostLauncher(log: output.line)
        do {
            switch role {
            case .single:
                return .local
            case .rank:
                let failurePath = environment
                let group = try MPIWorkerGroup.world(environment: processEnvironment) { error in
                    // Written before the job is aborted (the abort ends this process too).
                    failurePath.writeFailure((error as? ContainerError) ?? .algorithm("\(error)"))
                }
                return .rank(group)
            case .primary(let hosts):
                guard let mpirun = Self.findTool("mpirun") else {
                    throw ClusterError.runtime("mpirun is not on PATH: training on several hosts needs openmpi-bin")
                }
                try launcher.startSSHDaemon()
                let arguments = MultiHostLaunch.mpirunArguments(
                    hosts: hosts, networkInterface: resources.networkInterfaceName, executable: Self.executablePath(),
                    arguments: rankArguments(), environment: processEnvironment)
                output.line("Training on \(hosts.count) hosts (\(hosts.joined(separator: ", "))), one MPI rank each")
                let cancellation = self.cancellation
                let status = try launcher.runPrimary(hosts: hosts, mpirun: mpirun, arguments: arguments,
                                                     shouldStop: { cancellation.isCancelled })
                if status != 0 {
                    throw ContainerError.algorithm("the MPI job over \(hosts.joined(separator: ", ")) ended with status \(status); the failing rank's reason is in the log (and in that host's output/failure)")
                }
                return .finished(0)
            case .worker(let primary):
                try launcher.startSSHDaemon()
                try launcher.runWorker(primary: primary)
                return .finished(0)
            }
        } catch let error as ContainerError {
            throw error
        } catch let error as ClusterError {
            switch error {
            case .configuration(let message): throw .client(message)
            case .runtime(let message): throw .algorithm(message)
            }
        } catch {
            throw .algorithm("\(error)")
        }
        #else
        if resources.hosts.count > 1 {
            throw .client("resourceconfig.json lists \(resources.hosts.count) hosts, but this mlc was built without MPI (the MPI package trait): it trains on one host only")
        }
        return .local
        #endif
    }

    /// `resourceconfig.json` (one host when absent: a local run).
    func readResources(_ environment: TrainingEnvironment) throws(ContainerError) -> ResourceConfiguration {
        let path = environment.resourceConfigPath
        guard FileManager.default.fileExists(atPath: path) else { return .singleHost }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .client("cannot read \(path): \(error.localizedDescription)")
        }
        return try ContainerConfiguration.resources(data, path: path)
    }

    /// This command again, for the ranks `mpirun` starts on every host.
    func rankArguments() -> [String] {
        var arguments = ["train", "--no-progress"]
        if let algorithm = command.algorithm { arguments += ["--algorithm", algorithm.rawValue] }
        if let root = command.root { arguments += ["--root", root] }
        if let workers = command.workers { arguments += ["--workers", "\(workers)"] }
        return arguments
    }

    /// Ends every rank of the MPI job this process belongs to (after a failure outside the
    /// group's collectives, so the other ranks do not wait for this one); nothing otherwise.
    func abortClusterJob(reason: String) {
        #if MPI
        if MPIEnvironment.isLaunchedByMPI(ProcessInfo.processInfo.environment), MPIRuntime.isRunning {
            console.err("Aborting the MPI job: \(reason)")
            MPIRuntime.abortJob(code: MLC.failure)
        }
        #endif
    }

    /// The running executable (the same path on every host of the image).
    static func executablePath() -> String {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
    }

    static func findTool(_ name: String) -> String? {
        ((ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init) + ["/usr/bin", "/bin"])
            .map { $0 + "/" + name }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

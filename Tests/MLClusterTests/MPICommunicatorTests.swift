#if MPI
import Foundation
import MLCluster
import MLCore
import MLTestSupport
import Testing

/// `mpirun`, or nil when Open MPI's launcher is not installed (the tests then skip, saying why).
let mpirun = toolPath("mpirun")

/// `mpirun --allow-run-as-root --oversubscribe -np <ranks> <arguments>`, killed after `seconds`.
func runMPI(ranks: Int, _ arguments: [String], environment extra: [String: String] = [:], seconds: Double) throws -> BoundedRun {
    guard let mpirun else { throw ToolNotFound(name: "mpirun") }
    var environment = ProcessInfo.processInfo.environment
    for (key, value) in extra { environment[key] = value }
    // Containers rarely allow the ptrace-based single-copy path of the shared-memory transport.
    environment["OMPI_MCA_btl_vader_single_copy_mechanism"] = "none"
    return try runBounded(mpirun, ["--allow-run-as-root", "--oversubscribe", "-np", "\(ranks)"] + arguments,
                          environment: environment, seconds: seconds)
}

/// MPICommunicator under a real `mpirun` on this machine: the same bits as InProcessCommunicator,
/// and a job that loses, times out or fails a rank ends with a message instead of hanging.
@Suite("MPICommunicator under mpirun", .serialized, .enabled(if: mpirun != nil, "mpirun (Open MPI) is not installed"))
struct MPICommunicatorTests {
    @Test("every collective, uneven lengths, Float and Double: each rank's output equals InProcessCommunicator's bit for bit",
          arguments: [2, 3, 4])
    func collectivesMatchInProcess(ranks: Int) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mpicheck-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        let run = try runMPI(ranks: ranks, [try builtExecutable("mpicheck"), "collectives", directory], seconds: 120)
        try #require(run.status == 0, "mpirun -np \(ranks) mpicheck collectives: \(run.stderr)")

        let expected = try InProcessCommunicator.run(workers: ranks) { comm in _CollectiveCheck.run(comm) }
        for rank in 0..<ranks {
            let text = try String(contentsOfFile: directory + "/rank-\(rank).txt", encoding: .utf8)
            let lines = text.split(separator: "\n").map(String.init)
            #expect(lines.count == expected[rank].count, "rank \(rank): \(lines.count) lines, in process \(expected[rank].count)")
            for (got, want) in zip(lines, expected[rank]) {
                #expect(got == want, "rank \(rank)")
            }
        }
        // The script covers what it claims (guards against a script that silently stopped early).
        #expect(expected[0].contains { $0.hasPrefix("allGather type mismatch: error mismatch(allGather)") })
        #expect(expected[0].contains { $0.hasPrefix("broadcast invalid root: error mismatch(broadcast)") })
        #expect(expected[0].last == "barrier at the end: ok")
    }

    @Test("a rank killed by SIGKILL mid-run ends the whole job within 60 s, naming the signal")
    func killedRankEndsTheJob() throws {
        let run = try runMPI(ranks: 3, [try builtExecutable("mpicheck"), "kill"], environment: ["MLC_COLLECTIVE_TIMEOUT_SECONDS": "600"], seconds: 60)
        #expect(run.status != nil, "the job was still running after 60 s: \(run.stdout)\n\(run.stderr)")
        #expect(run.status != 0)
        #expect(run.stdout.contains("rank 1: first collective done"))
        #expect(run.stderr.contains("signal 9"), "\(run.stderr)")
        #expect(run.seconds < 60)
    }

    @Test("a rank that sleeps past MLC_COLLECTIVE_TIMEOUT_SECONDS: the others time out and abort the job, long before the sleeper wakes")
    func timeout() throws {
        let run = try runMPI(ranks: 2, [try builtExecutable("mpicheck"), "sleep", "120"],
                             environment: ["MLC_COLLECTIVE_TIMEOUT_SECONDS": "2"], seconds: 60)
        #expect(run.status != nil && run.status != 0, "status \(String(describing: run.status)): \(run.stderr)")
        #expect(run.stderr.contains("mlc: MPI rank 0 of 2 aborts the job: barrier: the other workers did not arrive within 2.0 s"),
                "\(run.stderr)")
        #expect(run.seconds < 30, "took \(run.seconds) s")
    }

    @Test("a rank whose body throws aborts the job with the error's text; the others do not wait")
    func throwingRankAbortsTheJob() throws {
        let run = try runMPI(ranks: 4, [try builtExecutable("mpicheck"), "throw"], seconds: 60)
        #expect(run.status == 1, "status \(String(describing: run.status)): \(run.stderr)")
        #expect(run.stderr.contains("mlc: MPI rank 1 of 4 aborts the job: rank 1 failed on purpose"), "\(run.stderr)")
        #expect(run.seconds < 30)
    }

    @Test("a bad MLC_COLLECTIVE_TIMEOUT_SECONDS is a configuration error naming the variable")
    func badTimeoutVariable() throws {
        #expect(try MPIEnvironment.collectiveTimeout([:]) == 600)
        #expect(try MPIEnvironment.collectiveTimeout(["MLC_COLLECTIVE_TIMEOUT_SECONDS": " 2.5 "]) == 2.5)
        for bad in ["0", "-1", "ten", "inf", "nan"] {
            #expect(throws: ClusterError.self) { try MPIEnvironment.collectiveTimeout(["MLC_COLLECTIVE_TIMEOUT_SECONDS": bad]) }
        }
        let run = try runMPI(ranks: 2, [try builtExecutable("mpicheck"), "throw"], environment: ["MLC_COLLECTIVE_TIMEOUT_SECONDS": "ten"], seconds: 60)
        #expect(run.status != 0 && run.stderr.contains("MLC_COLLECTIVE_TIMEOUT_SECONDS='ten' is not a positive number"), "\(run.stderr)")
    }

    @Test("launched by mpirun: detected from OMPI_COMM_WORLD_* or PMIX_RANK, never otherwise")
    func launchDetection() {
        #expect(!MPIEnvironment.isLaunchedByMPI([:]))
        #expect(!MPIEnvironment.isLaunchedByMPI(["OMPI_COMM_WORLD_SIZE": "2"]))
        #expect(MPIEnvironment.isLaunchedByMPI(["OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_RANK": "1"]))
        #expect(MPIEnvironment.isLaunchedByMPI(["PMIX_RANK": "0"]))
    }
}
#endif

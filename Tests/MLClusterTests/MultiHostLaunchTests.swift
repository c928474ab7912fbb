#if MPI
import MLCluster
import Testing

/// Which host launches what, from resourceconfig.json and the environment (no MPI run needed).
@Suite("Multi-host launch plan")
struct MultiHostLaunchTests {
    @Test("one host trains alone; of several, the first in sorted order is the primary, the others wait")
    func roles() {
        #expect(MultiHostLaunch.role(currentHost: "algo-1", hosts: ["algo-1"], environment: [:]) == .single)
        #expect(MultiHostLaunch.role(currentHost: "algo-1", hosts: ["algo-2", "algo-1", "algo-3"], environment: [:])
                == .primary(hosts: ["algo-1", "algo-2", "algo-3"]))
        #expect(MultiHostLaunch.role(currentHost: "algo-3", hosts: ["algo-2", "algo-1", "algo-3"], environment: [:])
                == .worker(primary: "algo-1"))
        // Lexicographic, as SageMaker sorts: algo-10 comes before algo-2.
        #expect(MultiHostLaunch.role(currentHost: "algo-10", hosts: ["algo-2", "algo-10"], environment: [:])
                == .primary(hosts: ["algo-10", "algo-2"]))
    }

    @Test("a process mpirun started is a rank, whatever resourceconfig.json says (it must not launch mpirun again)")
    func rankUnderMPI() {
        let environment = ["OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_RANK": "1"]
        #expect(MultiHostLaunch.role(currentHost: "algo-1", hosts: ["algo-1", "algo-2"], environment: environment) == .rank)
        #expect(MultiHostLaunch.role(currentHost: "algo-1", hosts: ["algo-1"], environment: ["PMIX_RANK": "0"]) == .rank)
    }

    @Test("mpirun's arguments: one process per host, the resourceconfig interface, the environment the ranks need, the command")
    func arguments() {
        let environment = [
            "SM_HP_EPOCHS": "3", "SM_CURRENT_HOST": "algo-1", "SM_RESOURCE_CONFIG": "{}", "SM_TRAINING_ENV": "{}",
            "SM_CURRENT_INSTANCE_TYPE": "ml.c5.xlarge", "CURRENT_HOST": "algo-1",
            "MLC_ALGORITHM": "kmeans", "SAGEMAKER_BASE_DIR": "/opt/ml", "MLC_COLLECTIVE_TIMEOUT_SECONDS": "900",
            "PATH": "/usr/bin", "HOME": "/root", "AWS_SECRET_ACCESS_KEY": "x", "TRAINING_JOB_NAME": "job",
        ]
        let args = MultiHostLaunch.mpirunArguments(hosts: ["algo-1", "algo-2"], networkInterface: "eth1",
                                                   executable: "/usr/local/bin/mlc", arguments: ["train", "--no-progress"],
                                                   environment: environment)
        #expect(args == [
            "--allow-run-as-root",
            "-H", "algo-1:1,algo-2:1", "-np", "2",
            "--bind-to", "none", "--tag-output",
            "--mca", "btl_tcp_if_include", "eth1",
            "--mca", "oob_tcp_if_include", "eth1",
            "--mca", "plm_rsh_no_tree_spawn", "1",
            "--mca", "orte_abort_on_non_zero_status", "1",
            "-x", "MLC_ALGORITHM", "-x", "MLC_COLLECTIVE_TIMEOUT_SECONDS", "-x", "PATH", "-x", "SAGEMAKER_BASE_DIR",
            "-x", "SM_HP_EPOCHS", "-x", "TRAINING_JOB_NAME",
            "/usr/local/bin/mlc", "train", "--no-progress",
        ])
    }

    @Test("the wait of the other hosts ends when no orted is left")
    func daemonDetection() {
        #expect(MultiHostLaunch.containsMPIDaemon(["bash\n", "orted\n", "mlc\n"]))
        #expect(!MultiHostLaunch.containsMPIDaemon(["bash\n", "sshd\n", "orterun\n"]))
    }
}
#endif

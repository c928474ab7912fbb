import Foundation
import MLTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Whether this machine lets an unprivileged process make a user + mount namespace and mount a
/// tmpfs in it (`unshare -rm`): the disk-full and read-only tests need it. Containers without
/// user namespaces (or with a seccomp profile that forbids `unshare`) skip those tests.
let mountNamespaces: Bool = {
    guard let unshare = toolPath("unshare"),
          let run = try? runBounded(unshare, ["-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt && umount /mnt"], seconds: 20)
    else { return false }
    return run.status == 0
}()

/// `mlc train` against faults of its environment, in real processes (docs/reliability.md
/// "Faults"): a full disk and a read-only or unwritable output directory (a tiny tmpfs in a
/// private mount namespace), data over the memory budget, and the kill -9 / SIGTERM script.
@Suite("mlc train under faults: full disk, read-only output, memory budget, kill -9", .serialized)
struct FaultProcessTests {
    /// Runs `script` in a private user + mount namespace as `sh -c`, with `$MLC` the built mlc
    /// and `$ROOT` the training tree; returns what it printed.
    func inNamespace(_ root: TemporaryDirectory, _ script: String) throws -> BoundedRun {
        let mlc = try builtProduct("mlc")
        // invariant: mountNamespaces checked that unshare is there
        return try runBounded(toolPath("unshare")!, ["-rm", "sh", "-c", "MLC='\(mlc)'; ROOT='\(root.path)'; " + script], seconds: 300)
    }

    /// `freePages` 0: no file fits; 1: `model.safetensors` fits and `model.json` does not — the
    /// case that used to leave a tensor file without its `model.json`.
    @Test("model directory on a full tmpfs: exit 1, the failure names the directory and ENOSPC, no file of the model left",
          .enabled(if: mountNamespaces, "needs user + mount namespaces (unshare -rm), which this machine does not allow"),
          arguments: [0, 1])
    func modelDiskFull(freePages: Int) throws {
        let root = try trainingTree()
        defer { root.remove() }
        // A 64 KiB tmpfs (16 pages) filled up but for `freePages` pages.
        let run = try inNamespace(root, """
            mkdir -p "$ROOT/model" && mount -t tmpfs -o size=64k tmpfs "$ROOT/model" && \
            (dd if=/dev/zero of="$ROOT/model/filler" bs=4k count=\(16 - freePages) 2>/dev/null; true) && \
            "$MLC" train --algorithm linear-learner --root "$ROOT" --no-progress >"$ROOT/stdout.log" 2>"$ROOT/stderr.log"; \
            echo "status=$?"; ls -A "$ROOT/model"
            """)
        #expect(run.stdout.contains("status=1"), "\(run.stdout) \(run.stderr)")
        // Only the filler: no model file, no staging directory, no temporary file.
        #expect(run.stdout.split(separator: "\n").dropFirst().map(String.init) == ["filler"], "\(run.stdout)")
        let failure = trainingLog(root, "output/failure")
        #expect(failure.hasPrefix("ClientError: cannot write the model to \(root.path)/model"), "\(failure)")
        #expect(failure.contains("ENOSPC"), "\(failure)")
    }

    @Test("checkpoint directory on a full tmpfs: exit 1 naming the checkpoint and ENOSPC; no temporary file left",
          .enabled(if: mountNamespaces, "needs user + mount namespaces (unshare -rm), which this machine does not allow"))
    func checkpointDiskFull() throws {
        let root = try trainingTree()
        defer { root.remove() }
        let run = try inNamespace(root, """
            mkdir -p "$ROOT/checkpoints" && mount -t tmpfs -o size=64k tmpfs "$ROOT/checkpoints" && \
            (dd if=/dev/zero of="$ROOT/checkpoints/filler" bs=1k count=1000 2>/dev/null; true) && \
            "$MLC" train --algorithm linear-learner --root "$ROOT" --no-progress >"$ROOT/stdout.log" 2>"$ROOT/stderr.log"; \
            echo "status=$?"; ls -A "$ROOT/checkpoints"
            """)
        #expect(run.stdout.contains("status=1"), "\(run.stdout) \(run.stderr)")
        #expect(run.stdout.split(separator: "\n").dropFirst().map(String.init) == ["filler"], "\(run.stdout)")
        let failure = trainingLog(root, "output/failure")
        #expect(failure.hasPrefix("ClientError: cannot write the checkpoint \(root.path)/checkpoints/"), "\(failure)")
        #expect(failure.contains("ENOSPC"), "\(failure)")
    }

    @Test("model directory on a read-only mount: exit 1 naming the directory and EROFS, nothing written",
          .enabled(if: mountNamespaces, "needs user + mount namespaces (unshare -rm), which this machine does not allow"))
    func modelReadOnly() throws {
        let root = try trainingTree()
        defer { root.remove() }
        let run = try inNamespace(root, """
            mkdir -p "$ROOT/model" && mount -t tmpfs -o ro,size=64k tmpfs "$ROOT/model" && \
            "$MLC" train --algorithm linear-learner --root "$ROOT" --no-progress >"$ROOT/stdout.log" 2>"$ROOT/stderr.log"; \
            echo "status=$?"; ls -A "$ROOT/model"
            """)
        #expect(run.stdout.contains("status=1"), "\(run.stdout) \(run.stderr)")
        #expect(run.stdout.split(separator: "\n").count == 1, "nothing in the model directory: \(run.stdout)")
        let failure = trainingLog(root, "output/failure")
        #expect(failure.hasPrefix("ClientError: cannot write the model to \(root.path)/model"), "\(failure)")
        #expect(failure.contains("EROFS"), "\(failure)")
    }

    @Test("model directory not writable (chmod 555, as a non-root user): exit 1 naming the directory and EACCES",
          .enabled(if: getuid() != 0, "root writes through chmod 555; the read-only mount test covers this case as root"))
    func modelNotWritable() throws {
        let root = try trainingTree()
        defer {
            chmod(root.path + "/model", 0o755)
            root.remove()
        }
        try FileManager.default.createDirectory(atPath: root.path + "/model", withIntermediateDirectories: true)
        chmod(root.path + "/model", 0o555)
        let p = try startTraining(root, algorithm: "linear-learner")
        p.waitUntilExit()
        #expect(p.terminationStatus == 1)
        #expect((try? FileManager.default.contentsOfDirectory(atPath: root.path + "/model")) == [])
        let failure = trainingLog(root, "output/failure")
        #expect(failure.contains("\(root.path)/model") && failure.contains("EACCES"), "\(failure)")
    }

    @Test("XGBoost over MLC_MEMORY_BUDGET_MB: exit 1 before reading, the failure says how many bytes were needed and the budget")
    func memoryBudget() throws {
        let root = try trainingTree(
            hyperparameters: #"{"num_round": "5", "objective": "binary:logistic"}"#,
            channels: #"{"train": {"ContentType": "text/csv", "TrainingInputMode": "File"}, "validation": {"ContentType": "text/csv", "TrainingInputMode": "File"}}"#)
        defer { root.remove() }
        let mlc = try builtProduct("mlc")
        var environment = ProcessInfo.processInfo.environment
        environment["MLC_MEMORY_BUDGET_MB"] = "0.05"
        let run = try runBounded(mlc, ["train", "--algorithm", "xgboost", "--root", root.path, "--no-progress"], environment: environment, seconds: 120)
        #expect(run.status == 1, "\(run.stdout) \(run.stderr)")
        let failure = trainingLog(root, "output/failure")
        #expect(failure.hasPrefix("ClientError: XGBoost's channels in memory"), "\(failure)")
        #expect(failure.contains("needs about") && failure.contains("bytes") && failure.contains("(52428 bytes)")
                && failure.contains("MLC_MEMORY_BUDGET_MB"), "\(failure)")
        #expect((try? FileManager.default.contentsOfDirectory(atPath: root.path + "/model")) ?? [] == [])
        // The same job within the default budget trains.
        let fine = try runBounded(mlc, ["train", "--algorithm", "xgboost", "--root", root.path, "--no-progress"], seconds: 120)
        #expect(fine.status == 0, "\(fine.stderr)")
    }

    @Test("scripts/fault-kill.sh --quick: kill -9 at random points then restart ends byte-identical, SIGTERM gives a valid model, for every algorithm")
    func killScript() throws {
        let script = repositoryRoot.appendingPathComponent("scripts/fault-kill.sh").path
        let run = try runBounded("/bin/bash", [script, "--quick", "--mlc", try builtProduct("mlc")], seconds: 900)
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        for algorithm in ["linear-learner", "pca", "kmeans", "xgboost", "image-classification"] {
            #expect(run.stdout.contains("| \(algorithm)"), "\(run.stdout)")
        }
        #expect(run.stdout.contains("all trials: the final model byte-identical"), "\(run.stdout)\n\(run.stderr)")
    }
}

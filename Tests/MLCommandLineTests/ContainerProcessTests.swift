import MLAlgorithms
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The real `mlc` executable as a container runs it, stopped by real signals: SageMaker's
/// `StopTrainingJob` (SIGTERM, then SIGKILL after 120 s) and a host that goes away (`kill -9`).
@Suite("mlc train under real signals", .serialized)
struct ContainerProcessTests {
    /// 60 short epochs on the digits (about 30 ms each), with early stopping out of the way.
    let hyperparameters = #"{"predictor_type": "multiclass_classifier", "num_classes": "10", "mini_batch_size": "4", "epochs": "60", "early_stopping_patience": "60"}"#
    let channels = #"{"train": {"ContentType": "text/csv"}, "validation": {"ContentType": "text/csv"}}"#

    /// `mlc train` on `root` as a child process, its output captured into files.
    func start(_ root: TemporaryDirectory) throws -> Process { try startTraining(root, algorithm: "linear-learner") }

    func log(_ root: TemporaryDirectory, _ name: String = "stdout.log") -> String { trainingLog(root, name) }

    func waitForCheckpoint(_ root: TemporaryDirectory, epoch: Int, while process: Process) -> Bool {
        waitForCheckpointFile(root, epoch: epoch, while: process, seconds: 60)
    }

    func reference() throws -> TemporaryDirectory {
        let root = try trainingTree(hyperparameters: hyperparameters, channels: channels, dataSet: "digits")
        let p = try start(root)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(log(root, "stderr.log"))")
        return root
    }

    @Test("kill -9 in the middle, restart: the final model files are byte-identical to an uninterrupted run")
    func killNine() throws {
        let reference = try reference()
        let killed = try trainingTree(hyperparameters: hyperparameters, channels: channels, dataSet: "digits")
        defer { reference.remove(); killed.remove() }

        let p = try start(killed)
        #expect(waitForCheckpoint(killed, epoch: 5, while: p), "no checkpoint of epoch 5 appeared: \(log(killed, "stderr.log"))")
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(p.terminationReason == .uncaughtSignal && p.terminationStatus == SIGKILL)
        // Killed before the end: no model yet, so the restart really resumes.
        #expect(!FileManager.default.fileExists(atPath: killed.path + "/model/model.safetensors"))

        let restart = try start(killed)
        restart.waitUntilExit()
        #expect(restart.terminationStatus == 0, "\(log(killed, "stderr.log"))")
        #expect(log(killed).contains("Resuming from checkpoint "))
        for file in ["model.safetensors", "model.json"] {
            let expected = contents(reference.path + "/model/" + file)
            #expect(!expected.isEmpty && contents(killed.path + "/model/" + file) == expected, "\(file)")
        }
    }

    @Test("SIGTERM: stops after the current step, writes a valid model and a checkpoint, exits 0 within seconds; the restart finishes with the uninterrupted run's model")
    func sigterm() throws {
        let reference = try reference()
        let stopped = try trainingTree(hyperparameters: hyperparameters, channels: channels, dataSet: "digits")
        defer { reference.remove(); stopped.remove() }

        let p = try start(stopped)
        #expect(waitForCheckpoint(stopped, epoch: 3, while: p))
        let signalled = Date()
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        let seconds = Date().timeIntervalSince(signalled)
        #expect(p.terminationReason == .exit && p.terminationStatus == 0, "\(log(stopped, "stderr.log"))")
        #expect(seconds < 10, "took \(seconds) s to stop")
        #expect(log(stopped, "stderr.log").contains("SIGTERM received"))
        #expect(log(stopped).contains("Stopped in epoch "))
        #expect(failure(stopped) == nil)
        let model = try LinearModel.load(from: stopped.path + "/model")
        #expect(model.layout.features == 64 && model.layout.outputs == 10)

        let restart = try start(stopped)
        restart.waitUntilExit()
        #expect(restart.terminationStatus == 0)
        #expect(log(stopped).contains("Resuming from checkpoint "))
        for file in ["model.safetensors", "model.json"] {
            #expect(contents(stopped.path + "/model/" + file) == contents(reference.path + "/model/" + file), "\(file)")
        }
    }
}

import Foundation
import MLAlgorithms
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The image classifier in a real `mlc` process stopped by real signals: SIGTERM (SageMaker's
/// `StopTrainingJob`) and `kill -9` (a host that goes away), each followed by a restart that must
/// end with the uninterrupted run's model bytes.
@Suite("mlc train --algorithm image-classification under real signals", .serialized)
struct ImageClassificationProcessTests {
    /// A ResNet-20 on the bundled digits as 8×8 gray images (MXNet .rec), 8 epochs with
    /// augmentation, so a run takes some seconds and checkpoints often.
    let hyperparameters = ["num_classes": "10", "num_training_samples": "1437", "num_layers": "20", "image_shape": "1,8,8",
                           "epochs": "8", "mini_batch_size": "32", "optimizer": "adam", "learning_rate": "0.003",
                           "augmentation_type": "crop_color"]

    func tree() throws -> TemporaryDirectory {
        let channels = #"{"train": {"ContentType": "application/x-recordio"}, "validation": {"ContentType": "application/x-recordio"}}"#
        let root = try imageTree(hyperparameters: hyperparameters, train: 0, validation: 0, channels: channels)
        let data = root.path + "/input/data"
        for name in ["train", "validation", "train_lst", "validation_lst"] { try? FileManager.default.removeItem(atPath: data + "/" + name) }
        for name in ["train", "validation"] {
            try FileManager.default.createDirectory(atPath: data + "/" + name, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: repositoryRoot.path + "/data/digits-images/\(name).rec", toPath: data + "/\(name)/\(name).rec")
        }
        return root
    }

    func start(_ root: TemporaryDirectory) throws -> Process { try startTraining(root, algorithm: "image-classification") }

    func log(_ root: TemporaryDirectory, _ name: String = "stdout.log") -> String { trainingLog(root, name) }

    func waitForCheckpoint(_ root: TemporaryDirectory, epoch: Int, while process: Process) -> Bool {
        waitForCheckpointFile(root, epoch: epoch, while: process, seconds: 120)
    }

    @Test("SIGTERM mid-epoch: a valid model and exit 0 within seconds; kill -9: no model; each restart ends with the uninterrupted run's bytes")
    func stoppedAndKilled() throws {
        let reference = try tree()
        defer { reference.remove() }
        let whole = try start(reference)
        whole.waitUntilExit()
        #expect(whole.terminationStatus == 0, "\(log(reference, "stderr.log"))")

        let stopped = try tree()
        defer { stopped.remove() }
        let p = try start(stopped)
        #expect(waitForCheckpoint(stopped, epoch: 2, while: p), "no checkpoint after epoch 2: \(log(stopped, "stderr.log"))")
        usleep(300_000)  // into epoch 3
        let signalled = Date()
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        let seconds = Date().timeIntervalSince(signalled)
        #expect(p.terminationReason == .exit && p.terminationStatus == 0, "\(log(stopped, "stderr.log"))")
        #expect(seconds < 10, "took \(seconds) s to stop")
        #expect(log(stopped).contains("Stopped in epoch "))
        #expect(failure(stopped) == nil)
        let partial = try ImageClassifierModel.load(from: stopped.path + "/model")
        #expect(partial.classes == 10 && partial.numLayers == 20)
        let restart = try start(stopped)
        restart.waitUntilExit()
        #expect(restart.terminationStatus == 0)
        #expect(log(stopped).contains("Resuming from checkpoint "))

        let killed = try tree()
        defer { killed.remove() }
        let k = try start(killed)
        #expect(waitForCheckpoint(killed, epoch: 3, while: k))
        kill(k.processIdentifier, SIGKILL)
        k.waitUntilExit()
        #expect(k.terminationReason == .uncaughtSignal)
        #expect(!FileManager.default.fileExists(atPath: killed.path + "/model/model.safetensors"))
        let again = try start(killed)
        again.waitUntilExit()
        #expect(again.terminationStatus == 0, "\(log(killed, "stderr.log"))")
        // After the restart only complete checkpoints remain (a write the kill cut short is removed).
        let leftovers = ((try? FileManager.default.contentsOfDirectory(atPath: killed.path + "/checkpoints")) ?? []).filter { !$0.hasSuffix(".ckpt") }
        #expect(leftovers.isEmpty, "\(leftovers)")

        for file in ["model.safetensors", "model.json"] {
            let expected = contents(reference.path + "/model/" + file)
            #expect(!expected.isEmpty)
            #expect(contents(stopped.path + "/model/" + file) == expected, "SIGTERM + restart: \(file)")
            #expect(contents(killed.path + "/model/" + file) == expected, "kill -9 + restart: \(file)")
        }
    }
}

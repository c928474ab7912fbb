import Foundation
import MLAlgorithms
@testable import MLContainer
import MLCore
import MLTestSupport
import Testing
@testable import MLCommandLine

/// An `/opt/ml` tree for the image classifier: the first `train` / `validation` images of the
/// bundled data/shapes (PNG and JPEG files, 32×32 RGB, six classes) as `train` / `validation`
/// channels with their `.lst` files in `train_lst` / `validation_lst`, as SageMaker lays out
/// application/x-image channels.
func imageTree(hyperparameters: [String: String], train: Int = 96, validation: Int = 48,
               channels: String = #"{"train": {"ContentType": "application/x-image"}, "validation": {"ContentType": "application/x-image"}, "train_lst": {"ContentType": "application/x-image"}, "validation_lst": {"ContentType": "application/x-image"}}"#) throws -> TemporaryDirectory {
    let root = try TemporaryDirectory()
    let fm = FileManager.default
    try fm.createDirectory(atPath: root.path + "/input/config", withIntermediateDirectories: true)
    for (split, count) in [("train", train), ("validation", validation)] {
        let source = repositoryRoot.appendingPathComponent("data/shapes/\(split)").path
        let lines = try String(contentsOfFile: source + ".lst", encoding: .utf8).split(separator: "\n").prefix(count)
        for line in lines {
            let path = String(line.split(separator: "\t")[2])
            let target = root.path + "/input/data/\(split)/" + path
            try fm.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try fm.copyItem(atPath: source + "/" + path, toPath: target)
        }
        try fm.createDirectory(atPath: root.path + "/input/data/\(split)_lst", withIntermediateDirectories: true)
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: root.path + "/input/data/\(split)_lst/\(split).lst"))
    }
    let json = try JSONSerialization.data(withJSONObject: hyperparameters, options: [.sortedKeys])
    try json.write(to: URL(fileURLWithPath: root.path + "/input/config/hyperparameters.json"))
    try Data(channels.utf8).write(to: URL(fileURLWithPath: root.path + "/input/config/inputdataconfig.json"))
    return root
}

let shapesHyperparameters = ["num_classes": "6", "num_training_samples": "96", "num_layers": "20", "image_shape": "3,32,32",
                             "epochs": "2", "mini_batch_size": "16", "learning_rate": "0.05", "top_k": "2"]

@Suite("Image classification in the container: train, resume, continue, predict, serve", .serialized)
struct ImageClassificationContainerTests {
    @Test("trains on image files listed by .lst: SageMaker's per-epoch lines, the best model, epoch checkpoints, metrics")
    func trainsOnListedImages() throws {
        var hp = shapesHyperparameters
        hp["checkpoint_frequency"] = "1"
        hp["augmentation_type"] = "crop_color_transform"
        hp["resize"] = "36"
        let root = try imageTree(hyperparameters: hp)
        defer { root.remove() }
        let run = mlc(["train", "--algorithm", "image-classification", "--root", root.path, "--workers", "2"])
        #expect(run.status == 0, "\(run.stderr) \(failure(root) ?? "")")
        let lines = run.lines
        for prefix in ["Epoch[0] Train-accuracy=", "Epoch[0] Train-top_k_accuracy_2=", "Epoch[0] Time cost=", "Epoch[0] Validation-accuracy=",
                       "Epoch[0] Validation-top_k_accuracy_2=", "Epoch[1] Validation-accuracy=", "Storing the best model with validation accuracy: "] {
            #expect(lines.contains { $0.hasPrefix(prefix) }, "no line starts with \(prefix)")
        }
        // The reference's log format: six decimals for metrics, three for the time.
        let accuracy = try Regex(#"Epoch\[(\d+)\] Validation-accuracy=([0-9]\.[0-9]{6})"#)
        #expect(lines.filter { $0.wholeMatch(of: accuracy) != nil }.count == 2)
        #expect(lines.contains { $0.wholeMatch(of: try! Regex(#"Epoch\[1\] Time cost=[0-9]+\.[0-9]{3}"#)) != nil })
        for epoch in [1, 2] {
            let path = root.path + "/model/" + ImageClassificationJob.epochCheckpointName(epoch)
            #expect(lines.contains("Saved checkpoint to \"\(path)\""))
            #expect(FileManager.default.fileExists(atPath: path))
        }
        let model = try ImageClassifierModel.load(from: root.path + "/model")
        #expect(model.numLayers == 20 && model.classes == 6 && model.imageShape == FeatureShape(channels: 3, height: 32, width: 32))
        // torchvision's names: conv1, bn1, layer1.0.conv1, …, fc.
        let names = Set(try Safetensors.read(path: root.path + "/model/model.safetensors").tensors.keys)
        #expect(names.contains("conv1.weight") && names.contains("layer3.2.bn2.running_var") && names.contains("fc.bias"))
        #expect(FileManager.default.fileExists(atPath: root.path + "/output/data/metrics.json"))
        #expect(!FileManager.default.fileExists(atPath: root.path + "/output/failure"))
    }

    @Test("a job stopped after an epoch resumes from its checkpoint to the same model bytes as an uninterrupted one")
    func resumesToTheSameBytes() throws {
        var hp = shapesHyperparameters
        hp["epochs"] = "3"
        hp["augmentation_type"] = "crop"
        let whole = try imageTree(hyperparameters: hp, train: 64, validation: 32)
        defer { whole.remove() }
        #expect(mlc(["train", "--algorithm", "image-classification", "--root", whole.path, "--workers", "2"]).status == 0)
        // The same job with epochs=1 leaves a checkpoint after epoch 1; the rerun with 3 continues from it.
        hp["epochs"] = "1"
        let cut = try imageTree(hyperparameters: hp, train: 64, validation: 32)
        defer { cut.remove() }
        #expect(mlc(["train", "--algorithm", "image-classification", "--root", cut.path, "--workers", "1"]).status == 0)
        hp["epochs"] = "3"
        try JSONSerialization.data(withJSONObject: hp, options: [.sortedKeys]).write(to: URL(fileURLWithPath: cut.path + "/input/config/hyperparameters.json"))
        let again = mlc(["train", "--algorithm", "image-classification", "--root", cut.path, "--workers", "3"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.lines.contains { $0.hasPrefix("Resuming from checkpoint") })
        #expect(!again.lines.contains { $0.hasPrefix("Epoch[0]") })
        #expect(contents(cut.path + "/model/model.safetensors") == contents(whole.path + "/model/model.safetensors"))
        #expect(contents(cut.path + "/model/model.json") == contents(whole.path + "/model/model.json"))
        // kv_store=dist_sync trains through the parameter server: the same weights as all-reduce.
        hp["kv_store"] = "dist_sync"
        let served = try imageTree(hyperparameters: hp, train: 64, validation: 32)
        defer { served.remove() }
        let run = mlc(["train", "--algorithm", "image-classification", "--root", served.path, "--workers", "2"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.lines.contains { $0.hasPrefix("kv_store=dist_sync: through the parameter server") })
        #expect(contents(served.path + "/model/model.safetensors") == contents(whole.path + "/model/model.safetensors"))
    }

    @Test("the model channel continues a previous job (directory or model.tar.gz); a different num_classes is refused")
    func incrementalTraining() throws {
        let first = try imageTree(hyperparameters: shapesHyperparameters, train: 48, validation: 24)
        defer { first.remove() }
        #expect(mlc(["train", "--algorithm", "image-classification", "--root", first.path]).status == 0)
        let tar = try runProcess("/bin/tar", ["-czf", first.path + "/model.tar.gz", "-C", first.path + "/model", "model.json", "model.safetensors"])
        #expect(tar.status == 0)
        let channels = #"{"train": {"ContentType": "application/x-image"}, "train_lst": {}, "validation": {"ContentType": "application/x-image"}, "validation_lst": {}, "model": {"ContentType": "application/x-sagemaker-model"}}"#
        let second = try imageTree(hyperparameters: shapesHyperparameters, train: 48, validation: 24, channels: channels)
        defer { second.remove() }
        try FileManager.default.createDirectory(atPath: second.path + "/input/data/model", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: first.path + "/model.tar.gz", toPath: second.path + "/input/data/model/model.tar.gz")
        let run = mlc(["train", "--algorithm", "image-classification", "--root", second.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.lines.contains { $0.hasPrefix("Continuing from the model") })
        var other = shapesHyperparameters
        other["num_classes"] = "7"
        let third = try imageTree(hyperparameters: other, train: 48, validation: 24, channels: channels)
        defer { third.remove() }
        try FileManager.default.createDirectory(atPath: third.path + "/input/data/model", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: first.path + "/model/model.json", toPath: third.path + "/input/data/model/model.json")
        try FileManager.default.copyItem(atPath: first.path + "/model/model.safetensors", toPath: third.path + "/input/data/model/model.safetensors")
        let refused = mlc(["train", "--algorithm", "image-classification", "--root", third.path])
        #expect(refused.status == 1)
        #expect(failure(third)?.hasPrefix("ClientError:") == true)
        #expect(failure(third)?.contains("num_classes 6 (this job: 7)") == true, "\(failure(third) ?? "")")
    }

    @Test("MXNet RecordIO in Pipe mode: the digits as 8×8 gray images")
    func trainsOnRecordIOInPipeMode() throws {
        let hp = ["num_classes": "10", "num_training_samples": "1437", "num_layers": "20", "image_shape": "1,8,8", "epochs": "2",
                  "mini_batch_size": "64", "optimizer": "adam", "learning_rate": "0.003"]
        let channels = #"{"train": {"ContentType": "application/x-recordio", "TrainingInputMode": "Pipe"}, "validation": {"ContentType": "application/x-recordio"}}"#
        let root = try imageTree(hyperparameters: hp, train: 0, validation: 0, channels: channels)
        defer { root.remove() }
        let data = root.path + "/input/data"
        for name in ["train", "validation", "train_lst", "validation_lst"] { try? FileManager.default.removeItem(atPath: data + "/" + name) }
        try FileManager.default.createDirectory(atPath: data + "/validation", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: repositoryRoot.path + "/data/digits-images/validation.rec", toPath: data + "/validation/validation.rec")
        let source = repositoryRoot.path + "/data/digits-images/train.rec"
        let writer = try shell("mkfifo '\(data)/train_0' && cat '\(source)' > '\(data)/train_0'")
        defer { if writer.isRunning { writer.terminate() } }
        let run = try runProcess(try builtProduct("mlc"), ["train", "--algorithm", "image-classification", "--root", root.path, "--workers", "2"])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("Channel train: 1437 images (application/x-recordio)") })
        let accuracy = lines.compactMap { $0.firstMatch(of: /Epoch\[1\] Validation-accuracy=(\S+)/).flatMap { Double(String($0.1)) } }
        #expect((accuracy.first ?? 0) > 0.8, "\(accuracy)")
    }

    @Test("NPY tensors train as the layers' trainer reads them, and the model serves NPY and images")
    func trainsOnTensors() throws {
        let hp = ["num_classes": "3", "num_training_samples": "30", "num_layers": "20", "image_shape": "1,8,8", "epochs": "2",
                  "mini_batch_size": "10"]
        let channels = #"{"train": {"ContentType": "application/x-npy"}}"#
        let root = try imageTree(hyperparameters: hp, train: 0, validation: 0, channels: channels)
        defer { root.remove() }
        let data = root.path + "/input/data"
        for name in ["train", "validation", "train_lst", "validation_lst"] { try? FileManager.default.removeItem(atPath: data + "/" + name) }
        try FileManager.default.createDirectory(atPath: data + "/train", withIntermediateDirectories: true)
        var random = RandomStream(seed: 5)
        try NPYWriter.write((0..<(30 * 64)).map { _ in random.nextFloat() }, shape: [30, 1, 8, 8], to: data + "/train/images.npy")
        try NPYWriter.write((0..<30).map { Float($0 % 3) }, to: data + "/train/labels.npy")
        let run = mlc(["train", "--algorithm", "image-classification", "--root", root.path])
        #expect(run.status == 0, "\(run.stderr) \(failure(root) ?? "")")
        #expect(run.lines.contains("No validation channel: the model of the last epoch is kept"))
        let model = try ImageClassifierModel.load(from: root.path + "/model")
        // Tensor-trained models take images scaled to [0, 1] (no ImageNet statistics).
        #expect(model.normalization == InputNormalization(mean: [0], std: [1]))
        let handler = try InferenceHandlers.load(algorithm: "image-classification", modelDirectory: root.path + "/model")
        let response = handler.invoke(InvocationRequest(contentType: "application/x-npy", accept: nil,
                                                        body: NPYWriter.header(for: Float.self, shape: [2, 1, 8, 8])
                                                            + [Float](repeating: 0.5, count: 2 * 64).withUnsafeBytes { Array($0) }))
        #expect(response.status == 200)
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [[Double]])
        #expect(rows.count == 2 && rows.allSatisfy { $0.count == 3 && abs($0.reduce(0, +) - 1) < 1e-5 })
    }

    @Test("bad input is a ClientError naming the file: a .lst path outside the channel, a corrupt image, a too-small image")
    func refusesBadInput() throws {
        func failed(_ edit: (String) throws -> Void, hyperparameters: [String: String] = shapesHyperparameters) throws -> String {
            let root = try imageTree(hyperparameters: hyperparameters, train: 12, validation: 6)
            defer { root.remove() }
            try edit(root.path + "/input/data")
            let run = mlc(["train", "--algorithm", "image-classification", "--root", root.path])
            #expect(run.status == 1)
            let text = failure(root) ?? ""
            #expect(text.hasPrefix("ClientError:"), "\(text)")
            return text
        }
        let outside = try failed { data in
            try Data("0\t1\t../../config/hyperparameters.json\n".utf8).write(to: URL(fileURLWithPath: data + "/train_lst/train.lst"))
        }
        #expect(outside.contains("train.lst:1"), "\(outside)")
        let corrupt = try failed { data in
            let first = try String(contentsOfFile: data + "/train_lst/train.lst", encoding: .utf8).split(separator: "\n")[0].split(separator: "\t")[2]
            try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3]).write(to: URL(fileURLWithPath: data + "/train/" + first))
        }
        #expect(corrupt.contains("/train/"), "\(corrupt)")
        var large = shapesHyperparameters
        large["image_shape"] = "3,40,40"
        let small = try failed({ _ in }, hyperparameters: large)
        #expect(small.contains("smaller than image_shape"), "\(small)")
        var early = shapesHyperparameters
        early["early_stopping"] = "true"
        let noValidation = try imageTree(hyperparameters: early, train: 12, validation: 6, channels: #"{"train": {"ContentType": "application/x-image"}, "train_lst": {}}"#)
        defer { noValidation.remove() }
        #expect(mlc(["train", "--algorithm", "image-classification", "--root", noValidation.path]).status == 1)
        #expect(failure(noValidation)?.contains("early_stopping") == true)
    }

    @Test("serving and mlc predict: one image per request, a bare JSON array of probabilities; JSON Lines; errors as 4xx")
    func servesAndPredicts() throws {
        let root = try imageTree(hyperparameters: shapesHyperparameters, train: 48, validation: 24)
        defer { root.remove() }
        #expect(mlc(["train", "--algorithm", "image-classification", "--root", root.path]).status == 0)
        let handler = try InferenceHandlers.load(algorithm: "image-classification", modelDirectory: root.path + "/model")
        let list = try String(contentsOfFile: root.path + "/input/data/validation_lst/validation.lst", encoding: .utf8).split(separator: "\n")
        let png = String(try #require(list.first { $0.hasSuffix(".png") }).split(separator: "\t")[2])
        let body = Array(contents(root.path + "/input/data/validation/" + png))
        let response = handler.invoke(InvocationRequest(contentType: "image/png", accept: "application/json", body: body))
        #expect(response.status == 200 && response.contentType == "application/json")
        let probabilities = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [Double])
        #expect(probabilities.count == 6 && abs(probabilities.reduce(0, +) - 1) < 1e-5)
        // application/x-image and a larger image (resized, aspect not kept) answer too.
        let bigger = try ImageDecoder.decode(body, source: png).resized(width: 50, height: 40).jpegData()
        #expect(handler.invoke(InvocationRequest(contentType: "application/x-image", accept: nil, body: bigger)).status == 200)
        let lines = handler.invoke(InvocationRequest(contentType: "image/png", accept: "application/jsonlines", body: body))
        #expect(lines.status == 200 && String(decoding: lines.body, as: UTF8.self).hasPrefix("{\"prediction\": ["))
        #expect(handler.invoke(InvocationRequest(contentType: "text/csv", accept: nil, body: [1])).status == 415)
        #expect(handler.invoke(InvocationRequest(contentType: "image/png", accept: "text/csv", body: body)).status == 406)
        #expect(handler.invoke(InvocationRequest(contentType: "image/png", accept: nil, body: Array(body.prefix(40)))).status == 400)
        #expect(handler.invoke(InvocationRequest(contentType: "image/jpeg", accept: nil, body: [1, 2, 3])).status == 400)
        // A .rec of two images answers an array of two arrays.
        let rec = try MXNetImageRecordReader.encode([MXNetImageRecord(labels: [0], image: body), MXNetImageRecord(labels: [1], image: bigger)])
        let batch = handler.invoke(InvocationRequest(contentType: "application/x-recordio", accept: nil, body: rec))
        #expect(batch.status == 200)
        #expect((try JSONSerialization.jsonObject(with: Data(batch.body)) as? [[Double]])?.count == 2)
        // mlc predict over a directory of images: one JSON array per file, in <name>.out.
        let output = root.path + "/predictions"
        let predict = mlc(["predict", "--model", root.path + "/model", "--input", root.path + "/input/data/validation", "--output", output])
        #expect(predict.status == 0, "\(predict.stderr)")
        let scored = try String(contentsOfFile: output + "/" + png + ".out", encoding: .utf8)
        let again = try #require(try JSONSerialization.jsonObject(with: Data(scored.utf8)) as? [Double])
        #expect(again == probabilities)
    }
}

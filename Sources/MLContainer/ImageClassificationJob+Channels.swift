import Foundation
import MLAlgorithms
import MLCore
import Synchronization

/// The content types an image-classification channel carries (reference §4.5).
enum ImageChannelFormat: String, Sendable, Equatable {
    /// MXNet image RecordIO (`.rec`): `application/x-recordio` (the default).
    case recordIO = "application/x-recordio"
    /// Image files listed by a `.lst` file: `application/x-image`, `image/jpeg`, `image/png`.
    case images = "application/x-image"
    /// Tensors: `images.npy` (`[N, C, H, W]`, uint8 or float32) and `labels.npy`.
    case npy = "application/x-npy"
    /// Dense RecordIO-protobuf records of `[C, H, W]` tensors.
    case recordIOProtobuf = "application/x-recordio-protobuf"

    static let imageEssences: Set<String> = ["application/x-image", "image/jpeg", "image/png", "image/jpg"]

    init(channel: ChannelConfiguration) throws(ContainerError) {
        guard let type = channel.contentType else {
            self = .recordIO
            return
        }
        switch type.essence {
        case "application/x-recordio": self = .recordIO
        case let e where Self.imageEssences.contains(e): self = .images
        case "application/x-npy": self = .npy
        case "application/x-recordio-protobuf": self = .recordIOProtobuf
        default:
            throw .client("channel '\(channel.name)': ContentType \(type.essence) is not one the image classifier reads; use "
                          + "application/x-recordio (MXNet .rec), application/x-image (or image/jpeg, image/png) with a .lst, "
                          + "application/x-npy or application/x-recordio-protobuf")
        }
        if channel.inputMode == .pipe && (self == .images || self == .npy) {
            throw .client("channel '\(channel.name)': \(rawValue) is read in File or FastFile mode, as SageMaker's image classifier reads "
                          + "image files; use application/x-recordio (.rec) in Pipe mode")
        }
    }

    /// Whether the images are 8-bit pixels (normalised by the model) rather than ready tensors.
    var isPixels: Bool { self == .recordIO || self == .images }
}

/// One channel's images, read and decoded.
struct LoadedImages: Sendable {
    var inputs: any NetworkInputs
    var format: ImageChannelFormat
    var bytesRead: Int
    var storedEncoded: Bool
}

extension ImageClassificationJob {
    /// Reads channel `name` into the trainer's inputs: pixels are decoded (and resized and
    /// checked) once, in parallel over `threads`; labels become class indices or multi-hot rows.
    func loadImages(_ channel: ChannelConfiguration, lists: ChannelConfiguration?, hyperparameters hp: ImageClassificationHyperparameters,
                    augmentation: ImageAugmentation, threads: Int, cancellation: CancellationFlag?) throws(ContainerError) -> LoadedImages {
        let format = try ImageChannelFormat(channel: channel)
        let classIDs = channel.contentType?.parameters["label-format"] == "class-id"
        switch format {
        case .npy, .recordIOProtobuf:
            let data = try tensorImages(channel, format: format)
            guard data.shape == hp.imageShape else {
                throw .client("channel '\(channel.name)': the tensors are \(data.shape), image_shape is \(hp.imageShape)")
            }
            let targets = try labelRows(data.targets, width: data.targetWidth, hyperparameters: hp, classIDs: classIDs,
                                        where: { "channel '\(channel.name)': row \($0 + 1)" })
            let inputs: ImageDataset
            do {
                inputs = try ImageDataset(shape: data.shape, images: data.images, targets: targets, targetWidth: hp.multiLabel ? hp.numClasses : 1)
            } catch {
                throw .client("channel '\(channel.name)': \(error)")
            }
            return LoadedImages(inputs: inputs, format: format, bytesRead: data.images.count * 4, storedEncoded: false)
        case .images, .recordIO:
            var encoded: [(bytes: [UInt8], source: String, labels: [Float])] = []
            if format == .images {
                encoded = try listedImages(channel, lists: lists)
            } else {
                encoded = try recordImages(channel, cancellation: cancellation)
            }
            guard !encoded.isEmpty else { throw .client("channel '\(channel.name)' holds no images") }
            var targets: [Float] = []
            for (i, item) in encoded.enumerated() {
                targets += try labelRows(item.labels, width: item.labels.count, hyperparameters: hp, classIDs: classIDs,
                                         where: { _ in encoded[i].source })
            }
            let decoded = try decodeAll(encoded.map { ($0.bytes, $0.source) }, hyperparameters: hp, threads: threads)
            let budget = Self.imageMemoryBudget(environment.environment)
            let total = decoded.reduce(0) { $0 + $1.pixels.count }
            let keepEncoded = total > budget
            let stored: [AugmentedImages.Stored] = keepEncoded
                ? encoded.map { .encoded($0.bytes, source: $0.source) }
                : decoded.map { .decoded($0) }
            let inputs: AugmentedImages
            do {
                inputs = try AugmentedImages(shape: hp.imageShape, images: stored, targets: targets,
                                             targetWidth: hp.multiLabel ? hp.numClasses : 1, augmentation: augmentation, resize: hp.resize)
            } catch {
                throw .client("channel '\(channel.name)': \(error)")
            }
            if keepEncoded {
                output.line("Channel \(channel.name): the decoded images need \(total >> 20) MiB, over the image memory budget of "
                            + "\(budget >> 20) MiB (MLC_IMAGE_MEMORY_MB); they are kept encoded and decoded again as they are used")
            }
            return LoadedImages(inputs: inputs, format: format, bytesRead: encoded.reduce(0) { $0 + $1.bytes.count }, storedEncoded: keepEncoded)
        }
    }

    /// The memory decoded training images may take: `MLC_IMAGE_MEMORY_MB`, else half of
    /// physical memory.
    static func imageMemoryBudget(_ environment: [String: String]) -> Int {
        if let text = environment["MLC_IMAGE_MEMORY_MB"], let mb = Int(text), mb >= 0 { return mb << 20 }
        return Int(ProcessInfo.processInfo.physicalMemory / 2)
    }

    /// A row's labels as the trainer's targets: one class index (single-label), or
    /// `num_classes` multi-hot values — given as such, or as class ids with
    /// `label-format=class-id` on the channel's content type.
    func labelRows(_ labels: [Float], width: Int, hyperparameters hp: ImageClassificationHyperparameters, classIDs: Bool,
                   where location: (Int) -> String) throws(ContainerError) -> [Float] {
        let rows = width > 0 ? labels.count / width : 0
        var out: [Float] = []
        out.reserveCapacity(hp.multiLabel ? rows * hp.numClasses : rows)
        func isClass(_ v: Float) -> Bool { v >= 0 && v < Float(hp.numClasses) && v.rounded() == v }
        for r in 0..<rows {
            let row = labels[(r * width)..<((r + 1) * width)]
            if !hp.multiLabel {
                guard row.count == 1, let label = row.first else {
                    throw .client("\(location(r)): \(row.count) labels, but multi_label=0 takes one class index per image")
                }
                guard isClass(label) else { throw .client("\(location(r)): label \(label) is not a class index in 0..<\(hp.numClasses) (num_classes)") }
                out.append(label)
            } else if classIDs {
                var hot = [Float](repeating: 0, count: hp.numClasses)
                for v in row {
                    guard isClass(v) else { throw .client("\(location(r)): class id \(v) is not in 0..<\(hp.numClasses) (num_classes)") }
                    hot[Int(v)] = 1
                }
                out += hot
            } else {
                guard row.count == hp.numClasses else {
                    throw .client("\(location(r)): \(row.count) labels, but multi_label=1 takes num_classes (\(hp.numClasses)) multi-hot values "
                                  + "per image (or class ids with ContentType …; label-format=class-id)")
                }
                for v in row where v != 0 && v != 1 {
                    throw .client("\(location(r)): multi-hot label \(v) is not 0 or 1")
                }
                out += row
            }
        }
        return out
    }

    /// The images a channel's `.lst` files list — from the `<channel>_lst` channel, else the
    /// `.lst` files inside the channel — with their labels; paths resolve inside the channel.
    func listedImages(_ channel: ChannelConfiguration, lists: ChannelConfiguration?) throws(ContainerError) -> [(bytes: [UInt8], source: String, labels: [Float])] {
        let directory = environment.channelDirectory(channel.name)
        var listFiles: [String]
        do throws(DataError) {
            if let lists {
                listFiles = try ChannelFiles.list(environment.channelDirectory(lists.name))
            } else {
                listFiles = try ChannelFiles.list(directory).filter { $0.hasSuffix(".lst") }
            }
        } catch {
            throw .client("channel '\(lists?.name ?? channel.name)': \(error.description)")
        }
        guard !listFiles.isEmpty else {
            throw .client("channel '\(channel.name)' holds image files (\(ImageChannelFormat.images.rawValue)) but no .lst file lists them: "
                          + "add a '\(channel.name)_lst' channel with one (index<TAB>label<TAB>path lines), or put it in the channel")
        }
        var out: [(bytes: [UInt8], source: String, labels: [Float])] = []
        do throws(DataError) {
            let root = try ImageRoot(path: directory)
            for file in listFiles {
                let list = try ImageList(contentsOfFile: file)
                for entry in list.entries {
                    let path = try list.resolvedPath(of: entry, root: root)
                    guard let data = FileManager.default.contents(atPath: path) else {
                        throw DataError.io(path: path, reason: "cannot be read (listed at \(file):\(entry.line))")
                    }
                    out.append((Array(data), path, entry.labels))
                }
            }
        } catch {
            throw .client("channel '\(channel.name)': \(error.description)")
        }
        return out
    }

    /// Every record of a `.rec` channel: its files in order (File/FastFile mode; `.idx` and
    /// `.lst` companions skipped) or the pass-0 FIFO (Pipe mode).
    func recordImages(_ channel: ChannelConfiguration, cancellation: CancellationFlag?) throws(ContainerError) -> [(bytes: [UInt8], source: String, labels: [Float])] {
        var paths: [String]
        if channel.inputMode == .pipe {
            paths = [try PipeChannel(name: channel.name, directory: environment.dataDirectory).waitForFIFO(epoch: 0, cancellation: cancellation)]
        } else {
            do {
                paths = try ChannelFiles.list(environment.channelDirectory(channel.name)).filter { !$0.hasSuffix(".idx") && !$0.hasSuffix(".lst") }
            } catch {
                throw .client("channel '\(channel.name)': \(error.description)")
            }
        }
        var out: [(bytes: [UInt8], source: String, labels: [Float])] = []
        do throws(DataError) {
            for path in paths {
                var reader = try MXNetImageRecordReader(path: path)
                while let (record, location) = try reader.nextRecord() {
                    out.append((record.image, "\(location)", record.labels))
                }
            }
        } catch {
            throw .client("channel '\(channel.name)': \(error.description)")
        }
        return out
    }

    /// Decodes, resizes and checks every image on `threads` threads; the first failure (by
    /// image order) is the error.
    func decodeAll(_ images: [(bytes: [UInt8], source: String)], hyperparameters hp: ImageClassificationHyperparameters,
                   threads: Int) throws(ContainerError) -> [PixelImage] {
        let results = Mutex<[PixelImage?]>([PixelImage?](repeating: nil, count: images.count))
        let shape = hp.imageShape, resize = hp.resize
        do {
            try parallelFor(blocks: images.count, threads: threads) { i in
                let image = try AugmentedImages.prepare(images[i].bytes, source: images[i].source, shape: shape, resize: resize)
                results.withLock { $0[i] = image }
            }
        } catch let error as DataError {
            throw .client(error.description)
        } catch {
            throw .algorithm("decoding images failed: \(error)")
        }
        // invariant: every block ran without throwing, so every slot is filled
        return results.withLock { $0.map { $0! } } // invariant: see above
    }

    /// Tensors from an NPY channel (`images.npy` + `labels.npy`: the file whose name contains
    /// `label` holds the targets) or dense RecordIO-protobuf files.
    func tensorImages(_ channel: ChannelConfiguration, format: ImageChannelFormat) throws(ContainerError) -> ImageDataset {
        do {
            if format == .npy {
                let files = try ChannelFiles.list(environment.channelDirectory(channel.name)).filter { $0.hasSuffix(".npy") }
                let labels = files.filter { ($0 as NSString).lastPathComponent.lowercased().contains("label") }
                let images = files.filter { !labels.contains($0) }
                guard images.count == 1, labels.count == 1 else {
                    throw ContainerError.client("channel '\(channel.name)': application/x-npy needs exactly two files, the images ([N, C, H, W] "
                                                + "or [N, H, W]) and the labels (a name containing 'label'); found \(files.map { ($0 as NSString).lastPathComponent })")
                }
                return try ImageDataset.npy(images: images[0], targets: labels[0])
            }
            let paths = channel.inputMode == .pipe
                ? [try PipeChannel(name: channel.name, directory: environment.dataDirectory).waitForFIFO(epoch: 0)]
                : try ChannelFiles.list(environment.channelDirectory(channel.name))
            var parts: [ImageDataset] = []
            for path in paths { parts.append(try ImageDataset.recordIO(path: path)) }
            guard var all = parts.first else { throw ContainerError.client("channel '\(channel.name)' holds no records") }
            for part in parts.dropFirst() {
                guard part.shape == all.shape, part.targetWidth == all.targetWidth else {
                    throw ContainerError.client("channel '\(channel.name)': files hold tensors of different shapes (\(all.shape), \(part.shape))")
                }
                all = try ImageDataset(shape: all.shape, images: all.images + part.images, targets: all.targets + part.targets,
                                       targetWidth: all.targetWidth)
            }
            return all
        } catch let error as ContainerError {
            throw error
        } catch let error as DataError {
            throw .client("channel '\(channel.name)': \(error.description)")
        } catch {
            throw .client("channel '\(channel.name)': \(error)")
        }
    }

    /// The model to continue from (the `model` channel): `model.safetensors` and `model.json`
    /// anywhere in the channel, or a `model.tar.gz` holding them (unpacked with `tar` into a
    /// temporary directory).
    func previousModel(_ channel: ChannelConfiguration) throws(ContainerError) -> ImageClassifierModel {
        let directory = environment.channelDirectory(channel.name)
        let files: [String]
        do {
            files = try ChannelFiles.list(directory)
        } catch {
            throw .client("channel '\(channel.name)': \(error.description)")
        }
        if let json = files.first(where: { ($0 as NSString).lastPathComponent == "model.json" }) {
            return try loadModel((json as NSString).deletingLastPathComponent, channel: channel.name)
        }
        guard let archive = files.first(where: { $0.hasSuffix(".tar.gz") || $0.hasSuffix(".tgz") || $0.hasSuffix(".tar") }) else {
            throw .client("channel '\(channel.name)' holds neither model.json + model.safetensors nor a model.tar.gz of a previous image-classification job")
        }
        let scratch = NSTemporaryDirectory() + "mlc-model-\(ProcessInfo.processInfo.processIdentifier)-\(UInt64.random(in: 0...UInt64.max))"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        do {
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            let tar = Process()
            tar.executableURL = URL(fileURLWithPath: "/bin/tar")
            tar.arguments = ["-x", "-f", archive, "-C", scratch, "--no-same-owner", "--no-same-permissions"]
            try tar.run()
            tar.waitUntilExit()
            guard tar.terminationStatus == 0 else {
                throw ContainerError.client("channel '\(channel.name)': tar could not unpack \(archive) (exit \(tar.terminationStatus))")
            }
        } catch let error as ContainerError {
            throw error
        } catch {
            throw .client("channel '\(channel.name)': cannot unpack \(archive): \(error.localizedDescription)")
        }
        let unpacked = (FileManager.default.enumerator(atPath: scratch)?.allObjects as? [String] ?? []).sorted()
        guard let json = unpacked.first(where: { ($0 as NSString).lastPathComponent == "model.json" }) else {
            throw .client("channel '\(channel.name)': \(archive) holds no model.json")
        }
        return try loadModel((scratch as NSString).appendingPathComponent((json as NSString).deletingLastPathComponent), channel: channel.name)
    }

    private func loadModel(_ directory: String, channel: String) throws(ContainerError) -> ImageClassifierModel {
        do {
            return try ImageClassifierModel.load(from: directory)
        } catch {
            throw .client("channel '\(channel)': the previous model cannot be loaded: \(error)")
        }
    }
}

import Foundation

/// A training job's checkpoints in `/opt/ml/checkpoints` (or `checkpointconfig.json`'s
/// `LocalPath`), which SageMaker syncs to the job's `CheckpointConfig.S3Uri` and copies back in
/// when a stopped or spot-interrupted job restarts (reference §1.2, §1.10).
///
/// One file per checkpoint, `<algorithm>-epoch-<EEEEEE>-batch-<BBBBBBBB>.ckpt`:
///
/// ```text
/// {"algorithm":"linear-learner","batch":0,"bytes":5121,"configuration":{…},"crc32":3735928559,"epoch":3,"format":"mlcore-checkpoint","version":1}
/// <the trainer's state: `bytes` bytes of JSON>
/// ```
///
/// The header line says what wrote it and checks the state (its length and CRC-32), so a file cut
/// short or damaged in transit is recognised and skipped for the next older one. Files are
/// written atomically (a hidden temporary file, then a rename), so a `kill -9` leaves either the
/// old set or the new one. The newest two are kept: the newest may be the one being synced when
/// the host goes away.
public struct CheckpointStore: Sendable {
    public static let format = "mlcore-checkpoint"
    public static let version = 1

    public let directory: String
    public let algorithm: String
    /// What must match for a checkpoint to be resumed: the resolved hyperparameters and the
    /// data's shape. A checkpoint written under a different configuration is refused with the
    /// differing keys named, never silently resumed.
    public let configuration: [String: String]
    /// Checkpoints kept after each save.
    public var keep = 2
    /// False on every rank of a multi-process job but rank 0: it resumes from the checkpoints
    /// rank 0 writes and writes none itself (``save(_:epoch:batch:)`` does nothing).
    public var writable = true

    public init(directory: String, algorithm: String, configuration: [String: String], writable: Bool = true) {
        self.directory = directory
        self.algorithm = algorithm
        self.configuration = configuration
        self.writable = writable
    }

    /// A checkpoint found on disk.
    public struct Checkpoint: Sendable, Equatable {
        public var path: String
        public var epoch: Int
        public var batch: Int
        public var state: Data
    }

    struct Header: Codable, Equatable {
        var format: String
        var version: Int
        var algorithm: String
        var epoch: Int
        var batch: Int
        var bytes: Int
        var crc32: UInt32
        var configuration: [String: String]
    }

    /// The file name of the checkpoint at (`epoch`, `batch`): names sort in training order.
    func fileName(epoch: Int, batch: Int) -> String {
        algorithm + "-epoch-" + Self.padded(epoch, 6) + "-batch-" + Self.padded(batch, 8) + ".ckpt"
    }

    static func padded(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// Writes the state reached at (`epoch`, `batch`) — `batch` 0 means "at the start of `epoch`"
    /// — then removes all but the newest ``keep`` checkpoints of this algorithm.
    public func save(_ state: Data, epoch: Int, batch: Int) throws(ContainerError) {
        guard writable else { return }
        let header = Header(format: Self.format, version: Self.version, algorithm: algorithm, epoch: epoch, batch: batch,
                            bytes: state.count, crc32: CRC32.checksum(state), configuration: configuration)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var file: Data
        do {
            file = try encoder.encode(header)
        } catch {
            throw .algorithm("cannot encode a checkpoint header: \(error)")
        }
        file.append(0x0A)
        file.append(state)
        let path = directory + "/" + fileName(epoch: epoch, batch: batch)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            // `.atomic` writes a temporary file beside it and renames it into place.
            try file.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            // A failed atomic write may leave its temporary file: a full disk stays as full as it was.
            ArtifactDirectory.removeInterruptedWrites(in: directory)
            let (diagnosis, _) = ArtifactDirectory.diagnose(directory)
            throw .client("cannot write the checkpoint \(path): \(error.localizedDescription) ("
                          + (diagnosis ?? "is the checkpoint directory writable and is there space?") + ")")
        }
        for old in ownFiles().dropLast(max(1, keep)) {
            try? FileManager.default.removeItem(atPath: directory + "/" + old)
        }
    }

    /// This algorithm's checkpoint file names, oldest first.
    func ownFiles() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasPrefix(algorithm + "-epoch-") && $0.hasSuffix(".ckpt") }.sorted()
    }

    /// The newest checkpoint that reads back intact, or `nil` when there is none. Damaged files
    /// are reported through `log` and skipped; a checkpoint of a different configuration is a
    /// ``ContainerError/client(_:)`` naming what differs.
    public func newest(log: (String) -> Void = { _ in }) throws(ContainerError) -> Checkpoint? {
        // A write that `kill -9` interrupted leaves Foundation's hidden temporary file behind.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasPrefix(".dat.nosync") {
            try? FileManager.default.removeItem(atPath: directory + "/" + name)
        }
        for name in ownFiles().reversed() {
            let path = directory + "/" + name
            switch Self.read(path) {
            case .failure(let reason):
                log("Skipping checkpoint \(path): \(reason)")
            case .success(let (header, state)):
                guard header.algorithm == algorithm else {
                    log("Skipping checkpoint \(path): written by \(header.algorithm)")
                    continue
                }
                let differing = Set(header.configuration.keys).union(configuration.keys).sorted().filter {
                    header.configuration[$0] != configuration[$0]
                }
                guard differing.isEmpty else {
                    let detail = differing.prefix(5).map {
                        "\($0): checkpoint \(header.configuration[$0] ?? "(unset)"), this job \(configuration[$0] ?? "(unset)")"
                    }.joined(separator: "; ")
                    throw .client("the checkpoint \(path) was written by a job with a different configuration (\(detail)); "
                                  + "use a new checkpoint location (CheckpointConfig.S3Uri) or remove the old checkpoints")
                }
                return Checkpoint(path: path, epoch: header.epoch, batch: header.batch, state: state)
            }
        }
        return nil
    }

    /// A checkpoint file's header and state, or why it cannot be used.
    static func read(_ path: String) -> Result<(Header, Data), ReadFailure> {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            return .failure(ReadFailure("cannot read it: \(error.localizedDescription)"))
        }
        guard let newline = data.firstIndex(of: 0x0A) else { return .failure(ReadFailure("no header line")) }
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: data[data.startIndex..<newline])
        } catch {
            return .failure(ReadFailure("the header is not a checkpoint header"))
        }
        guard header.format == format else { return .failure(ReadFailure("format '\(header.format)', expected '\(format)'")) }
        guard header.version == version else {
            return .failure(ReadFailure("checkpoint format version \(header.version); this build reads \(version)"))
        }
        let state = Data(data[(newline + 1)...])
        guard state.count == header.bytes else {
            return .failure(ReadFailure("cut short: \(state.count) of \(header.bytes) bytes"))
        }
        guard CRC32.checksum(state) == header.crc32 else { return .failure(ReadFailure("damaged: its CRC-32 does not match")) }
        return .success((header, state))
    }

    struct ReadFailure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}

/// CRC-32 (IEEE 802.3, the zlib/PNG polynomial), for checking checkpoint files.
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { i in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ data: Data) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        data.withUnsafeBytes { bytes in
            for b in bytes { crc = table[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
        }
        return crc ^ 0xFFFF_FFFF
    }
}

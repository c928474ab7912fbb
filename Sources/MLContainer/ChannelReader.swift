import Foundation
import MLCore

/// The content types a training channel can carry (reference §1.4, §3).
public enum ChannelFormat: String, Sendable, Equatable, CaseIterable {
    case csv = "text/csv"
    case recordIOProtobuf = "application/x-recordio-protobuf"
    case npy = "application/x-npy"
    case libsvm = "text/libsvm"

    /// The format of a `ContentType` essence; `text/x-libsvm` is libsvm's other name.
    public init?(essence: String) {
        if essence == "text/x-libsvm" { self = .libsvm; return }
        self.init(rawValue: essence)
    }
}

/// Reads one channel of a training job into memory, whatever its content type and input mode:
/// every file of a File/FastFile channel directory (``ChannelFiles``' order), or the FIFO of pass
/// 0 of a Pipe channel.
///
/// Labels: CSV and NPY rows carry `label_size` leading label columns (the `ContentType`
/// parameter, default `defaultLabelSize`); RecordIO-protobuf records carry theirs in
/// `label["values"]`; libsvm lines start with theirs.
public struct ChannelReader: Sendable {
    public let channel: ChannelConfiguration
    public let format: ChannelFormat
    public let labelSize: Int
    public let environment: TrainingEnvironment
    public var threads: Int
    public var pipeTimeout: Duration = .seconds(600)

    /// Resolves the channel's content type (`defaultContentType` when it has none) against the
    /// formats the algorithm takes.
    public init(channel: ChannelConfiguration, environment: TrainingEnvironment, accepted: [ChannelFormat],
                defaultContentType: ChannelFormat, defaultLabelSize: Int, threads: Int) throws(ContainerError) {
        let format: ChannelFormat
        if let type = channel.contentType {
            guard let known = ChannelFormat(essence: type.essence), accepted.contains(known) else {
                throw .client("channel '\(channel.name)': ContentType \(type.essence) is not one this algorithm reads; "
                              + "use one of " + accepted.map(\.rawValue).joined(separator: ", "))
            }
            format = known
        } else {
            format = defaultContentType
        }
        if channel.recordWrapper == "RecordIO" && format != .recordIOProtobuf {
            throw .client("channel '\(channel.name)': RecordWrapperType RecordIO wraps RecordIO records, but ContentType is \(format.rawValue)")
        }
        var labelSize = defaultLabelSize
        if let text = channel.contentType?.parameters["label_size"] {
            guard let n = Int(text), n >= 0 else {
                throw .client("channel '\(channel.name)': label_size=\(text) in ContentType must be a whole number ≥ 0")
            }
            guard format == .csv || format == .npy else {
                throw .client("channel '\(channel.name)': label_size applies to text/csv and application/x-npy, not \(format.rawValue)")
            }
            labelSize = n
        }
        self.channel = channel
        self.format = format
        self.labelSize = labelSize
        self.environment = environment
        self.threads = threads
    }

    public var name: String { channel.name }

    /// Where the channel's data is: its directory (File, FastFile) or its pass-0 FIFO (Pipe).
    public var location: String {
        channel.inputMode == .pipe ? pipe.path(epoch: 0) : environment.channelDirectory(channel.name)
    }

    var pipe: PipeChannel { PipeChannel(name: channel.name, directory: environment.dataDirectory, appearanceTimeout: pipeTimeout) }

    /// What was read, for the per-pass statistics line.
    public struct Statistics: Sendable, Equatable {
        public var rows: Int
        public var bytes: Int
        public var seconds: Double
    }

    /// The whole channel as one batch.
    public func readAll(cancellation: CancellationFlag? = nil) throws(ContainerError) -> (batch: Batch, statistics: Statistics) {
        let clock = ContinuousClock(), start = clock.now
        let batch: Batch
        let bytes: Int
        do throws(DataError) {
            if channel.inputMode == .pipe {
                (batch, bytes) = try readPipe(cancellation: cancellation)
            } else {
                let files = try ChannelFiles.list(environment.channelDirectory(channel.name))
                bytes = files.reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int) ?? 0) }
                batch = try readFiles(files)
            }
        } catch {
            throw .client("channel '\(channel.name)': \(error.description)")
        }
        let elapsed = start.duration(to: clock.now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return (batch, Statistics(rows: batch.rows, bytes: bytes, seconds: seconds))
    }

    /// Up to `rows` rows from the start of every file of a File/FastFile channel (so a bad file
    /// anywhere in the channel is found), for `mlc validate`. A Pipe channel is not read: its
    /// FIFO would be consumed; `nil` is returned.
    public func sample(rows: Int) throws(ContainerError) -> Batch? {
        guard channel.inputMode != .pipe else { return nil }
        do throws(DataError) {
            let files = try ChannelFiles.list(environment.channelDirectory(channel.name))
            var parts: [Batch] = []
            for file in files {
                parts.append(try sampleFile(file, rows: rows))
            }
            return try Self.concatenate(parts, source: environment.channelDirectory(channel.name))
        } catch {
            throw .client("channel '\(channel.name)': \(error.description)")
        }
    }

    // MARK: Formats

    func readFiles(_ files: [String]) throws(DataError) -> Batch {
        switch format {
        case .csv:
            return try CSVReader.readAll(files: files, options: CSVOptions(labelSize: labelSize, threads: threads))
        case .npy:
            var parts: [Batch] = []
            for file in files {
                parts.append(try splitLabels(NPYReader<Float>.readMatrix(path: file), file: file))
            }
            return try Self.concatenate(parts, source: environment.channelDirectory(channel.name))
        case .recordIOProtobuf:
            return try RecordIOProtobufReader.readAll(files: files)
        case .libsvm:
            var parts: [Batch] = []
            for file in files { parts.append(try LibSVMReader.readAll(path: file, indexBase: .auto)) }
            return try Self.concatenate(parts, source: environment.channelDirectory(channel.name))
        }
    }

    func readPipe(cancellation: CancellationFlag?) throws(DataError) -> (Batch, Int) {
        let pipe = self.pipe
        let path: String
        do {
            path = try pipe.waitForFIFO(epoch: 0, cancellation: cancellation)
        } catch {
            throw .io(path: pipe.path(epoch: 0), reason: error.description)
        }
        switch format {
        case .csv, .libsvm:
            // Both readers stream a FIFO with read(); their errors count lines in the FIFO.
            let batch = try readFiles([path])
            return (batch, 0)
        case .npy, .recordIOProtobuf:
            let bytes: [UInt8]
            do {
                bytes = try pipe.readAll(epoch: 0, cancellation: cancellation)
            } catch {
                throw .io(path: path, reason: error.description)
            }
            if format == .npy {
                let parts = try NPYReader<Float>.decodeConcatenated(bytes, name: path).map { m throws(DataError) in
                    try splitLabels(m.matrix, file: path)
                }
                return (try Self.concatenate(parts, source: path), bytes.count)
            }
            return (try RecordIOProtobufReader.decode(bytes, name: path), bytes.count)
        }
    }

    func sampleFile(_ file: String, rows: Int) throws(DataError) -> Batch {
        switch format {
        case .csv:
            var reader = try CSVReader(path: file, options: CSVOptions(labelSize: labelSize, threads: threads, chunkBytes: 1 << 20))
            guard let batch = try reader.nextBatch() else {
                return Batch(features: .dense(Matrix(rows: 0, columns: 0)), labels: labelSize > 0 ? Matrix(rows: 0, columns: labelSize) : nil)
            }
            return Self.prefix(batch, rows: rows)
        case .npy:
            let reader = try NPYReader<Float>(path: file)
            return try splitLabels(reader.readRows(0..<min(rows, reader.rows)), file: file)
        case .recordIOProtobuf:
            var reader = try RecordIOProtobufReader(path: file, batchRows: rows)
            return try reader.nextBatch() ?? Batch(features: .dense(Matrix(rows: 0, columns: 0)))
        case .libsvm:
            var reader = try LibSVMReader(path: file, indexBase: .auto, batchRows: rows)
            return try reader.nextBatch() ?? Batch(features: .sparse(SparseMatrix(columns: 0)), labels: Matrix(rows: 0, columns: 1))
        }
    }

    /// An NPY matrix's leading `labelSize` columns as labels, the rest as features.
    func splitLabels(_ m: Matrix<Float>, file: String) throws(DataError) -> Batch {
        guard labelSize > 0 else { return Batch(features: .dense(m)) }
        guard m.columns > labelSize else {
            throw .unsupported(DataLocation(file: file),
                               reason: "the array has \(m.columns) columns but label_size=\(labelSize) leaves no feature columns "
                                       + "(a training .npy holds the label first, then the features, as CSV does)")
        }
        let labels = Matrix<Float>(rows: m.rows, columns: labelSize) { out in
            for i in 0..<m.rows { for j in 0..<labelSize { out[i * labelSize + j] = m[i, j] } }
        }
        let width = m.columns - labelSize
        let features = Matrix<Float>(rows: m.rows, columns: width) { out in
            m.withUnsafeBufferPointer { src in
                for i in 0..<m.rows {
                    for j in 0..<width { out[i * width + j] = src[i * m.columns + labelSize + j] }
                }
            }
        }
        return Batch(features: .dense(features), labels: labels)
    }

    /// The first `rows` rows of a dense batch.
    static func prefix(_ batch: Batch, rows: Int) -> Batch {
        guard batch.rows > rows, case .dense(let x) = batch.features else { return batch }
        let d = x.columns
        let features = Matrix<Float>(rows: rows, columns: d) { out in
            x.withUnsafeBufferPointer { src in for k in 0..<rows * d { out[k] = src[k] } }
        }
        let labels = batch.labels.map { l in
            Matrix<Float>(rows: rows, columns: l.columns) { out in
                l.withUnsafeBufferPointer { src in for k in 0..<rows * l.columns { out[k] = src[k] } }
            }
        }
        return Batch(features: .dense(features), labels: labels, weights: batch.weights.map { Array($0.prefix(rows)) })
    }

    /// Batches of several files as one: dense stays dense (every file must have the same
    /// feature count), any sparse part makes the result sparse (narrower parts widen).
    static func concatenate(_ parts: [Batch], source: String) throws(DataError) -> Batch {
        guard let first = parts.first else { throw .emptyChannel(path: source) }
        if parts.count == 1 { return first }
        let labelColumns = first.labels?.columns
        for part in parts where part.labels?.columns != labelColumns {
            throw .unsupported(DataLocation(file: source), reason: "the channel's files disagree on whether rows carry labels")
        }
        let anySparse = parts.contains { if case .sparse = $0.features { true } else { false } }
        let features: Features
        if anySparse {
            var out = SparseMatrix<Float>(columns: parts.map(\.features.columns).max() ?? 0)
            for part in parts {
                switch part.features {
                case .sparse(let s):
                    for i in 0..<s.rows {
                        let r = s.rowOffsets[i]..<s.rowOffsets[i + 1]
                        out.appendRow(indices: s.columnIndices[r], values: s.values[r])
                    }
                case .dense(let m):
                    for i in 0..<m.rows {
                        let row = (0..<m.columns).filter { m[i, $0] != 0 }
                        out.appendRow(indices: row.map { Int32($0) }, values: row.map { m[i, $0] })
                    }
                }
            }
            features = .sparse(out)
        } else {
            let d = first.features.columns
            for (k, part) in parts.enumerated() where part.features.columns != d && part.rows > 0 {
                throw .raggedRow(DataLocation(file: source + " (file \(k + 1))"), expected: d, got: part.features.columns)
            }
            let rows = parts.reduce(0) { $0 + $1.rows }
            features = .dense(Matrix<Float>(rows: rows, columns: d) { out in
                var at = 0
                for part in parts {
                    guard case .dense(let m) = part.features else { continue }
                    m.withUnsafeBufferPointer { src in for k in 0..<src.count { out[at + k] = src[k] } }
                    at += m.rows * d
                }
            })
        }
        let labels = labelColumns.map { c in
            Matrix<Float>(rows: parts.reduce(0) { $0 + $1.rows }, columns: c) { out in
                var at = 0
                for part in parts {
                    guard let l = part.labels else { continue }
                    l.withUnsafeBufferPointer { src in for k in 0..<src.count { out[at + k] = src[k] } }
                    at += l.rows * l.columns
                }
            }
        }
        let weighted = parts.contains { $0.weights != nil }
        let weights = weighted ? parts.flatMap { $0.weights ?? [Float](repeating: 1, count: $0.rows) } : nil
        return Batch(features: features, labels: labels, weights: weights)
    }
}

// MARK: Streaming

extension ChannelReader {
    /// The channel from its start as a stream of batches, for epoch `epoch` (a Pipe channel's
    /// `<name>_<epoch>` FIFO). CSV and RecordIO-protobuf stream with bounded memory; NPY and
    /// libsvm files are read whole and handed over as one batch.
    public func openStream(epoch: Int, cancellation: CancellationFlag? = nil) throws(ContainerError) -> any DataSource {
        do throws(DataError) {
            let files: [String]
            if channel.inputMode == .pipe {
                do {
                    files = [try pipe.waitForFIFO(epoch: epoch, cancellation: cancellation)]
                } catch {
                    throw DataError.io(path: pipe.path(epoch: epoch), reason: error.description)
                }
            } else {
                files = try ChannelFiles.list(environment.channelDirectory(channel.name))
            }
            switch format {
            case .csv: return try CSVReader(files: files, options: CSVOptions(labelSize: labelSize, threads: threads))
            case .recordIOProtobuf: return RecordIOProtobufReader(files: files)
            case .npy, .libsvm: return OneBatchSource(batch: try readFiles(files))
            }
        } catch {
            throw .client("channel '\(channel.name)': \(error.description)")
        }
    }

    /// The bytes of a File/FastFile channel's data files (`nil` for a Pipe channel, whose size is
    /// unknown until it has been read).
    public func bytesOnDisk() -> Int? {
        guard channel.inputMode != .pipe, let files = try? ChannelFiles.list(environment.channelDirectory(channel.name)) else { return nil }
        return files.reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int) ?? 0) }
    }
}

/// A batch already in memory as a one-batch ``DataSource``.
struct OneBatchSource: DataSource {
    var batch: Batch?
    mutating func nextBatch() throws(DataError) -> Batch? {
        defer { batch = nil }
        return batch
    }
}

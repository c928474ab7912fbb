import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Streams SageMaker RecordIO-protobuf (`application/x-recordio-protobuf`) into ``Batch``es.
///
/// Each record is one row:
/// - **Features** come from `features["values"]`, a float32, float64 or int32 tensor converted
///   to `Float` (rounding to nearest). Dense (no `keys`): the row is `values`, flattened row-major
///   if `shape` has several dimensions. Sparse (`keys` non-empty): `keys` are 0-based flat indices
///   into `shape`, which is required; keys need not be sorted but may not repeat. A tensor with
///   `shape` but no keys and no values is an all-zero sparse row (the SDK writes empty CSR rows
///   so). Other feature keys are ignored here (read them with ``nextRecord()``).
/// - **Dense or sparse batches**: a batch with any sparse row is ``Features/sparse(_:)``, its
///   dense rows stored with every element explicit; otherwise it is ``Features/dense(_:)``. In a
///   stream that mixes both, batches can differ in kind; ``readAll()`` returns one batch.
/// - **Labels** come from `label["values"]` (its first element, converted to `Float`), as a
///   `rows × 1` matrix. The first record decides: if it has a label every record must, if not
///   none may, and ``Batch/labels`` is `nil`. Other label keys are kept by ``nextRecord()``.
/// - **Feature dimension**: fixed by the first record (its value count, or the product of its
///   shape when sparse); every later record must match.
///
/// Files are read in the order given (``ChannelFiles`` lists a channel in SageMaker's order),
/// each sequentially, so a Pipe-mode FIFO works as a file. Record numbers in errors restart at 1
/// for each file. Every problem is a ``DataError/badRecord(_:_:)`` naming the file, the record
/// and its byte offset, and the rule (``RecordIOProblem``) that broke.
///
/// Copies of a reader share their open input and position.
public struct RecordIOProtobufReader: DataSource {
    /// The inputs in reading order (a single name for a descriptor, handle or bytes).
    public let files: [String]
    /// Rows per batch from ``nextBatch()``; values below 1 count as 1.
    public var batchRows: Int
    /// Features per row, fixed by the first record read by ``nextBatch()`` or ``readAll()``.
    public private(set) var featureDimension: Int?
    /// Whether the records carry `label["values"]`, fixed by the first record read.
    public private(set) var isLabelled: Bool?

    private var nextFileIndex: Int
    private var frames: RecordIOFrameReader?
    // Reused from record to record, so reading rows allocates nothing per record.
    private var payload: [UInt8] = []
    private var featureSlot = RecordIOTensorSlot()
    private var labelSlot = RecordIOTensorSlot()
    /// "record 1 of <file>", for messages that compare a record with the first one.
    private var firstRecord = ""

    /// Reads `files` in order.
    public init(files: [String], batchRows: Int = 4096) {
        self.files = files
        self.batchRows = batchRows
        nextFileIndex = 0
    }

    /// Reads the channel at `path`: a directory (its data files, as ``ChannelFiles`` lists them),
    /// a file or a FIFO.
    public init(path: String, batchRows: Int = 4096) throws(DataError) {
        self.init(files: try ChannelFiles.list(path), batchRows: batchRows)
    }

    /// Reads an open descriptor (a Pipe-mode FIFO opened by the caller, a pipe, a socket).
    /// `closeWhenDone` hands the descriptor over to the reader.
    public init(fileDescriptor: Int32, name: String, batchRows: Int = 4096, closeWhenDone: Bool = false) {
        self.init(frames: RecordIOFrameReader(fileDescriptor: fileDescriptor, name: name, closeWhenDone: closeWhenDone),
                  batchRows: batchRows)
    }

    /// Reads a `FileHandle`, which stays open (and owned by the caller).
    public init(fileHandle: FileHandle, name: String, batchRows: Int = 4096) {
        self.init(frames: RecordIOFrameReader(fileHandle: fileHandle, name: name), batchRows: batchRows)
    }

    /// Reads bytes in memory (an inference request body); `name` stands for them in errors.
    public init(bytes: [UInt8], name: String = "<recordio-protobuf>", batchRows: Int = 4096) {
        self.init(frames: RecordIOFrameReader(bytes: bytes, name: name), batchRows: batchRows)
    }

    private init(frames: RecordIOFrameReader, batchRows: Int) {
        files = [frames.name]
        self.batchRows = batchRows
        self.frames = frames
        nextFileIndex = 1
    }

    // MARK: Batches

    /// The next `batchRows` rows (fewer at the end), or `nil` when every record has been read.
    public mutating func nextBatch() throws(DataError) -> Batch? {
        try readRows(limit: max(1, batchRows))
    }

    /// Every remaining record as one batch (an empty dense batch if there are none).
    public mutating func readAll() throws(DataError) -> Batch {
        try readRows(limit: Int.max)
            ?? Batch(features: .dense(Matrix(rows: 0, columns: featureDimension ?? 0)),
                     labels: isLabelled == true ? Matrix(rows: 0, columns: 1) : nil)
    }

    /// Every record of the channel at `path` (a directory, a file or a FIFO) as one batch.
    public static func readAll(path: String) throws(DataError) -> Batch {
        var reader = try RecordIOProtobufReader(path: path)
        return try reader.readAll()
    }

    /// Every record of `files`, in order, as one batch.
    public static func readAll(files: [String]) throws(DataError) -> Batch {
        var reader = RecordIOProtobufReader(files: files)
        return try reader.readAll()
    }

    /// Every record of a byte buffer (an inference request body) as one batch.
    public static func decode(_ bytes: [UInt8], name: String = "<recordio-protobuf>") throws(DataError) -> Batch {
        var reader = RecordIOProtobufReader(bytes: bytes, name: name)
        return try reader.readAll()
    }

    /// Up to `limit` rows, or `nil` at the end of the input.
    private mutating func readRows(limit: Int) throws(DataError) -> Batch? {
        var builder: RecordIOBatchBuilder?
        while builder.map({ $0.rows < limit }) ?? true {
            guard let location = try nextPayload() else { break }
            try RecordIORowDecoder.decode(payload, location: location, features: &featureSlot, label: &labelSlot)
            do throws(RecordIOProblem) {
                try appendRow(location: location, to: &builder, limit: limit)
            } catch {
                throw .badRecord(location, error)
            }
        }
        return builder?.batch()
    }

    /// Applies the row rules to the decoded slots and appends the row.
    private mutating func appendRow(
        location: RecordLocation, to builder: inout RecordIOBatchBuilder?, limit: Int
    ) throws(RecordIOProblem) {
        switch featureSlot.kind {
        case .missing: throw .missingKey(map: "features", key: "values")
        case .unset, .bytes: throw .unsupportedValue(map: "features", key: "values", kind: featureSlot.kind.name)
        case .float32, .float64, .int32: break
        }
        let label = try labelSlot.labelValue()
        let layout = try featureSlot.layout(map: "features")
        if featureDimension == nil {
            featureDimension = layout.width
            isLabelled = label != nil
            firstRecord = "record \(location.record) of \(location.file)"
        }
        // invariant: both set just above on the first record
        let columns = featureDimension!, labelled = isLabelled! // invariant: see above
        guard layout.width == columns else {
            throw .dimensionMismatch(expected: columns, got: layout.width, firstRecord: firstRecord)
        }
        guard (label != nil) == labelled else {
            throw .labelPresenceMismatch(hasLabel: label != nil, firstRecord: firstRecord)
        }
        if builder == nil {
            // Sized from the bytes left, so readAll() fills one buffer instead of growing it.
            let rows = min(limit, estimatedRows(recordBytes: (frames?.byteOffset ?? 0) - location.byteOffset))
            builder = RecordIOBatchBuilder(columns: columns, labelled: labelled, reservingRows: rows, firstLayout: layout)
        }
        try builder?.append(featureSlot, layout: layout, label: label)
    }

    /// This record plus those left, guessed as bytes left ÷ `recordBytes` (2% over), for
    /// inputs whose sizes are known; for pipes, about 16 MiB of records like this one (the
    /// buffers grow from there as rows arrive).
    private func estimatedRows(recordBytes: Int) -> Int {
        guard recordBytes > 0, let frames, let size = frames.knownSize else {
            return max(1, (16 << 20) / max(1, recordBytes))
        }
        var bytes = size - frames.byteOffset
        for path in files[nextFileIndex...] {
            var info = stat()
            if stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG { bytes += Int(info.st_size) }
        }
        return 1 + Int(Double(bytes) / Double(recordBytes) * 1.02) + 16
    }

    // MARK: Records

    /// The next record with every map entry, `uid`, `metadata` and `configuration`, or `nil` at
    /// the end. Only the protobuf is checked (no dimension or label rules), so records of any
    /// shape — inference responses, other feature keys — read here.
    public mutating func nextRecord() throws(DataError) -> RecordIOProtobufRecord? {
        try nextMessage().map { RecordIOProtobufRecord($0.0) }
    }

    /// Every record of a byte buffer (a response body, say), with all their map entries.
    public static func decodeRecords(_ bytes: [UInt8], name: String = "<recordio-protobuf>") throws(DataError) -> [RecordIOProtobufRecord] {
        var reader = RecordIOProtobufReader(bytes: bytes, name: name)
        var records: [RecordIOProtobufRecord] = []
        while let record = try reader.nextRecord() { records.append(record) }
        return records
    }

    /// The next decoded message and where it was.
    private mutating func nextMessage() throws(DataError) -> (Aialgs_Data_Record, RecordLocation)? {
        guard let location = try nextPayload() else { return nil }
        return (try RecordIOProtobufRecord.decodeMessage(payload, location: location), location)
    }

    /// Reads the next record's payload into `payload`, moving on to the next file at each end.
    private mutating func nextPayload() throws(DataError) -> RecordLocation? {
        while true {
            if frames == nil {
                guard nextFileIndex < files.count else { return nil }
                frames = try RecordIOFrameReader(path: files[nextFileIndex])
                nextFileIndex += 1
            }
            // invariant: set just above, or by an initializer
            if let location = try frames!.nextPayload(into: &payload) { return location }
            frames = nil
        }
    }
}

import Foundation

/// One record of an MXNet image RecordIO (`.rec`) file: labels, two ids and an encoded image.
///
/// The record's payload (what dmlc RecordIO framing carries, see ``RecordIOFraming``) is MXNet's
/// `recordio.pack(header, s)`, all little-endian:
///
/// | offset | bytes | field |
/// | --- | --- | --- |
/// | 0 | 4 | `flag`, uint32: 0, or the number of float32 labels after the header |
/// | 4 | 4 | `label`, float32: the label when `flag` is 0 (0 and ignored otherwise) |
/// | 8 | 8 | `id`, uint64: the image's index (`.lst` index for `im2rec`) |
/// | 16 | 8 | `id2`, uint64: 0 unless the writer set it |
/// | 24 | 4 × `flag` | the labels when `flag` > 0 (multi-label, or a label vector) |
/// | 24 + 4 × `flag` | rest | the encoded image (JPEG or PNG), as `im2rec` wrote it |
///
/// The header is Python's `struct.pack('<IfQQ', flag, label, id, id2)` (24 bytes).
public struct MXNetImageRecord: Sendable, Hashable {
    /// The labels: `[label]` when the header's `flag` is 0, otherwise the `flag` float32 values
    /// that follow the header.
    public var labels: [Float]
    /// The header's `id` (`im2rec` stores the `.lst` index).
    public var id: UInt64
    /// The header's `id2`.
    public var id2: UInt64
    /// The encoded image (JPEG or PNG bytes; see ``ImageDecoder``).
    public var image: [UInt8]
    /// Whether the labels are stored after the header (`flag = labels.count`, header `label` 0),
    /// as MXNet's `pack` does for an array label, rather than in the header (`flag` 0, exactly
    /// one label), as it does for a number.
    public var storesLabelVector: Bool

    /// The header size: `struct.calcsize('<IfQQ')`.
    public static let headerLength = 24

    /// A record. `storesLabelVector` defaults to `labels.count != 1`: one label goes into the
    /// header, any other number after it.
    public init(labels: [Float], id: UInt64 = 0, id2: UInt64 = 0, image: [UInt8], storesLabelVector: Bool? = nil) {
        self.labels = labels
        self.id = id
        self.id2 = id2
        self.image = image
        self.storesLabelVector = storesLabelVector ?? (labels.count != 1)
    }

    /// Parses a record payload (one reassembled dmlc record). `location` is reported in errors:
    /// ``RecordIOProblem/imageRecordTooShort(bytes:)``,
    /// ``RecordIOProblem/imageRecordLabelsExceedPayload(flag:bytes:)`` and
    /// ``RecordIOProblem/imageRecordWithoutImage(flag:)``, each as
    /// ``DataError/badRecord(_:_:)``.
    public init(payload: [UInt8], location: RecordLocation = RecordLocation(file: "<image record>", record: 1, byteOffset: 0)) throws(DataError) {
        do throws(RecordIOProblem) {
            self = try payload.withUnsafeBufferPointer { (buffer) throws(RecordIOProblem) -> MXNetImageRecord in
                try Self.parse(UnsafeRawBufferPointer(buffer))
            }
        } catch {
            throw .badRecord(location, error)
        }
    }

    /// Parses a record payload (see ``init(payload:location:)``).
    public static func parse(payload: [UInt8], location: RecordLocation = RecordLocation(file: "<image record>", record: 1, byteOffset: 0)) throws(DataError) -> MXNetImageRecord {
        try MXNetImageRecord(payload: payload, location: location)
    }

    static func parse(_ raw: UnsafeRawBufferPointer) throws(RecordIOProblem) -> MXNetImageRecord {
        guard raw.count >= headerLength else { throw .imageRecordTooShort(bytes: raw.count) }
        let flag = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        let label = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        let id = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        let id2 = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
        let rest = raw.count - headerLength
        let labelBytes = Int(flag) * 4  // flag < 2^32: no overflow in Int
        guard labelBytes <= rest else { throw .imageRecordLabelsExceedPayload(flag: flag, bytes: rest) }
        guard labelBytes < rest else { throw .imageRecordWithoutImage(flag: flag) }
        var labels: [Float]
        if flag == 0 {
            labels = [label]
        } else {
            labels = (0..<Int(flag)).map { i in
                Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: headerLength + 4 * i, as: UInt32.self)))
            }
        }
        let image = Array(raw[(headerLength + labelBytes)...])
        return MXNetImageRecord(labels: labels, id: id, id2: id2, image: image, storesLabelVector: flag > 0)
    }

    /// The record's payload, byte for byte what MXNet's `recordio.pack(IRHeader(flag, label, id,
    /// id2), image)` returns: with ``storesLabelVector`` (or a label count other than 1) the
    /// header's `flag` is the label count and its `label` 0, and the labels follow it; otherwise
    /// `flag` is 0 and the one label is in the header. (MXNet writes an empty label vector as
    /// `flag` 0, `label` 0, which reads back as the one label 0.)
    public func payload() -> [UInt8] {
        let vector = storesLabelVector || labels.count != 1
        var out = [UInt8]()
        out.reserveCapacity(Self.headerLength + (vector ? 4 * labels.count : 0) + image.count)
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) } }
        append(UInt32(vector ? labels.count : 0))
        append(vector ? UInt32(0) : labels[0].bitPattern)
        append(id)
        append(id2)
        if vector { for label in labels { append(label.bitPattern) } }
        out.append(contentsOf: image)
        return out
    }

    /// Encodes a record payload (see ``payload()``).
    public static func encode(labels: [Float], id: UInt64 = 0, id2: UInt64 = 0, image: [UInt8], storesLabelVector: Bool? = nil) -> [UInt8] {
        MXNetImageRecord(labels: labels, id: id, id2: id2, image: image, storesLabelVector: storesLabelVector).payload()
    }

    /// Decodes the record's image (see ``ImageDecoder``); `source` names it in errors, e.g.
    /// a ``RecordLocation``'s description (`"train.rec: record 17 (byte 96)"`).
    public func decodedImage(channels: Int = 3, limits: ImageLimits = .default, source: String) throws(DataError) -> PixelImage {
        try ImageDecoder.decode(image, source: source, channels: channels, limits: limits)
    }
}

/// Streams the records of an MXNet image RecordIO (`.rec`) file one at a time — from a regular
/// file, a Pipe-mode FIFO, a descriptor or bytes in memory — with memory bounded by about one
/// record.
///
/// Framing (including multi-part records, which the dmlc writer produces when a payload contains
/// the magic number at a 4-aligned offset) is ``RecordIOFrameReader``'s; this reader parses each
/// payload as an ``MXNetImageRecord``. Errors are ``DataError/badRecord(_:_:)`` naming the file,
/// the 1-based record number and the record's byte offset.
///
/// The optional `.idx` companion file (`key<TAB>byte offset` lines, written by MXNet's
/// `MXIndexedRecordIO` and `im2rec`) only serves random access; sequential reading does not need
/// it and this reader ignores it.
public struct MXNetImageRecordReader {
    private var frames: RecordIOFrameReader
    private var payload: [UInt8] = []

    /// Names the input in errors.
    public var name: String { frames.name }
    /// Records returned so far.
    public var recordsRead: Int { frames.recordsRead }

    /// Opens a `.rec` file or a Pipe-mode FIFO (opening a FIFO waits for its writer).
    public init(path: String) throws(DataError) {
        frames = try RecordIOFrameReader(path: path)
    }

    /// Reads records from bytes in memory; `name` stands for them in errors.
    public init(bytes: [UInt8], name: String = "<image recordio>") {
        frames = RecordIOFrameReader(bytes: bytes, name: name)
    }

    /// Reads from an open descriptor; `closeWhenDone` hands it over.
    public init(fileDescriptor: Int32, name: String, closeWhenDone: Bool = false) {
        frames = RecordIOFrameReader(fileDescriptor: fileDescriptor, name: name, closeWhenDone: closeWhenDone)
    }

    /// Reads from a `FileHandle`, which the reader keeps open and never closes.
    public init(fileHandle: FileHandle, name: String) {
        frames = RecordIOFrameReader(fileHandle: fileHandle, name: name)
    }

    /// The next record and where it is, or `nil` at the end of the stream. Use the location to
    /// name the record when its image fails to decode
    /// (`record.decodedImage(source: location.description)`).
    public mutating func nextRecord() throws(DataError) -> (record: MXNetImageRecord, location: RecordLocation)? {
        guard let location = try frames.nextPayload(into: &payload) else { return nil }
        do throws(RecordIOProblem) {
            let record = try payload.withUnsafeBufferPointer { (buffer) throws(RecordIOProblem) -> MXNetImageRecord in
                try MXNetImageRecord.parse(UnsafeRawBufferPointer(buffer))
            }
            return (record, location)
        } catch {
            throw .badRecord(location, error)
        }
    }

    /// The next record, or `nil` at the end of the stream.
    public mutating func next() throws(DataError) -> MXNetImageRecord? {
        try nextRecord()?.record
    }

    /// Every record of a `.rec` file held in memory, in order.
    public static func decode(_ bytes: [UInt8], name: String = "<image recordio>") throws(DataError) -> [MXNetImageRecord] {
        var reader = MXNetImageRecordReader(bytes: bytes, name: name)
        var records: [MXNetImageRecord] = []
        while let record = try reader.next() { records.append(record) }
        return records
    }

    /// The framed bytes of a `.rec` file holding `records`, exactly as MXNet's
    /// `MXRecordIO.write(pack(header, image))` writes them (dmlc framing, multi-part where a
    /// payload contains the magic number at a 4-aligned offset).
    public static func encode(_ records: [MXNetImageRecord], name: String = "<image recordio>") throws(DataError) -> [UInt8] {
        var writer = RecordIOFrameWriter(name: name)
        for record in records { try writer.append(record.payload()) }
        return writer.bytes
    }
}

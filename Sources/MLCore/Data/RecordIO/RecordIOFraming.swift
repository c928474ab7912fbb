/// dmlc RecordIO framing, the layer under `application/x-recordio-protobuf` and MXNet `.rec` files.
///
/// Each record on the wire (all integers little-endian):
///
/// | offset | bytes | field |
/// | --- | --- | --- |
/// | 0 | 4 | magic `0xCED7230A` (`0A 23 D7 CE`) |
/// | 4 | 4 | `lrec = cflag << 29 \| length` |
/// | 8 | `length` | payload part |
/// | 8 + length | 0–3 | zero padding to a multiple of 4 |
///
/// `cflag` is 0 for a whole record. A payload that contains the magic number at a 4-aligned
/// offset is split there by the dmlc writer — those 4 bytes dropped — into a first part
/// (`cflag` 1), middle parts (2) and a last part (3); the reader puts the magic back between
/// parts. The split exists so that a reader can resynchronise on the magic number after
/// seeking into the middle of a file: no aligned magic ever appears inside a part.
///
/// ``RecordIOFrameWriter`` writes exactly the bytes dmlc's `RecordIOWriter::WriteRecord` writes;
/// ``RecordIOFrameReader`` reads them (from memory, a file or a Pipe-mode FIFO) with stricter
/// checks than dmlc's reader: the continuation flags must form a valid sequence.
public enum RecordIOFraming {
    /// The magic number that starts every record header.
    public static let magic: UInt32 = 0xCED7_230A
    /// The magic number's bytes as they appear in a stream.
    public static let magicBytes: [UInt8] = [0x0A, 0x23, 0xD7, 0xCE]
    /// The largest payload dmlc accepts (`size < 2^29` in `RecordIOWriter::WriteRecord`; the
    /// length field has 29 bits).
    public static let maximumPayloadLength = (1 << 29) - 1
    /// Size of a record (or part) header.
    public static let headerLength = 8

    static let lengthMask: UInt32 = (1 << 29) - 1

    /// `length` rounded up to a multiple of 4: the bytes a part occupies after its header.
    @inlinable
    public static func paddedLength(_ length: Int) -> Int { (length + 3) & ~3 }

    /// The framed bytes of `payloads`, one record each, exactly as dmlc writes them.
    /// `name` stands for the output in errors (a payload of 2^29 bytes or more).
    public static func encode(_ payloads: [[UInt8]], name: String = "<recordio>") throws(DataError) -> [UInt8] {
        var writer = RecordIOFrameWriter(name: name)
        for payload in payloads { try writer.append(payload) }
        return writer.bytes
    }

    /// Every record payload in `bytes` (multi-part records reassembled), in order.
    /// `name` stands for the input in errors.
    public static func decode(_ bytes: [UInt8], name: String = "<recordio>") throws(DataError) -> [[UInt8]] {
        var reader = RecordIOFrameReader(bytes: bytes, name: name)
        var payloads: [[UInt8]] = []
        while let payload = try reader.next() { payloads.append(payload) }
        return payloads
    }
}

/// Builds a dmlc RecordIO byte stream in memory, record by record.
///
/// Writes what `dmlc::RecordIOWriter::WriteRecord` writes: the payload is scanned at offsets
/// 0, 4, 8, … below `length & ~3`; at each aligned copy of the magic number the current part
/// ends (`cflag` 1 for the first part, 2 after) and those 4 bytes are dropped; the rest is the
/// last part (`cflag` 3, or 0 when nothing was split), followed by the padding of the *total*
/// length. Split points are 4-aligned, so only the last part is ever padded.
public struct RecordIOFrameWriter: Sendable {
    /// Names the output in errors.
    public let name: String
    /// The stream so far.
    public private(set) var bytes: [UInt8]
    /// Records appended so far.
    public private(set) var records = 0
    /// Records that needed splitting because their payload contains an aligned magic number
    /// (dmlc's `except_counter_`).
    public private(set) var splitRecords = 0

    public init(name: String = "<recordio>", reservingCapacity capacity: Int = 0) {
        self.name = name
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Appends one record. A payload of 2^29 bytes or more is ``RecordIOProblem/payloadTooLarge(bytes:)``.
    public mutating func append(_ payload: [UInt8]) throws(DataError) {
        var failure: DataError?
        payload.withUnsafeBytes { raw in
            do throws(DataError) { try append(raw) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Appends one record from raw bytes (see `append(_: [UInt8])`).
    public mutating func append(_ payload: UnsafeRawBufferPointer) throws(DataError) {
        let length = payload.count
        guard length <= RecordIOFraming.maximumPayloadLength else {
            throw .badRecord(RecordLocation(file: name, record: records + 1, byteOffset: bytes.count),
                             .payloadTooLarge(bytes: length))
        }
        let lowerAlign = length & ~3
        var partStart = 0
        var offset = 0
        while offset < lowerAlign {
            // Byte comparisons, as dmlc does, so unaligned buffers are fine.
            if payload[offset] == 0x0A && payload[offset + 1] == 0x23
                && payload[offset + 2] == 0xD7 && payload[offset + 3] == 0xCE {
                appendHeader(flag: partStart == 0 ? 1 : 2, length: offset - partStart)
                bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: payload[partStart..<offset]))
                partStart = offset + 4
            }
            offset += 4
        }
        if partStart > 0 { splitRecords += 1 }
        appendHeader(flag: partStart > 0 ? 3 : 0, length: length - partStart)
        bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: payload[partStart..<length]))
        bytes.append(contentsOf: repeatElement(0, count: RecordIOFraming.paddedLength(length) - length))
        records += 1
    }

    private mutating func appendHeader(flag: UInt32, length: Int) {
        // `length` ≤ maximumPayloadLength was checked by the caller, so it fits in 29 bits.
        let lrec = flag << 29 | UInt32(length)
        withUnsafeBytes(of: RecordIOFraming.magic.littleEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: lrec.littleEndian) { bytes.append(contentsOf: $0) }
    }
}

/// Where a RecordIO record sits: the file (or stream), the record's 1-based number within it and
/// the byte offset of its first header.
public struct RecordLocation: Equatable, Sendable, CustomStringConvertible {
    public var file: String
    /// 1-based: the first record of each file is record 1.
    public var record: Int
    /// Byte offset of the record's first 8-byte header within the file or stream.
    public var byteOffset: Int

    public init(file: String, record: Int, byteOffset: Int) {
        self.file = file
        self.record = record
        self.byteOffset = byteOffset
    }

    /// `file: record 3 (byte 96)`.
    public var description: String { "\(file): record \(record) (byte \(byteOffset))" }
}

/// The rule a RecordIO record breaks, carried by ``DataError/badRecord(_:_:)``.
///
/// Framing problems (the dmlc layer, see ``RecordIOFraming``) come first, then protobuf-content
/// problems (see ``RecordIOProtobufReader``), then MXNet image-record problems (see
/// ``MXNetImageRecord``). Each message says what was expected.
public enum RecordIOProblem: Error, Equatable, Sendable, CustomStringConvertible {
    // MARK: Framing

    /// The stream ends inside an 8-byte record header (`bytes` of it are present).
    case truncatedHeader(bytes: Int)
    /// The first 4 bytes of a header are not the magic number `0xCED7230A` (`0A 23 D7 CE`).
    case badMagic(found: UInt32)
    /// The stream ends inside a payload or its padding: `expected` bytes (payload + padding) of
    /// the part starting at `partOffset`, `got` present.
    case truncatedPayload(partOffset: Int, expected: Int, got: Int)
    /// A continuation flag out of sequence: a record starts with `2`/`3`, a multi-part record
    /// continues with `0`/`1`, or the flag is above 3.
    case badContinuationFlag(flag: Int, partOffset: Int, insideMultipart: Bool)
    /// The stream ends after the first or a middle part of a multi-part record.
    case unfinishedMultipart(parts: Int)
    /// A payload the dmlc format cannot hold (it must be below 2^29 bytes).
    case payloadTooLarge(bytes: Int)

    // MARK: RecordIO-protobuf content

    /// The payload is not a valid `aialgs.data.Record` message.
    case invalidProtobuf(reason: String)
    /// A required map key is absent (`map` is `"features"` or `"label"`).
    case missingKey(map: String, key: String)
    /// A `Value` with none of its tensors set, or a kind this reader cannot use (`Bytes`).
    case unsupportedValue(map: String, key: String, kind: String)
    /// A sparse tensor whose `keys` and `values` differ in length.
    case keysValuesMismatch(map: String, keys: Int, values: Int)
    /// A sparse tensor (non-empty `keys`) without a `shape`.
    case sparseWithoutShape(map: String)
    /// A sparse key at or beyond the number of elements the shape holds.
    case keyOutOfRange(map: String, key: UInt64, size: UInt64)
    /// The same sparse key twice in one tensor.
    case duplicateKey(map: String, key: UInt64)
    /// A dense tensor whose value count is not the product of its shape.
    case shapeMismatch(map: String, values: Int, shape: [UInt64])
    /// A shape whose element count does not fit the reader's index type.
    case shapeTooLarge(map: String, shape: [UInt64])
    /// A row whose feature dimension differs from earlier rows'.
    case dimensionMismatch(expected: Int, got: Int, firstRecord: String)
    /// A row without `label["values"]` after labelled rows, or with one after unlabelled rows.
    case labelPresenceMismatch(hasLabel: Bool, firstRecord: String)
    /// `label["values"]` holds no value.
    case emptyLabel

    // MARK: MXNet image-record content

    /// A payload shorter than the 24-byte `IRHeader` (see ``MXNetImageRecord``).
    case imageRecordTooShort(bytes: Int)
    /// A header whose `flag` announces more float32 labels than the payload holds.
    case imageRecordLabelsExceedPayload(flag: UInt32, bytes: Int)
    /// A payload that ends after its header (and labels): no image bytes.
    case imageRecordWithoutImage(flag: UInt32)

    public var description: String {
        switch self {
        case let .truncatedHeader(bytes):
            return "the stream ends inside a record header (\(bytes) of its 8 bytes present); the file is truncated"
        case let .badMagic(found):
            return "bad magic number 0x\(hex(found)) (expected 0xCED7230A, bytes 0A 23 D7 CE); this is not RecordIO, or an earlier record's length is wrong"
        case let .truncatedPayload(partOffset, expected, got):
            return "the stream ends inside the payload starting at byte \(partOffset): \(expected) bytes (payload and padding) expected, \(got) present; the file is truncated"
        case let .badContinuationFlag(flag, partOffset, insideMultipart):
            let expected = insideMultipart ? "2 (middle part) or 3 (last part) inside a multi-part record"
                : "0 (whole record) or 1 (first part) at the start of a record"
            return "continuation flag \(flag) in the header at byte \(partOffset); expected \(expected)"
        case let .unfinishedMultipart(parts):
            return "the stream ends after part \(parts) of a multi-part record (no part with continuation flag 3); the file is truncated"
        case let .payloadTooLarge(bytes):
            return "a payload of \(bytes) bytes does not fit dmlc RecordIO (at most 2^29 - 1 = 536870911 bytes); split the data into smaller records"
        case let .invalidProtobuf(reason):
            return "the payload is not a valid aialgs.data.Record protobuf message (\(reason))"
        case let .missingKey(map, key):
            return "\(map)[\"\(key)\"] is missing; SageMaker RecordIO-protobuf puts the \(map == "label" ? "label" : "feature vector") under the key \"\(key)\""
        case let .unsupportedValue(map, key, kind):
            return "\(map)[\"\(key)\"] holds \(kind); expected a float32, float64 or int32 tensor"
        case let .keysValuesMismatch(map, keys, values):
            return "\(map): sparse tensor has \(keys) keys but \(values) values; each value needs one key"
        case let .sparseWithoutShape(map):
            return "\(map): sparse tensor (keys present) has no shape; set shape to [feature_dim]"
        case let .keyOutOfRange(map, key, size):
            return "\(map): sparse key \(key) is out of range for a shape of \(size) elements (keys are 0-based)"
        case let .duplicateKey(map, key):
            return "\(map): sparse key \(key) appears more than once"
        case let .shapeMismatch(map, values, shape):
            return "\(map): dense tensor has \(values) values but its shape \(shape) holds \(shape.reduce(UInt64(1)) { $0 &* $1 })"
        case let .shapeTooLarge(map, shape):
            return "\(map): shape \(shape) has more elements than this reader supports (at most 2^31)"
        case let .dimensionMismatch(expected, got, firstRecord):
            return "the row has \(got) features but \(firstRecord) has \(expected); every record needs the same feature dimension"
        case let .labelPresenceMismatch(hasLabel, firstRecord):
            return hasLabel
                ? "the record has label[\"values\"] but \(firstRecord) has none; label every record or none"
                : "label[\"values\"] is missing but \(firstRecord) has one; label every record or none"
        case .emptyLabel:
            return "label[\"values\"] holds no value; expected one (the first value is the label)"
        case let .imageRecordTooShort(bytes):
            return "the payload has \(bytes) bytes, fewer than the 24-byte MXNet image record header (IRHeader '<IfQQ': flag, label, id, id2); this is not an MXNet image .rec file"
        case let .imageRecordLabelsExceedPayload(flag, bytes):
            return "the image record header's flag says \(flag) float32 labels (\(UInt64(flag) * 4) bytes) follow it, but only \(bytes) bytes do; the record is corrupt"
        case let .imageRecordWithoutImage(flag):
            return "the image record holds no image bytes after its header\(flag > 0 ? " and \(flag) labels" : ""); expected an encoded JPEG or PNG"
        }
    }
}

private func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
}

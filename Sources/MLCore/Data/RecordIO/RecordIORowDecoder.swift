/// The three generated tensor messages, seen alike so one generic routine converts each.
protocol RecordIOTensorMessage {
    associatedtype Element: RecordIONumber
    var values: [Element] { get }
    var keys: [UInt64] { get }
    var shape: [UInt64] { get }
}

extension Aialgs_Data_Float32Tensor: RecordIOTensorMessage {}
extension Aialgs_Data_Float64Tensor: RecordIOTensorMessage {}
extension Aialgs_Data_Int32Tensor: RecordIOTensorMessage {}

/// A tensor element type, converted to `Float` with rounding to nearest (float64 values beyond
/// Float's range become ±infinity; int32 magnitudes above 2^24 lose their low bits).
protocol RecordIONumber {
    var floatValue: Float { get }
}

extension Float: RecordIONumber { var floatValue: Float { self } }
extension Double: RecordIONumber { var floatValue: Float { Float(self) } }
extension Int32: RecordIONumber { var floatValue: Float { Float(self) } }

/// How a tensor lays out one row, after its keys, values and shape have been checked.
enum RecordIORowLayout: Equatable {
    /// Every element present: `width` values.
    case dense(width: Int)
    /// Non-zeros only, in a row `width` wide.
    case sparse(width: Int)

    var width: Int {
        switch self {
        case .dense(let w), .sparse(let w): w
        }
    }
}

/// The largest sparse width: ``SparseMatrix`` stores column indices as `Int32`.
let recordIOMaximumSparseWidth = Int(Int32.max) + 1

/// What a record holds under `features["values"]` or `label["values"]`, converted to `Float`.
///
/// Reused from record to record (capacities kept), so decoding rows allocates nothing once the
/// arrays have grown to the widest row.
struct RecordIOTensorSlot {
    enum Kind: Equatable {
        case missing, unset, bytes, float32, float64, int32

        /// As messages name it (``RecordIOValue``'s wording).
        var name: String {
            switch self {
            case .missing: "nothing"
            case .unset: "no tensor (an empty Value)"
            case .bytes: "Bytes"
            case .float32: "a float32 tensor"
            case .float64: "a float64 tensor"
            case .int32: "an int32 tensor"
            }
        }
    }

    var kind = Kind.missing
    var values: [Float] = []
    var keys: [UInt64] = []
    var shape: [UInt64] = []

    mutating func reset() {
        kind = .missing
        values.removeAll(keepingCapacity: true)
        keys.removeAll(keepingCapacity: true)
        shape.removeAll(keepingCapacity: true)
    }

    /// Loads a decoded `Value` (the general path).
    mutating func load(_ value: Aialgs_Data_Value) {
        reset()
        switch value.value {
        case .float32Tensor(let t)?: load(t, kind: .float32)
        case .float64Tensor(let t)?: load(t, kind: .float64)
        case .int32Tensor(let t)?: load(t, kind: .int32)
        case .bytes?: kind = .bytes
        case nil: kind = .unset
        }
    }

    private mutating func load<M: RecordIOTensorMessage>(_ tensor: M, kind: Kind) {
        self.kind = kind
        for v in tensor.values { values.append(v.floatValue) }
        keys.append(contentsOf: tensor.keys)
        shape.append(contentsOf: tensor.shape)
    }

    /// Checks the tensor and says how it lays out a row.
    ///
    /// - `keys` non-empty: sparse; `shape` is required, `keys.count == values.count`, and every
    ///   key is below the product of `shape` (checked when the row is appended).
    /// - `keys` empty, `shape` empty or matching `values.count`: dense, `values.count` wide.
    /// - `keys` and `values` empty but `shape` set: an all-zero sparse row `product(shape)`
    ///   wide — what the SageMaker SDK writes for an empty row of a scipy CSR matrix.
    func layout(map: String) throws(RecordIOProblem) -> RecordIORowLayout {
        if !keys.isEmpty {
            guard keys.count == values.count else {
                throw .keysValuesMismatch(map: map, keys: keys.count, values: values.count)
            }
            guard !shape.isEmpty else { throw .sparseWithoutShape(map: map) }
            let size = try elementCount(map: map)
            guard size <= recordIOMaximumSparseWidth else { throw .shapeTooLarge(map: map, shape: shape) }
            return .sparse(width: size)
        }
        if shape.isEmpty { return .dense(width: values.count) }
        let size = try elementCount(map: map)
        if size == values.count { return .dense(width: size) }
        if values.isEmpty, size <= recordIOMaximumSparseWidth { return .sparse(width: size) }
        throw .shapeMismatch(map: map, values: values.count, shape: shape)
    }

    /// The product of `shape`, or ``RecordIOProblem/shapeTooLarge(map:shape:)`` when it does not fit an `Int`.
    private func elementCount(map: String) throws(RecordIOProblem) -> Int {
        var size = 1
        for d in shape {
            guard d <= UInt64(Int.max) else { throw .shapeTooLarge(map: map, shape: shape) }
            let (p, overflow) = size.multipliedReportingOverflow(by: Int(d))
            guard !overflow else { throw .shapeTooLarge(map: map, shape: shape) }
            size = p
        }
        return size
    }

    /// Element 0 of the label tensor: the first dense value, or for a sparse tensor the value at
    /// key 0 (0 when key 0 is absent). `nil` when the record has no label.
    func labelValue() throws(RecordIOProblem) -> Float? {
        switch kind {
        case .missing: return nil
        case .unset, .bytes: throw .unsupportedValue(map: "label", key: "values", kind: kind.name)
        case .float32, .float64, .int32: break
        }
        if keys.isEmpty {
            guard let first = values.first else { throw .emptyLabel }
            return first
        }
        guard keys.count == values.count else {
            throw .keysValuesMismatch(map: "label", keys: keys.count, values: values.count)
        }
        guard let at = keys.firstIndex(of: 0) else { return 0 }
        return values[at]
    }
}

/// Decodes the `features["values"]` and `label["values"]` of a record payload into slots.
///
/// Most records have exactly one shape: one `features` entry and at most one `label` entry,
/// both keyed `"values"`, each a tensor with packed fields — what every SageMaker writer
/// produces. Those are read straight from the bytes (``decodeSimple(_:features:label:)``), about
/// ten times faster than building the generated message, whose packed-float decoding appends
/// element by element. Anything else — unpacked fields, other keys, `uid`, unknown fields,
/// repeated entries, malformed bytes — takes the general path through SwiftProtobuf, so both
/// paths give the same result and every protobuf error comes from one decoder.
enum RecordIORowDecoder {
    static func decode(
        _ payload: [UInt8], location: RecordLocation,
        features: inout RecordIOTensorSlot, label: inout RecordIOTensorSlot
    ) throws(DataError) {
        let simple = payload.withUnsafeBytes { decodeSimple($0, features: &features, label: &label) }
        if simple { return }
        let message = try RecordIOProtobufRecord.decodeMessage(payload, location: location)
        if let value = message.features["values"] { features.load(value) } else { features.reset() }
        if let value = message.label["values"] { label.load(value) } else { label.reset() }
    }

    /// Fills the slots from a payload of the simple shape described above and returns `true`;
    /// returns `false` (slots in any state) for anything else.
    static func decodeSimple(
        _ bytes: UnsafeRawBufferPointer, features: inout RecordIOTensorSlot, label: inout RecordIOTensorSlot
    ) -> Bool {
        #if _endian(big)
        return false  // the float loads below assume little-endian memory
        #else
        features.reset()
        label.reset()
        var reader = WireReader(bytes, 0..<bytes.count)
        while !reader.atEnd {
            // Record: features = 1, label = 2 (map entries); anything else is unusual.
            guard let (field, entry) = reader.lengthDelimitedField(), field == 1 || field == 2 else { return false }
            if field == 1 {
                guard features.kind == .missing, decodeEntry(bytes, entry, into: &features) else { return false }
            } else {
                guard label.kind == .missing, decodeEntry(bytes, entry, into: &label) else { return false }
            }
        }
        return true
        #endif
    }

    /// A map entry `{ key = 1: "values", value = 2: Value }`.
    private static func decodeEntry(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, into slot: inout RecordIOTensorSlot) -> Bool {
        var reader = WireReader(bytes, range)
        var keyIsValues = false
        var value: Range<Int>?
        while !reader.atEnd {
            guard let (field, content) = reader.lengthDelimitedField() else { return false }
            switch field {
            case 1:
                guard !keyIsValues, content.count == 6 else { return false }
                keyIsValues = bytes[content.lowerBound] == 0x76 && bytes[content.lowerBound + 1] == 0x61
                    && bytes[content.lowerBound + 2] == 0x6C && bytes[content.lowerBound + 3] == 0x75
                    && bytes[content.lowerBound + 4] == 0x65 && bytes[content.lowerBound + 5] == 0x73  // "values"
                guard keyIsValues else { return false }
            case 2:
                guard value == nil else { return false }
                value = content
            default:
                return false
            }
        }
        guard keyIsValues else { return false }
        guard let value else {
            slot.kind = .unset  // an entry without a value holds the default (empty) Value
            return true
        }
        return decodeValue(bytes, value, into: &slot)
    }

    /// A `Value` holding one tensor: `float32_tensor = 2`, `float64_tensor = 3`, `int32_tensor = 7`.
    private static func decodeValue(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, into slot: inout RecordIOTensorSlot) -> Bool {
        var reader = WireReader(bytes, range)
        slot.kind = .unset
        while !reader.atEnd {
            guard slot.kind == .unset, let (field, tensor) = reader.lengthDelimitedField() else { return false }
            switch field {
            case 2: slot.kind = .float32
            case 3: slot.kind = .float64
            case 7: slot.kind = .int32
            default: return false
            }
            guard decodeTensor(bytes, tensor, into: &slot) else { return false }
        }
        return true
    }

    /// A tensor with packed `values = 1`, `keys = 2`, `shape = 3`, each at most once.
    private static func decodeTensor(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, into slot: inout RecordIOTensorSlot) -> Bool {
        var reader = WireReader(bytes, range)
        var seen = (values: false, keys: false, shape: false)
        while !reader.atEnd {
            guard let (field, content) = reader.lengthDelimitedField() else { return false }
            switch field {
            case 1:
                guard !seen.values else { return false }
                seen.values = true
                guard decodeValues(bytes, content, kind: slot.kind, into: &slot.values) else { return false }
            case 2:
                guard !seen.keys else { return false }
                seen.keys = true
                var keys = WireReader(bytes, content)
                guard keys.varints(into: &slot.keys) else { return false }
            case 3:
                guard !seen.shape else { return false }
                seen.shape = true
                var shape = WireReader(bytes, content)
                guard shape.varints(into: &slot.shape) else { return false }
            default:
                return false
            }
        }
        return true
    }

    private static func decodeValues(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, kind: RecordIOTensorSlot.Kind, into values: inout [Float]) -> Bool {
        switch kind {
        case .float32:
            guard range.count % 4 == 0 else { return false }
            let n = range.count / 4
            values.reserveCapacity(n)
            for i in 0..<n { values.append(bytes.loadUnaligned(fromByteOffset: range.lowerBound + 4 * i, as: Float.self)) }
            return true
        case .float64:
            guard range.count % 8 == 0 else { return false }
            let n = range.count / 8
            values.reserveCapacity(n)
            for i in 0..<n { values.append(Float(bytes.loadUnaligned(fromByteOffset: range.lowerBound + 8 * i, as: Double.self))) }
            return true
        case .int32:
            // int32 is a varint of the sign-extended 64-bit value; protobuf keeps the low 32 bits.
            var reader = WireReader(bytes, range)
            while !reader.atEnd {
                guard let v = reader.varint() else { return false }
                values.append(Float(Int32(truncatingIfNeeded: v)))
            }
            return true
        case .missing, .unset, .bytes:
            return false
        }
    }
}

/// Bounds-checked reads of protobuf wire format within a byte range.
private struct WireReader {
    let bytes: UnsafeRawBufferPointer
    var position: Int
    let end: Int

    init(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) {
        self.bytes = bytes
        position = range.lowerBound
        end = range.upperBound
    }

    var atEnd: Bool { position >= end }

    /// A base-128 varint of at most 10 bytes, or `nil` if it runs past the range or is too long.
    mutating func varint() -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while position < end, shift < 64 {
            let byte = bytes[position]
            position += 1
            // The 10th byte holds only bit 63; leave anything over-long to the general decoder.
            if shift == 63 && byte > 1 { return nil }
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
        return nil
    }

    /// The next field if it is length-delimited (wire type 2): its number and content range.
    mutating func lengthDelimitedField() -> (Int, Range<Int>)? {
        guard let tag = varint(), tag & 7 == 2, tag >> 3 <= UInt64(Int32.max), tag >> 3 > 0,
              let length = varint(), length <= UInt64(end - position)
        else { return nil }
        let start = position
        position += Int(length)
        return (Int(tag >> 3), start..<position)
    }

    /// Every varint to the end of the range (a packed `uint64` field).
    mutating func varints(into out: inout [UInt64]) -> Bool {
        while !atEnd {
            guard let v = varint() else { return false }
            out.append(v)
        }
        return true
    }
}

import Foundation
import SwiftProtobuf

/// One tensor of a RecordIO-protobuf record (`Float32Tensor`, `Float64Tensor` or `Int32Tensor`).
///
/// Dense: `values` holds every element (row-major when `shape` has several dimensions) and
/// `keys` is empty. Sparse: `values` holds the non-zeros, `keys` their 0-based flat
/// (row-major) indices and `shape` is required.
public struct RecordIOTensor<Element: Sendable & Equatable>: Sendable, Equatable {
    public var values: [Element]
    public var keys: [UInt64]
    public var shape: [UInt64]

    public init(values: [Element], keys: [UInt64] = [], shape: [UInt64] = []) {
        self.values = values
        self.keys = keys
        self.shape = shape
    }

    /// Whether `keys` is non-empty (the format's definition of a sparse tensor).
    public var isSparse: Bool { !keys.isEmpty }
}

/// A value of a record's `features` or `label` map (the protobuf `Value` message, whose
/// `oneof` holds one tensor).
public enum RecordIOValue: Sendable, Equatable {
    case float32(RecordIOTensor<Float>)
    case float64(RecordIOTensor<Double>)
    case int32(RecordIOTensor<Int32>)
    /// Opaque bytes (`Bytes`; the AWS documentation says it "may not immediately be supported").
    case bytes([[UInt8]], contentType: String?)
    /// A `Value` with none of its fields set.
    case unset

    /// A dense float32 tensor of `values`: how responses and labels are written.
    public static func dense(_ values: [Float]) -> RecordIOValue { .float32(RecordIOTensor(values: values)) }

    /// The values converted to `Float` (dense elements, or the non-zeros of a sparse tensor);
    /// `nil` for ``bytes(_:contentType:)`` and ``unset``.
    public var floatValues: [Float]? {
        switch self {
        case .float32(let t): t.values
        case .float64(let t): t.values.map { Float($0) }
        case .int32(let t): t.values.map { Float($0) }
        case .bytes, .unset: nil
        }
    }
}

/// One `aialgs.data.Record` message, with every map entry kept.
///
/// ``RecordIOProtobufReader`` turns the usual `features["values"]` / `label["values"]` into
/// ``Batch``es; this type is for everything else: other feature keys, several label keys, and
/// the inference responses algorithms write (`score`, `predicted_label`, `closest_cluster`,
/// `projection`, … in `label`, `features` empty).
public struct RecordIOProtobufRecord: Sendable, Equatable {
    public var features: [String: RecordIOValue]
    public var label: [String: RecordIOValue]
    /// Not used by algorithms; a debugging aid. `nil` when absent.
    public var uid: String?
    /// Free text or JSON about the record's source. `nil` when absent.
    public var metadata: String?
    /// Per-record JSON configuration (batch inference options). `nil` when absent.
    public var configuration: String?

    public init(
        features: [String: RecordIOValue] = [:], label: [String: RecordIOValue] = [:],
        uid: String? = nil, metadata: String? = nil, configuration: String? = nil
    ) {
        self.features = features
        self.label = label
        self.uid = uid
        self.metadata = metadata
        self.configuration = configuration
    }

    /// Decodes one record payload (the bytes inside the RecordIO framing).
    /// A payload that is not a valid `Record` is ``RecordIOProblem/invalidProtobuf(reason:)`` at `location`.
    public init(serializedBytes payload: [UInt8], location: RecordLocation) throws(DataError) {
        self.init(try Self.decodeMessage(payload, location: location))
    }

    /// The protobuf encoding of the record (the payload to frame). Map entries are written in
    /// key order, so equal records always give equal bytes.
    public func serializedBytes() -> [UInt8] { Self.serialize(message) }

    // MARK: Generated-message bridge

    static func decodeMessage(_ payload: [UInt8], location: RecordLocation) throws(DataError) -> Aialgs_Data_Record {
        do {
            return try Aialgs_Data_Record(serializedBytes: payload)
        } catch {
            throw .badRecord(location, .invalidProtobuf(reason: String(describing: error)))
        }
    }

    static func serialize(_ message: Aialgs_Data_Record) -> [UInt8] {
        var options = BinaryEncodingOptions()
        options.useDeterministicOrdering = true
        do {
            return try message.serializedBytes(options: options)
        } catch {
            // invariant: proto2 without required fields always encodes; the one other failure is
            // a message of 2 GiB or more, which the framing could not hold either.
            preconditionFailure("RecordIO-protobuf record could not be encoded: \(error)")
        }
    }

    init(_ message: Aialgs_Data_Record) {
        features = message.features.mapValues(RecordIOValue.init)
        label = message.label.mapValues(RecordIOValue.init)
        uid = message.hasUid ? message.uid : nil
        metadata = message.hasMetadata ? message.metadata : nil
        configuration = message.hasConfiguration ? message.configuration : nil
    }

    var message: Aialgs_Data_Record {
        var m = Aialgs_Data_Record()
        m.features = features.mapValues(\.message)
        m.label = label.mapValues(\.message)
        if let uid { m.uid = uid }
        if let metadata { m.metadata = metadata }
        if let configuration { m.configuration = configuration }
        return m
    }
}

extension RecordIOValue {
    init(_ value: Aialgs_Data_Value) {
        switch value.value {
        case .float32Tensor(let t)?: self = .float32(RecordIOTensor(values: t.values, keys: t.keys, shape: t.shape))
        case .float64Tensor(let t)?: self = .float64(RecordIOTensor(values: t.values, keys: t.keys, shape: t.shape))
        case .int32Tensor(let t)?: self = .int32(RecordIOTensor(values: t.values, keys: t.keys, shape: t.shape))
        case .bytes(let b)?: self = .bytes(b.value.map { [UInt8]($0) }, contentType: b.hasContentType ? b.contentType : nil)
        case nil: self = .unset
        }
    }

    var message: Aialgs_Data_Value {
        var v = Aialgs_Data_Value()
        switch self {
        case .float32(let t):
            var m = Aialgs_Data_Float32Tensor()
            (m.values, m.keys, m.shape) = (t.values, t.keys, t.shape)
            v.value = .float32Tensor(m)
        case .float64(let t):
            var m = Aialgs_Data_Float64Tensor()
            (m.values, m.keys, m.shape) = (t.values, t.keys, t.shape)
            v.value = .float64Tensor(m)
        case .int32(let t):
            var m = Aialgs_Data_Int32Tensor()
            (m.values, m.keys, m.shape) = (t.values, t.keys, t.shape)
            v.value = .int32Tensor(m)
        case .bytes(let items, let contentType):
            var m = Aialgs_Data_Bytes()
            m.value = items.map { Data($0) }
            if let contentType { m.contentType = contentType }
            v.value = .bytes(m)
        case .unset:
            break
        }
        return v
    }
}

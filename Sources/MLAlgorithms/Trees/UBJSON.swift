import Foundation

/// A JSON document as values: what XGBoost's JSON and UBJSON model files both decode to.
public indirect enum JSONValue: Sendable, Equatable {
    case object([String: JSONValue])
    case array([JSONValue])
    case number(Double)
    case string(String)
    case bool(Bool)
    case null

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public var array: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    public var string: String? { if case .string(let s) = self { s } else { nil } }
    /// A number, or a string holding one (XGBoost writes parameters as strings).
    public var number: Double? {
        switch self {
        case .number(let v): v
        case .string(let s): Double(s)
        case .bool(let b): b ? 1 : 0
        default: nil
        }
    }

    /// Parses JSON text.
    public static func parse(json data: Data) throws(ModelFormatError) -> JSONValue {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw ModelFormatError("not valid JSON: \(error.localizedDescription)")
        }
        return convert(object)
    }

    private static func convert(_ any: Any) -> JSONValue {
        switch any {
        case let d as [String: Any]: return .object(d.mapValues(convert))
        case let a as [Any]: return .array(a.map(convert))
        case let s as String: return .string(s)
        case let n as NSNumber:
            // JSONSerialization gives booleans as NSNumber too; their type encoding is 'c'.
            if String(cString: n.objCType) == "c" { return .bool(n.boolValue) }
            return .number(n.doubleValue)
        default: return .null
        }
    }
}

/// A model file MLCore cannot read, with where and why.
public struct ModelFormatError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Universal Binary JSON (ubjson.org, draft 12), as XGBoost's `save_model("*.ubj")` writes it:
/// big-endian numbers, strongly typed and counted containers (`[$d#L…`), keys without a type
/// marker. Every length and count is checked against the bytes that remain, so a file that lies
/// about its sizes is an error, never a crash or a huge allocation.
public struct UBJSONDecoder {
    let bytes: [UInt8]
    var position = 0
    var depth = 0
    /// How many more elements without payload (typed `Z`, `T`, `F` containers) may be decoded.
    var payloadlessBudget: Int64


    public static func decode(_ data: Data) throws(ModelFormatError) -> JSONValue {
        var decoder = UBJSONDecoder(bytes: [UInt8](data))
        let value = try decoder.value()
        return value
    }

    init(bytes: [UInt8]) {
        self.bytes = bytes
        payloadlessBudget = Int64(bytes.count)
    }

    mutating func byte() throws(ModelFormatError) -> UInt8 {
        guard position < bytes.count else { throw ModelFormatError("UBJSON ends early at byte \(position)") }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func bigEndian(_ count: Int) throws(ModelFormatError) -> UInt64 {
        guard bytes.count - position >= count else { throw ModelFormatError("UBJSON ends early at byte \(position) (needs \(count) bytes)") }
        var v: UInt64 = 0
        for i in 0..<count { v = v << 8 | UInt64(bytes[position + i]) }
        position += count
        return v
    }

    mutating func value() throws(ModelFormatError) -> JSONValue {
        var marker = try byte()
        while marker == UInt8(ascii: "N") { marker = try byte() }
        return try value(marker: marker)
    }

    mutating func integer(marker: UInt8) throws(ModelFormatError) -> Int64 {
        switch marker {
        case UInt8(ascii: "i"): return Int64(Int8(bitPattern: UInt8(try bigEndian(1))))
        case UInt8(ascii: "U"): return Int64(try bigEndian(1))
        case UInt8(ascii: "I"): return Int64(Int16(bitPattern: UInt16(try bigEndian(2))))
        case UInt8(ascii: "l"): return Int64(Int32(bitPattern: UInt32(try bigEndian(4))))
        case UInt8(ascii: "L"): return Int64(bitPattern: try bigEndian(8))
        default: throw ModelFormatError("UBJSON: expected an integer marker at byte \(position - 1), found \(Self.describe(marker))")
        }
    }

    /// A count or length: an integer marker and value, ≥ 0 and at most what the remaining bytes can hold.
    mutating func length(minimumBytesEach: Int) throws(ModelFormatError) -> Int {
        let at = position
        let n = try integer(marker: try byte())
        if minimumBytesEach == 0 {
            // Elements of no payload (typed null/true/false arrays) share one budget, the input's
            // size: a fixed cap per container (it was 2^26) let 9 bytes ask for 67 million
            // elements, and many small containers would each get the cap.
            guard n >= 0, n <= payloadlessBudget else {
                throw ModelFormatError("UBJSON: length \(n) at byte \(at) is negative or more elements without payload than the \(bytes.count)-byte input allows")
            }
            payloadlessBudget -= n
            return Int(n)
        }
        let most = Int64(bytes.count - position) / Int64(minimumBytesEach)
        guard n >= 0, n <= most else {
            throw ModelFormatError("UBJSON: length \(n) at byte \(at) is negative or exceeds the \(bytes.count - position) bytes left")
        }
        return Int(n)
    }

    static func describe(_ marker: UInt8) -> String {
        (32...126).contains(marker) ? "'\(Character(UnicodeScalar(marker)))'" : "0x" + String(marker, radix: 16)
    }

    static func size(of marker: UInt8) -> Int {
        switch marker {
        case UInt8(ascii: "i"), UInt8(ascii: "U"), UInt8(ascii: "C"): 1
        case UInt8(ascii: "I"): 2
        case UInt8(ascii: "l"), UInt8(ascii: "d"): 4
        case UInt8(ascii: "L"), UInt8(ascii: "D"): 8
        case UInt8(ascii: "Z"), UInt8(ascii: "T"), UInt8(ascii: "F"): 0
        default: 1
        }
    }

    mutating func value(marker: UInt8) throws(ModelFormatError) -> JSONValue {
        switch marker {
        case UInt8(ascii: "Z"): return .null
        case UInt8(ascii: "T"): return .bool(true)
        case UInt8(ascii: "F"): return .bool(false)
        case UInt8(ascii: "i"), UInt8(ascii: "U"), UInt8(ascii: "I"), UInt8(ascii: "l"), UInt8(ascii: "L"):
            return .number(Double(try integer(marker: marker)))
        case UInt8(ascii: "d"): return .number(Double(Float(bitPattern: UInt32(try bigEndian(4)))))
        case UInt8(ascii: "D"): return .number(Double(bitPattern: try bigEndian(8)))
        case UInt8(ascii: "C"): return .string(String(UnicodeScalar(try byte())))
        case UInt8(ascii: "S"), UInt8(ascii: "H"):
            let text = try string()
            return marker == UInt8(ascii: "H") ? .number(Double(text) ?? .nan) : .string(text)
        case UInt8(ascii: "["): return try container(array: true)
        case UInt8(ascii: "{"): return try container(array: false)
        default:
            throw ModelFormatError("UBJSON: unknown marker \(Self.describe(marker)) at byte \(position - 1)")
        }
    }

    mutating func string() throws(ModelFormatError) -> String {
        let n = try length(minimumBytesEach: 1)
        defer { position += n }
        return String(decoding: bytes[position..<(position + n)], as: UTF8.self)
    }

    mutating func container(array: Bool) throws(ModelFormatError) -> JSONValue {
        depth += 1
        defer { depth -= 1 }
        guard depth <= 256 else { throw ModelFormatError("UBJSON: containers nested deeper than 256 at byte \(position)") }
        var type: UInt8?
        var count: Int?
        if position < bytes.count, bytes[position] == UInt8(ascii: "$") {
            position += 1
            type = try byte()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "#") else {
                throw ModelFormatError("UBJSON: a typed container without a count at byte \(position)")
            }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "#") {
            position += 1
            // Each element takes at least its payload (a key takes ≥ 1 byte of length too).
            count = try length(minimumBytesEach: (type.map(Self.size(of:)) ?? 1) + (array ? 0 : 1))
        }
        var elements: [JSONValue] = []
        var members: [String: JSONValue] = [:]
        var index = 0
        while true {
            if let count {
                if index == count { break }
            } else if position < bytes.count, bytes[position] == UInt8(ascii: array ? "]" : "}") {
                position += 1
                break
            }
            let key = array ? "" : try string()
            let element: JSONValue
            if let type { element = try value(marker: type) } else { element = try value() }
            if array { elements.append(element) } else { members[key] = element }
            index += 1
        }
        return array ? .array(elements) : .object(members)
    }
}

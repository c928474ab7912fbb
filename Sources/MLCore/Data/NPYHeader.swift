/// The header of a NumPy `.npy` file, parsed and checked against the file size.
///
/// Layout (numpy `lib/format.py`, "NPY format"):
/// ```
/// \x93NUMPY  major minor  header_len  header
/// 6 bytes    1     1      2 (v1.0) or 4 (v2.0, v3.0) bytes, little-endian
/// ```
/// `header` is a Python dict literal, `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`,
/// padded with spaces and a newline; versions 1.0 and 2.0 encode it as latin-1, 3.0 as UTF-8.
/// The array data follows, row-major (C order) unless `fortran_order` is `True`.
///
/// Parsing is a small recursive-descent parser for the literal subset numpy writes (strings,
/// integers, `True`/`False`/`None`, tuples, lists), so keys may come in any order, with any
/// spacing and a trailing comma; `(5,)` is a 1-tuple and `()` the shape of a scalar. Python 2's
/// `5L` integers are accepted. As in numpy, the dict must have exactly the three keys.
///
/// Nothing here trusts the header: every count is checked for overflow and against the bytes
/// the file really holds before anything is allocated.
public struct NPYHeader: Sendable, Equatable {
    /// Element types this reader converts.
    public enum DType: String, Sendable, Equatable, CaseIterable {
        case float32, float64, int32, int64, uint8

        /// Bytes per element.
        public var size: Int {
            switch self {
            case .uint8: 1
            case .float32, .int32: 4
            case .float64, .int64: 8
            }
        }
    }

    /// Byte order of the elements on disk.
    public enum ByteOrder: Sendable, Equatable {
        case little, big

        /// The byte order of this machine.
        public static var host: ByteOrder { 1.littleEndian == 1 ? .little : .big }
    }

    /// Largest header accepted. A plain numeric array's header is under 200 bytes (numpy itself
    /// refuses headers over 10,000 bytes by default); the limit keeps a corrupt length from
    /// turning into a giant allocation.
    public static let maximumHeaderLength = 65_536

    /// Format version, `(1, 0)`, `(2, 0)` or `(3, 0)`.
    public var majorVersion: Int
    public var minorVersion: Int
    /// The `descr` string as written (`"<f4"`).
    public var descr: String
    public var dtype: DType
    /// Byte order of the elements on disk (`=` and `|` mean this machine's).
    public var byteOrder: ByteOrder
    /// `fortran_order`. `True` is accepted only when the layout equals C order (at most one
    /// dimension larger than 1); otherwise ``NPYHeader/parse(prefix:headerBytes:fileSize:file:)``
    /// rejects the file.
    public var fortranOrder: Bool
    /// The array's shape as numpy sees it (`[]` for a scalar, `[N, C, H, W]` for images).
    public var shape: [Int]
    /// Byte offset of the first element.
    public var dataOffset: Int

    /// Number of elements, the product of ``shape`` (1 for a scalar).
    public var elementCount: Int
    /// Rows of the matrix view: `shape[0]`, or 1 for a scalar.
    public var rows: Int
    /// Columns of the matrix view: the product of `shape[1...]` (1 for 0-D and 1-D arrays).
    public var columns: Int
    /// Bytes per element.
    public var itemSize: Int { dtype.size }
    /// Bytes of element data, `elementCount * itemSize`.
    public var dataByteCount: Int { elementCount * itemSize }

    /// Length of the fixed preamble before `header_len`'s value and the header text, per version.
    static func preambleLength(major: Int) -> Int { major == 1 ? 10 : 12 }

    /// The magic string `\x93NUMPY`.
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]

    /// Reads and checks the header of the `.npy` file `file`.
    static func read(from file: PositionalFile) throws(DataError) -> NPYHeader {
        var prefix = [UInt8](repeating: 0, count: 12)
        let got = try file.read(into: &prefix, from: 0, at: 0)
        prefix.removeLast(12 - got)
        let headerLength = try headerLength(prefix: prefix, fileSize: file.size, file: file.path)
        let start = preambleLength(major: Int(prefix[6]))
        var headerBytes = [UInt8](repeating: 0, count: headerLength)
        let headerGot = try file.read(into: &headerBytes, from: 0, at: start)
        guard headerGot == headerLength else {
            throw DataError.truncated(DataLocation(file: file.path),
                                      reason: "the NPY header should be \(headerLength) bytes but the file ends after \(headerGot)")
        }
        return try parse(prefix: prefix, headerBytes: headerBytes, fileSize: file.size, file: file.path)
    }

    /// Checks the magic, the version and the header length in the first (up to 12) bytes and
    /// returns the header length.
    static func headerLength(prefix: [UInt8], fileSize: Int, file: String) throws(DataError) -> Int {
        let at = DataLocation(file: file, line: 1, column: 1)
        let magicPart = prefix.prefix(magic.count)
        guard magicPart.elementsEqual(magic.prefix(magicPart.count)) else {
            throw DataError.syntax(at, text: printable(prefix.prefix(6)),
                                   expected: "the NPY magic string \\x93NUMPY (this is not a .npy file)")
        }
        guard prefix.count >= 8 else {
            throw DataError.truncated(DataLocation(file: file),
                                      reason: "\(fileSize) bytes, shorter than the NPY preamble")
        }
        let major = Int(prefix[6]), minor = Int(prefix[7])
        guard (1...3).contains(major), minor == 0 else {
            throw DataError.unsupported(
                DataLocation(file: file, line: 1, column: 7),
                reason: "NPY format version \(major).\(minor) is not supported (1.0, 2.0 and 3.0 are); save with numpy.save")
        }
        let preamble = preambleLength(major: major)
        guard prefix.count >= preamble else {
            throw DataError.truncated(DataLocation(file: file),
                                      reason: "\(fileSize) bytes, shorter than the \(preamble)-byte NPY \(major).0 preamble")
        }
        let length = major == 1
            ? Int(prefix[8]) | Int(prefix[9]) << 8
            : Int(prefix[8]) | Int(prefix[9]) << 8 | Int(prefix[10]) << 16 | Int(prefix[11]) << 24
        guard length <= maximumHeaderLength else {
            throw DataError.unsupported(
                DataLocation(file: file, line: 1, column: 9),
                reason: "the NPY header length field says \(length) bytes, more than the \(maximumHeaderLength)-byte limit; the file is corrupt or not a plain numeric array")
        }
        guard length <= fileSize - preamble else {
            throw DataError.truncated(
                DataLocation(file: file),
                reason: "the NPY header length field says \(length) bytes but only \(fileSize - preamble) follow the preamble")
        }
        return length
    }

    /// Parses the header dict and checks the shape against `fileSize`.
    ///
    /// - Parameters:
    ///   - prefix: the file's first bytes (at least the preamble: magic, version, header length).
    ///   - headerBytes: the `header_len` bytes of the dict literal.
    static func parse(prefix: [UInt8], headerBytes: [UInt8], fileSize: Int, file: String) throws(DataError) -> NPYHeader {
        let length = try headerLength(prefix: prefix, fileSize: fileSize, file: file)
        let major = Int(prefix[6])
        let preamble = preambleLength(major: major)
        guard headerBytes.count == length else {
            throw DataError.truncated(DataLocation(file: file),
                                      reason: "the NPY header is \(headerBytes.count) bytes, not \(length)")
        }
        var parser = LiteralParser(bytes: headerBytes, utf8: major >= 3, columnOffset: preamble, file: file)
        let entries = try parser.parseHeaderDict()

        func location(_ entry: LiteralParser.Entry) -> DataLocation { parser.location(entry.valueOffset) }
        guard let descrEntry = entries["descr"], let orderEntry = entries["fortran_order"],
              let shapeEntry = entries["shape"], entries.count == 3
        else {
            let keys = entries.keys.sorted().map { "'\($0)'" }.joined(separator: ", ")
            throw DataError.syntax(parser.location(0), text: "{\(keys)}",
                                   expected: "a dict with exactly the keys 'descr', 'fortran_order' and 'shape'")
        }

        // descr
        let descr: String
        switch descrEntry.value {
        case .string(let s):
            descr = s
        case .list:
            throw DataError.unsupported(location(descrEntry),
                                        reason: "structured dtypes (a list 'descr') are not supported; save a plain numeric array")
        default:
            throw DataError.syntax(location(descrEntry), text: descrEntry.value.text, expected: "a dtype string such as '<f4'")
        }
        let (dtype, byteOrder) = try parseDescr(descr, at: location(descrEntry))

        // fortran_order
        guard case .bool(let fortranOrder) = orderEntry.value else {
            throw DataError.syntax(location(orderEntry), text: orderEntry.value.text, expected: "True or False")
        }

        // shape
        guard case .tuple(let items) = shapeEntry.value else {
            throw DataError.syntax(location(shapeEntry), text: shapeEntry.value.text,
                                   expected: "a tuple of non-negative integers such as (3, 4), (5,) or ()")
        }
        var shape: [Int] = []
        for item in items {
            switch item {
            case .integer(let value?) where value >= 0:
                shape.append(value)
            case .integer(nil):
                throw DataError.unsupported(location(shapeEntry),
                                            reason: "shape \(shapeEntry.value.text) has a dimension that does not fit in a 64-bit integer")
            case .integer:
                throw DataError.syntax(location(shapeEntry), text: shapeEntry.value.text,
                                       expected: "non-negative dimensions")
            default:
                throw DataError.syntax(location(shapeEntry), text: shapeEntry.value.text,
                                       expected: "a tuple of non-negative integers such as (3, 4), (5,) or ()")
            }
        }

        let shapeText = shapeEntry.value.text
        func product(_ dims: ArraySlice<Int>) throws(DataError) -> Int {
            if dims.contains(0) { return 0 }
            var result = 1
            for d in dims {
                let (p, overflow) = result.multipliedReportingOverflow(by: d)
                guard !overflow else {
                    throw DataError.unsupported(location(shapeEntry),
                                                reason: "shape \(shapeText) has more elements than fit in memory")
                }
                result = p
            }
            return result
        }
        let elementCount = try product(shape[...])
        let rows = shape.first ?? 1
        let columns = try product(shape.dropFirst())
        let (bytes, overflow) = elementCount.multipliedReportingOverflow(by: dtype.size)
        guard !overflow else {
            throw DataError.unsupported(location(shapeEntry), reason: "shape \(shapeText) has more bytes than fit in memory")
        }

        if fortranOrder && shape.filter({ $0 > 1 }).count > 1 {
            throw DataError.unsupported(
                location(orderEntry),
                reason: "the array is stored in Fortran (column-major) order; save it in C order with np.save(path, np.ascontiguousarray(a))")
        }

        let dataOffset = preamble + length
        let available = fileSize - dataOffset
        guard bytes <= available else {
            throw DataError.truncated(
                DataLocation(file: file),
                reason: "shape \(shapeText) of \(dtype.rawValue) needs \(bytes) bytes of data after the header but the file holds \(available)")
        }

        return NPYHeader(
            majorVersion: major, minorVersion: Int(prefix[7]), descr: descr, dtype: dtype, byteOrder: byteOrder,
            fortranOrder: fortranOrder, shape: shape, dataOffset: dataOffset,
            elementCount: elementCount, rows: rows, columns: columns)
    }

    /// `'<f4'` → (.float32, .little). Accepts `<`, `>`, `|`, `=` or no order character.
    static func parseDescr(_ descr: String, at: DataLocation) throws(DataError) -> (DType, ByteOrder) {
        var code = Substring(descr)
        var order = ByteOrder.host
        switch code.first {
        case "<": order = .little; code = code.dropFirst()
        case ">": order = .big; code = code.dropFirst()
        case "|", "=": code = code.dropFirst()
        default: break
        }
        let dtype: DType
        switch code {
        case "f4": dtype = .float32
        case "f8": dtype = .float64
        case "i4": dtype = .int32
        case "i8": dtype = .int64
        case "u1": dtype = .uint8
        default:
            throw DataError.unsupported(
                at,
                reason: "dtype '\(descr)' is not supported (float32, float64, int32, int64 and uint8 are); convert with a.astype(np.float32)")
        }
        return (dtype, order)
    }

    static func printable<C: Collection<UInt8>>(_ bytes: C) -> String {
        var s = ""
        for b in bytes {
            if b >= 0x20 && b < 0x7F && b != UInt8(ascii: "\\") {
                s.unicodeScalars.append(Unicode.Scalar(b))
            } else {
                let hex = String(b, radix: 16)
                s += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return s
    }
}

/// A recursive-descent parser for the Python literals an NPY header holds.
private struct LiteralParser {
    indirect enum Value: Equatable {
        case string(String)
        /// `nil` when the literal does not fit in `Int`.
        case integer(Int?)
        case bool(Bool)
        case none
        case tuple([Value])
        case list([Value])

        /// The value written back as Python would print it (for messages).
        var text: String {
            switch self {
            case .string(let s): "'\(s)'"
            case .integer(let i): i.map(String.init) ?? "<too large>"
            case .bool(let b): b ? "True" : "False"
            case .none: "None"
            case .tuple(let items):
                items.count == 1 ? "(\(items[0].text),)" : "(" + items.map(\.text).joined(separator: ", ") + ")"
            case .list(let items): "[" + items.map(\.text).joined(separator: ", ") + "]"
            }
        }
    }

    struct Entry {
        var value: Value
        /// Offset of the value in the header bytes.
        var valueOffset: Int
    }

    /// Deeper nesting than this is refused, so a hostile header cannot exhaust the stack.
    static let maximumDepth = 16

    let bytes: [UInt8]
    let utf8: Bool
    /// Offset of the header within the file, for columns.
    let columnOffset: Int
    let file: String
    var position = 0

    init(bytes: [UInt8], utf8: Bool, columnOffset: Int, file: String) {
        self.bytes = bytes
        self.utf8 = utf8
        self.columnOffset = columnOffset
        self.file = file
    }

    /// The file location of header byte `offset` (the preamble and header are line 1).
    func location(_ offset: Int) -> DataLocation {
        DataLocation(file: file, line: 1, column: columnOffset + offset + 1)
    }

    private func syntax(_ expected: String, at offset: Int? = nil) -> DataError {
        let start = offset ?? position
        let end = min(bytes.count, start + 24)
        let text = start < bytes.count ? NPYHeader.printable(bytes[start..<end]) : "end of header"
        return .syntax(location(start), text: text, expected: expected)
    }

    private mutating func skipSpace() {
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D, 0x0C].contains(bytes[position]) { position += 1 }
    }

    private func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

    mutating func parseHeaderDict() throws(DataError) -> [String: Entry] {
        skipSpace()
        guard peek() == UInt8(ascii: "{") else { throw syntax("a Python dict literal starting with '{'") }
        position += 1
        var entries: [String: Entry] = [:]
        while true {
            skipSpace()
            if peek() == UInt8(ascii: "}") { position += 1; break }
            let keyOffset = position
            guard case .string(let key) = try parseValue(depth: 1) else {
                throw syntax("a quoted key such as 'descr'", at: keyOffset)
            }
            guard entries[key] == nil else { throw syntax("each key once", at: keyOffset) }
            skipSpace()
            guard peek() == UInt8(ascii: ":") else { throw syntax("':' after the key") }
            position += 1
            skipSpace()
            let valueOffset = position
            entries[key] = Entry(value: try parseValue(depth: 1), valueOffset: valueOffset)
            skipSpace()
            if peek() == UInt8(ascii: ",") { position += 1; continue }
            guard peek() == UInt8(ascii: "}") else { throw syntax("',' or '}'") }
            position += 1
            break
        }
        skipSpace()
        // numpy pads the header with spaces and ends it with '\n'; NULs appear in some writers.
        while position < bytes.count, bytes[position] == 0 { position += 1 }
        guard position == bytes.count else { throw syntax("nothing after the header dict") }
        return entries
    }

    mutating func parseValue(depth: Int) throws(DataError) -> Value {
        guard depth <= Self.maximumDepth else { throw syntax("at most \(Self.maximumDepth) levels of nesting") }
        skipSpace()
        guard let c = peek() else { throw syntax("a value") }
        switch c {
        case UInt8(ascii: "'"), UInt8(ascii: "\""):
            return .string(try parseString(quote: c))
        case UInt8(ascii: "("):
            return .tuple(try parseSequence(close: UInt8(ascii: ")"), depth: depth))
        case UInt8(ascii: "["):
            return .list(try parseSequence(close: UInt8(ascii: "]"), depth: depth))
        case UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try parseInteger()
        default:
            let start = position
            while let b = peek(), (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z"))
                || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z")) || b == UInt8(ascii: "_") {
                position += 1
            }
            switch String(decoding: bytes[start..<position], as: UTF8.self) {
            case "True": return .bool(true)
            case "False": return .bool(false)
            case "None": return .none
            default: throw syntax("a Python literal (string, integer, True, False, tuple)", at: start)
            }
        }
    }

    private mutating func parseString(quote: UInt8) throws(DataError) -> String {
        let start = position
        position += 1
        var content: [UInt8] = []
        while true {
            guard let b = peek(), b != 0x0A else { throw syntax("a closing quote", at: start) }
            position += 1
            if b == quote { break }
            if b == UInt8(ascii: "\\") {
                guard let escaped = peek() else { throw syntax("a closing quote", at: start) }
                position += 1
                content.append(escaped)
            } else {
                content.append(b)
            }
        }
        if utf8 {
            guard let s = String(validating: content, as: UTF8.self) else {
                throw syntax("UTF-8 text (NPY 3.0 headers are UTF-8)", at: start)
            }
            return s
        }
        // Versions 1.0 and 2.0 are latin-1: each byte is the code point.
        var s = ""
        for b in content { s.unicodeScalars.append(Unicode.Scalar(b)) }
        return s
    }

    private mutating func parseSequence(close: UInt8, depth: Int) throws(DataError) -> [Value] {
        position += 1
        var items: [Value] = []
        while true {
            skipSpace()
            if peek() == close { position += 1; return items }
            items.append(try parseValue(depth: depth + 1))
            skipSpace()
            if peek() == UInt8(ascii: ",") { position += 1; continue }
            guard peek() == close else { throw syntax("',' or '\(Character(Unicode.Scalar(close)))'") }
            position += 1
            return items
        }
    }

    private mutating func parseInteger() throws(DataError) -> Value {
        let start = position
        var negative = false
        if peek() == UInt8(ascii: "-") || peek() == UInt8(ascii: "+") {
            negative = peek() == UInt8(ascii: "-")
            position += 1
        }
        var value: Int? = 0
        var digits = 0
        while let b = peek(), b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") {
            if let v = value {
                let (m, o1) = v.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int(b - UInt8(ascii: "0")))
                value = o1 || o2 ? nil : a
            }
            digits += 1
            position += 1
        }
        guard digits > 0 else { throw syntax("an integer", at: start) }
        if peek() == UInt8(ascii: "L") || peek() == UInt8(ascii: "l") { position += 1 }  // Python 2 long
        if let b = peek(), (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
            || b == UInt8(ascii: ".") {
            throw syntax("an integer", at: start)
        }
        return .integer(negative ? value.map { -$0 } : value)
    }
}

extension NPYHeader {
    /// The header of the NPY array that starts `bytes` (a request body, a file read whole),
    /// checked as a file's is: the magic, the version, the header length and the shape against
    /// the bytes that follow.
    public init(bytes: [UInt8], name: String = "<npy bytes>") throws(DataError) {
        let prefix = Array(bytes.prefix(12))
        let length = try Self.headerLength(prefix: prefix, fileSize: bytes.count, file: name)
        let start = Self.preambleLength(major: Int(prefix[6]))  // headerLength checked the preamble is there
        self = try Self.parse(prefix: prefix, headerBytes: Array(bytes[start..<(start + length)]), fileSize: bytes.count, file: name)
    }
}

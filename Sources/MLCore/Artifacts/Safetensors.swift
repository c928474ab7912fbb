import Foundation

/// A model artifact that cannot be read or written.
public enum ArtifactError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file is not a valid artifact; `reason` says what is wrong and where.
    case invalid(path: String, reason: String)
    /// A tensor the caller asked for is missing or has another dtype or shape.
    case tensor(path: String, name: String, reason: String)
    /// The operating system refused.
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case let .invalid(path, reason): return "\(path): not a valid artifact: \(reason)"
        case let .tensor(path, name, reason): return "\(path): tensor '\(name)': \(reason)"
        case let .io(path, reason): return "\(path): \(reason)"
        }
    }
}

/// A safetensors file (huggingface/safetensors): an 8-byte little-endian header length, a JSON
/// header naming each tensor's dtype, shape and byte range, then the tensors' bytes.
///
/// Written deterministically — tensors in name order, JSON keys sorted, the header padded with
/// spaces to a multiple of 8 bytes as the reference implementation does — and atomically (a
/// temporary file, then a rename), so the same model gives the same bytes and a crash never
/// leaves half a file. Reading checks the header before trusting it: its length against the file,
/// every dtype, and that the byte ranges match the shapes, lie inside the data and tile it without
/// gaps or overlaps (as the reference implementation requires).
public struct Safetensors: Sendable, Equatable {
    public enum DType: String, Sendable, Equatable, CaseIterable {
        case f32 = "F32", f64 = "F64", i32 = "I32", i64 = "I64", u8 = "U8"
        public var size: Int {
            switch self {
            case .f32, .i32: 4
            case .f64, .i64: 8
            case .u8: 1
            }
        }
    }

    public struct Tensor: Sendable, Equatable {
        public var dtype: DType
        public var shape: [Int]
        /// Little-endian element bytes, row-major.
        public var bytes: [UInt8]

        public init(dtype: DType, shape: [Int], bytes: [UInt8]) {
            self.dtype = dtype
            self.shape = shape
            self.bytes = bytes
        }

        /// A Float32 tensor of `shape` (row-major `values`).
        public init(_ values: [Float], shape: [Int]) {
            self.init(dtype: .f32, shape: shape, bytes: values.withUnsafeBytes { Array($0) })
        }

        /// A Float64 tensor of `shape`.
        public init(_ values: [Double], shape: [Int]) {
            self.init(dtype: .f64, shape: shape, bytes: values.withUnsafeBytes { Array($0) })
        }

        /// A matrix as a `[rows, columns]` tensor of its own precision.
        public init<T: BLASScalar>(_ matrix: Matrix<T>) {
            let dtype: DType = T.self == Double.self ? .f64 : .f32
            self.init(dtype: dtype, shape: [matrix.rows, matrix.columns],
                      bytes: matrix.withUnsafeBufferPointer { Array(UnsafeRawBufferPointer($0)) })
        }

        public var elementCount: Int { shape.reduce(1, *) }

        /// The values as `T`, when the dtype is `T`'s (`nil` otherwise).
        public func values<T: BLASScalar>(as type: T.Type = T.self) -> [T]? {
            guard dtype == (T.self == Double.self ? .f64 : .f32) else { return nil }
            return bytes.withUnsafeBytes { raw in
                (0..<elementCount).map { raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self) }
            }
        }
    }

    public var tensors: [String: Tensor]
    /// Free-form string metadata (`__metadata__`).
    public var metadata: [String: String]

    public init(tensors: [String: Tensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    // MARK: Writing

    /// The file's bytes.
    public func serialized() throws(ArtifactError) -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            // invariant: name comes from the dictionary's own keys
            let t = tensors[name]!
            guard t.shape.allSatisfy({ $0 >= 0 }), t.bytes.count == t.elementCount * t.dtype.size else {
                throw .tensor(path: "<memory>", name: name,
                              reason: "shape \(t.shape) of \(t.dtype.rawValue) needs \(t.elementCount * t.dtype.size) bytes, has \(t.bytes.count)")
            }
            header[name] = ["dtype": t.dtype.rawValue, "shape": t.shape, "data_offsets": [offset, offset + t.bytes.count]]
            offset += t.bytes.count
        }
        guard var json = try? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            throw .invalid(path: "<memory>", reason: "the header could not be encoded as JSON")
        }
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data()
        out.reserveCapacity(8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        // invariant: names are the dictionary's own keys
        for name in names { out.append(contentsOf: tensors[name]!.bytes) }
        return out
    }

    /// Writes the file atomically: a temporary file beside `path`, then a rename.
    public func write(to path: String) throws(ArtifactError) {
        let data = try serialized()
        do {
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw .io(path: path, reason: error.localizedDescription)
        }
    }

    // MARK: Reading

    public static func read(path: String) throws(ArtifactError) -> Safetensors {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
        } catch {
            throw .io(path: path, reason: error.localizedDescription)
        }
        return try decode(data, path: path)
    }

    /// The largest header accepted (the reference implementation's limit is 100 MB).
    public static let maximumHeaderBytes = 100_000_000

    public static func decode(_ data: Data, path: String = "<memory>") throws(ArtifactError) -> Safetensors {
        func invalid(_ reason: String) -> ArtifactError { .invalid(path: path, reason: reason) }
        guard data.count >= 8 else { throw invalid("\(data.count) bytes is shorter than the 8-byte header length") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(min(maximumHeaderBytes, data.count - 8)) else {
            throw invalid("the header length \(headerLength) exceeds the file (\(data.count - 8) bytes after it) or the \(maximumHeaderBytes)-byte limit")
        }
        let headerEnd = 8 + Int(headerLength)
        let headerBytes = data.subdata(in: (data.startIndex + 8)..<(data.startIndex + headerEnd))
        guard let object = try? JSONSerialization.jsonObject(with: headerBytes), let header = object as? [String: Any] else {
            throw invalid("the header is not a JSON object")
        }
        let dataCount = data.count - headerEnd
        var result = Safetensors()
        var ranges: [(begin: Int, end: Int, name: String)] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: String] else { throw invalid("__metadata__ must map strings to strings") }
                result.metadata = m
                continue
            }
            guard let entry = value as? [String: Any], let dtypeName = entry["dtype"] as? String,
                  let shapeValues = entry["shape"] as? [Any], let offsetValues = entry["data_offsets"] as? [Any],
                  offsetValues.count == 2
            else {
                throw .tensor(path: path, name: name, reason: "needs dtype, shape and data_offsets [begin, end]")
            }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw .tensor(path: path, name: name, reason: "dtype \(dtypeName) is not supported (F32, F64, I32, I64, U8)")
            }
            let shape = shapeValues.compactMap { ($0 as? NSNumber)?.intValue }
            let offsets = offsetValues.compactMap { ($0 as? NSNumber)?.intValue }
            guard shape.count == shapeValues.count, shape.allSatisfy({ $0 >= 0 }), offsets.count == 2 else {
                throw .tensor(path: path, name: name, reason: "shape and data_offsets must be non-negative integers")
            }
            var elements = 1
            for d in shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow else { throw .tensor(path: path, name: name, reason: "shape \(shape) overflows") }
                elements = product
            }
            let (byteCount, overflow) = elements.multipliedReportingOverflow(by: dtype.size)
            let (begin, end) = (offsets[0], offsets[1])
            guard !overflow, begin >= 0, begin <= end, end <= dataCount, end - begin == byteCount else {
                throw .tensor(path: path, name: name,
                              reason: "data_offsets [\(begin), \(end)] do not hold shape \(shape) of \(dtypeName) within \(dataCount) data bytes")
            }
            ranges.append((begin, end, name))
            let start = data.startIndex + headerEnd + begin
            result.tensors[name] = Tensor(dtype: dtype, shape: shape, bytes: [UInt8](data[start..<(start + byteCount)]))
        }
        // The ranges must tile the data exactly: no gaps, no overlaps, nothing left over.
        ranges.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var expected = 0
        for r in ranges {
            guard r.begin == expected else {
                throw .tensor(path: path, name: r.name, reason: "data_offsets begin at \(r.begin), expected \(expected) (gap or overlap)")
            }
            expected = r.end
        }
        guard expected == dataCount else { throw invalid("\(dataCount - expected) data bytes belong to no tensor") }
        return result
    }
}

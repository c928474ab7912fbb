/// Reads a NumPy `.npy` file as a matrix, in batches of rows or all at once.
///
/// The array becomes a row-major matrix of `T` (`Float` or `Double`):
///
/// | NPY shape | matrix |
/// | --- | --- |
/// | `()` (a scalar) | 1 × 1 |
/// | `(n,)` | n × 1 |
/// | `(n, d)` | n × d |
/// | `(n, d1, d2, …)` such as images `[N, C, H, W]` | n × (d1·d2·…), each row the C-order flattening; ``shape`` keeps the original |
///
/// Element types: `float32`, `float64`, `int32`, `int64` and `uint8`, converted to `T` with
/// rounding to nearest (integers above 2^24 are not exact in `Float`, above 2^53 not in `Double`).
/// Little-endian (`<`), native (`=`), not-applicable (`|`) and big-endian (`>`) files are all read;
/// big-endian elements are byte-swapped. Fortran-order arrays are rejected with the fix
/// (`np.ascontiguousarray`) unless their layout equals C order (at most one dimension above 1).
/// Bytes after the last element are ignored, as `numpy.load` ignores them.
///
/// Memory is bounded: ``nextMatrix()`` reads only its rows with positional reads (and at most a
/// 1 MiB staging buffer when converting), never the whole file. The header is checked against the
/// file size when the reader opens, so a header that claims more data than the file holds is
/// ``DataError/truncated(_:reason:)`` before anything is allocated.
///
/// A labels file beside a features file reads with ``readVector(path:)``.
public struct NPYReader<T: BLASScalar>: Sendable {
    /// The file path.
    public var path: String { file.path }
    /// The parsed header.
    public let header: NPYHeader
    /// Rows per batch returned by ``nextMatrix()`` (and ``nextBatch()``); values below 1 count as 1.
    public var batchRows: Int
    /// The first row the next batch starts at.
    public private(set) var nextRow = 0

    private let file: PositionalFile

    /// Opens `path` and checks its header against the file size.
    public init(path: String, batchRows: Int = 4096) throws(DataError) {
        file = try PositionalFile(path: path)
        header = try NPYHeader.read(from: file)
        self.batchRows = batchRows
    }

    /// The array's shape as stored (`[N, C, H, W]` for images).
    public var shape: [Int] { header.shape }
    /// Rows of the matrix view (`shape[0]`, 1 for a scalar).
    public var rows: Int { header.rows }
    /// Columns of the matrix view (the product of `shape[1...]`).
    public var columns: Int { header.columns }

    /// The next `batchRows` rows (fewer at the end), or `nil` when every row has been read.
    public mutating func nextMatrix() throws(DataError) -> Matrix<T>? {
        guard nextRow < header.rows else { return nil }
        let count = min(max(1, batchRows), header.rows - nextRow)
        let matrix = try readRows(nextRow..<nextRow + count)
        nextRow += count
        return matrix
    }

    /// Starts again from the first row.
    public mutating func rewind() { nextRow = 0 }

    /// Rows `range` (random access; does not move the batch position).
    ///
    /// A range outside `0..<rows` is a ``DataError/unsupported(_:reason:)`` naming both.
    public func readRows(_ range: Range<Int>) throws(DataError) -> Matrix<T> {
        guard range.lowerBound >= 0 && range.upperBound <= header.rows else {
            throw .unsupported(DataLocation(file: path), reason: "rows \(range) are outside the file's 0..<\(header.rows)")
        }
        let columns = header.columns
        // Cannot overflow: the header check proved dataOffset + rows·columns·itemSize ≤ file size.
        let rowBytes = columns * header.itemSize
        let start = header.dataOffset + range.lowerBound * rowBytes
        var failure: DataError?
        let matrix = Matrix<T>(rows: range.count, columns: columns) { out in
            do throws(DataError) {
                try readElements(into: out, fromByte: start)
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        return matrix
    }

    /// Every row, whatever the batch position.
    public func readAll() throws(DataError) -> Matrix<T> {
        try readRows(0..<header.rows)
    }

    /// The whole array at `path` as a matrix (see the table above for the shape).
    public static func readMatrix(path: String) throws(DataError) -> Matrix<T> {
        try NPYReader(path: path).readAll()
    }

    /// A 1-D array (or an n × 1 one) as an array, as labels and weights are stored.
    public static func readVector(path: String) throws(DataError) -> [T] {
        let reader = try NPYReader(path: path)
        let shape = reader.shape
        guard shape.count == 1 || (shape.count == 2 && shape[1] == 1) else {
            let text = "(" + shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? ",)" : ")")
            throw DataError.unsupported(DataLocation(file: path),
                                        reason: "expected a 1-D array (one value per row) but the shape is \(text)")
        }
        return try reader.readAll().elements
    }

    /// An `.npy` image held in memory (an `application/x-npy` request body, for instance) as a
    /// matrix, with the same checks as a file; `name` stands for the file in errors.
    public static func decode(_ bytes: [UInt8], name: String = "<npy bytes>") throws(DataError) -> (matrix: Matrix<T>, shape: [Int]) {
        let (matrix, shape, _) = try decode(bytes, from: 0, name: name)
        return (matrix, shape)
    }

    /// Every `.npy` image of a byte stream that holds several back to back — what a Pipe-mode
    /// FIFO delivers for a channel of several `.npy` objects — in order. Bytes after the last
    /// complete image are a ``DataError/truncated(_:reason:)`` error.
    public static func decodeConcatenated(_ bytes: [UInt8], name: String = "<npy stream>") throws(DataError) -> [(matrix: Matrix<T>, shape: [Int])] {
        var out: [(matrix: Matrix<T>, shape: [Int])] = []
        var offset = 0
        while offset < bytes.count {
            let (matrix, shape, end) = try decode(bytes, from: offset, name: out.isEmpty ? name : "\(name) (array \(out.count + 1), byte \(offset))")
            out.append((matrix, shape))
            offset = end
        }
        return out
    }

    /// The image starting at `offset`, and the offset just after it.
    static func decode(_ bytes: [UInt8], from offset: Int, name: String) throws(DataError) -> (Matrix<T>, [Int], Int) {
        let remaining = bytes.count - offset
        let prefix = Array(bytes[offset..<min(bytes.count, offset + 12)])
        let length = try NPYHeader.headerLength(prefix: prefix, fileSize: remaining, file: name)
        let start = offset + NPYHeader.preambleLength(major: Int(prefix[6]))  // headerLength checked the preamble is there
        let header = try NPYHeader.parse(prefix: prefix, headerBytes: Array(bytes[start..<start + length]),
                                         fileSize: remaining, file: name)
        let dataStart = offset + header.dataOffset
        let matrix = Matrix<T>(rows: header.rows, columns: header.columns) { out in
            bytes.withUnsafeBytes { all in
                let raw = UnsafeRawBufferPointer(rebasing: all[dataStart..<dataStart + header.dataByteCount])
                convert(raw, header, into: out)
            }
        }
        return (matrix, header.shape, dataStart + header.dataByteCount)
    }

    /// Converts the elements in `raw` (laid out as `header` says) into `out`, which has as many.
    private static func convert(_ raw: UnsafeRawBufferPointer, _ header: NPYHeader, into out: UnsafeMutableBufferPointer<T>) {
        let swap = header.byteOrder != NPYHeader.ByteOrder.host
        if T.self == Float.self {
            out.withMemoryRebound(to: Float.self) { convertNPYElements(raw, header.dtype, swap, $0) }
        } else if T.self == Double.self {
            out.withMemoryRebound(to: Double.self) { convertNPYElements(raw, header.dtype, swap, $0) }
        } else {
            convertNPYElements(raw, header.dtype, swap, out)
        }
    }

    /// Staging buffer size for converting reads.
    private static var stagingBytes: Int { 1 << 20 }

    /// Fills `out` with `out.count` elements starting at byte `offset` of the file.
    private func readElements(into out: UnsafeMutableBufferPointer<T>, fromByte offset: Int) throws(DataError) {
        guard out.count > 0 else { return }
        let dtype = header.dtype
        let swap = header.byteOrder != NPYHeader.ByteOrder.host
        let itemSize = dtype.size
        let sameType = (dtype == .float32 && T.self == Float.self) || (dtype == .float64 && T.self == Double.self)
        if sameType && !swap {
            // The bytes on disk are already the output: read straight into the matrix.
            try file.readExactly(into: UnsafeMutableRawBufferPointer(out), at: offset)
            return
        }
        let chunkElements = max(1, min(out.count, Self.stagingBytes / itemSize))
        let staging = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkElements * itemSize, alignment: 16)
        defer { staging.deallocate() }
        var done = 0
        while done < out.count {
            let n = min(chunkElements, out.count - done)
            let raw = UnsafeMutableRawBufferPointer(rebasing: staging[0..<n * itemSize])
            try file.readExactly(into: raw, at: offset + done * itemSize)
            Self.convert(UnsafeRawBufferPointer(raw), header, into: UnsafeMutableBufferPointer(rebasing: out[done..<done + n]))
            done += n
        }
    }
}

extension NPYReader: DataSource where T == Float {
    /// The next batch of rows as dense features without labels (labels live in their own file).
    public mutating func nextBatch() throws(DataError) -> Batch? {
        guard let matrix = try nextMatrix() else { return nil }
        return Batch(features: .dense(matrix))
    }
}

/// Converts `out.count` elements of `dtype` from `raw` (unaligned, byte-swapped when `swap`).
/// Called with concrete `Out` so each dtype loop is specialized.
@inline(__always)
private func convertNPYElements<Out: BinaryFloatingPoint>(
    _ raw: UnsafeRawBufferPointer, _ dtype: NPYHeader.DType, _ swap: Bool, _ out: UnsafeMutableBufferPointer<Out>
) {
    switch dtype {
    case .float32:
        for i in 0..<out.count {
            let bits = raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)
            out[i] = Out(Float(bitPattern: swap ? bits.byteSwapped : bits))
        }
    case .float64:
        for i in 0..<out.count {
            let bits = raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)
            out[i] = Out(Double(bitPattern: swap ? bits.byteSwapped : bits))
        }
    case .int32:
        for i in 0..<out.count {
            let bits = raw.loadUnaligned(fromByteOffset: i * 4, as: Int32.self)
            out[i] = Out(swap ? bits.byteSwapped : bits)
        }
    case .int64:
        for i in 0..<out.count {
            let bits = raw.loadUnaligned(fromByteOffset: i * 8, as: Int64.self)
            out[i] = Out(swap ? bits.byteSwapped : bits)
        }
    case .uint8:
        for i in 0..<out.count {
            out[i] = Out(raw[i])
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a LibSVM / SVMlight text file as sparse batches.
///
/// Each non-blank line is one row:
/// ```
/// label[:weight] [qid:N] index:value index:value ...   # optional comment
/// ```
/// - `label`, `weight` and every `value` use the full floating-point grammar: sign (`+` or `-`),
///   digits with an optional fraction, an exponent (`1e-3`), `nan`, `inf`, `infinity` in any
///   case, and C99 hexadecimal floats (`0x1p-3`). Conversion is correctly rounded to `Float` and
///   independent of the locale (Swift's `Float.init?(_: StringProtocol)`).
/// - `index` is a non-negative decimal integer; indices must be strictly increasing within a line.
///   Their base is ``IndexBase``: stated, never guessed unless ``IndexBase/auto`` is asked for.
/// - `qid:N` directly after the label (SVMlight ranking groups) is checked to be an integer and
///   then ignored: ``Batch`` has no query groups. Anywhere else it is an error.
/// - `#` starts a comment that runs to the end of the line. Blank and comment-only lines are
///   skipped (they still count for line numbers). Spaces and tabs separate tokens; a `\r` before
///   the `\n` (Windows line endings) and a UTF-8 byte-order mark at the start are ignored.
///
/// Output: each batch holds `.sparse` CSR features (zero-based columns), an n × 1 label matrix,
/// and one weight per row when any row of the batch has a `:weight` (rows without one weigh 1),
/// otherwise `weights == nil`.
///
/// Columns: with a ``featureDimension`` every batch has exactly that many columns and a larger
/// index is an error. Without one, a batch has (largest zero-based index read so far in this
/// file) + 1 columns, so the width never shrinks from batch to batch; ``readAll(path:indexBase:featureDimension:)``
/// returns one batch whose width is the file's largest index + 1. Pass ``featureDimension``
/// when every batch must have the same width.
///
/// Errors name the file, the 1-based line and the 1-based byte column of the offending token,
/// and the token itself. Memory: one batch plus the line being read.
public struct LibSVMReader: DataSource, Sendable {
    /// How the feature indices in the file are numbered.
    public enum IndexBase: Sendable, Equatable {
        /// The first feature is `0`.
        case zero
        /// The first feature is `1` (libsvm's own tools, SVMlight); index `0` is an error.
        case one
        /// XGBoost's heuristic (dmlc-core `indexing_mode=0`): one-based when no index `0`
        /// appears, zero-based otherwise. dmlc-core decides per chunk of the file, which can mix
        /// bases in one file; here one extra pass over the whole file decides once for all of it.
        case auto
    }

    /// The file path.
    public let path: String
    /// The index base as asked for.
    public let indexBase: IndexBase
    /// `0` or `1`: the base in effect (``IndexBase/auto`` resolved by the pre-pass).
    public let resolvedIndexBase: Int
    /// The number of columns, when fixed by the caller (SageMaker's `feature_dim`).
    public let featureDimension: Int?
    /// Rows per batch; values below 1 count as 1.
    public var batchRows: Int

    private var lines: LibSVMLineReader
    /// Largest zero-based column index seen so far, -1 before any.
    private var maximumIndex = -1

    /// Opens `path`.
    ///
    /// - Parameters:
    ///   - indexBase: how indices are numbered (required: files of both kinds exist and
    ///     guessing silently shifts every feature).
    ///   - featureDimension: the fixed column count, or `nil` to take the largest index + 1.
    ///   - batchRows: rows per batch.
    public init(path: String, indexBase: IndexBase, featureDimension: Int? = nil, batchRows: Int = 4096) throws(DataError) {
        if let featureDimension, featureDimension < 0 {
            throw DataError.unsupported(DataLocation(file: path), reason: "featureDimension \(featureDimension) is negative")
        }
        let file = try PositionalFile(path: path)
        self.path = path
        self.indexBase = indexBase
        self.featureDimension = featureDimension
        self.batchRows = batchRows
        lines = LibSVMLineReader(file: file)
        switch indexBase {
        case .zero: resolvedIndexBase = 0
        case .one: resolvedIndexBase = 1
        case .auto:
            var scan = LibSVMLineReader(file: file)
            resolvedIndexBase = try Self.containsIndexZero(&scan) ? 0 : 1
        }
    }

    /// Reads the whole file at `path` as one batch.
    public static func readAll(path: String, indexBase: IndexBase, featureDimension: Int? = nil) throws(DataError) -> Batch {
        var reader = try LibSVMReader(path: path, indexBase: indexBase, featureDimension: featureDimension, batchRows: Int.max)
        return try reader.nextBatch() ?? Batch(
            features: .sparse(SparseMatrix(columns: featureDimension ?? 0)),
            labels: Matrix(rows: 0, columns: 1))
    }

    /// The next batch of up to `batchRows` rows, or `nil` at the end of the file.
    public mutating func nextBatch() throws(DataError) -> Batch? {
        let limit = max(1, batchRows)
        var matrix = SparseMatrix<Float>(columns: 0)
        var labels: [Float] = []
        var weights: [Float] = []
        var anyWeight = false
        var indices: [Int32] = []
        var values: [Float] = []
        while labels.count < limit, let line = try lines.next() {
            indices.removeAll(keepingCapacity: true)
            values.removeAll(keepingCapacity: true)
            guard let row = try parse(line, indices: &indices, values: &values) else { continue }
            labels.append(row.label)
            weights.append(row.weight ?? 1)
            anyWeight = anyWeight || row.weight != nil
            matrix.appendRow(indices: indices, values: values)
        }
        guard !labels.isEmpty else { return nil }
        matrix.widen(toColumns: featureDimension ?? (maximumIndex + 1))
        let labelMatrix = Matrix<Float>(rows: labels.count, columns: 1) { out in
            _ = out.initialize(from: labels)
        }
        return Batch(features: .sparse(matrix), labels: labelMatrix, weights: anyWeight ? weights : nil)
    }

    // MARK: Parsing

    private struct Row {
        var label: Float
        var weight: Float?
    }

    /// Parses one line into `indices` / `values`; `nil` for a blank or comment-only line.
    private mutating func parse(_ line: LibSVMLine, indices: inout [Int32], values: inout [Float]) throws(DataError) -> Row? {
        var tokens = LibSVMTokens(line.bytes)
        guard let first = tokens.next() else { return nil }

        // label[:weight]
        let labelEnd = first.firstIndex(of: UInt8(ascii: ":")) ?? first.endIndex
        let label = try number(first[first.startIndex..<labelEnd], line)
        var weight: Float?
        if labelEnd < first.endIndex {
            let weightPart = first[(labelEnd + 1)...]
            if weightPart.contains(UInt8(ascii: ":")) {
                throw syntax(first, line, expected: "label or label:weight")
            }
            weight = try number(weightPart, line)
        }

        var previous = -1
        var isFirstFeature = true
        while let token = tokens.next() {
            defer { isFirstFeature = false }
            guard let colon = token.firstIndex(of: UInt8(ascii: ":")) else {
                throw syntax(token, line, expected: "index:value")
            }
            let indexPart = token[token.startIndex..<colon]
            let valuePart = token[(colon + 1)...]
            if indexPart.elementsEqual("qid".utf8) {
                guard isFirstFeature else {
                    throw syntax(token, line, expected: "qid:N only directly after the label")
                }
                guard Self.integer(valuePart) != nil else {
                    throw syntax(valuePart, line, expected: "an integer query id (qid:N)")
                }
                continue
            }
            guard let raw = Self.integer(indexPart) else {
                throw syntax(indexPart, line, expected: "a non-negative integer feature index in index:value")
            }
            if resolvedIndexBase == 1 && raw == 0 {
                throw syntax(indexPart, line, expected: "one-based indices (1, 2, …) as indexBase .one says; read zero-based files with indexBase .zero")
            }
            let index = raw - resolvedIndexBase
            guard index <= Int(Int32.max) else {
                throw DataError.unsupported(location(indexPart, line), reason: "feature index \(Self.excerpt(indexPart)) is too large (column indices are 32-bit: at most \(Int(Int32.max) + resolvedIndexBase))")
            }
            if let featureDimension, index >= featureDimension {
                throw syntax(indexPart, line, expected: "an index below the feature dimension \(featureDimension)"
                             + (resolvedIndexBase == 1 ? " (one-based: at most \(featureDimension))" : " (zero-based: at most \(featureDimension - 1))"))
            }
            guard index > previous else {
                throw syntax(indexPart, line, expected: "indices in strictly increasing order within a line (the previous index was \(previous + resolvedIndexBase))")
            }
            previous = index
            let value = try number(valuePart, line)
            indices.append(Int32(index))
            values.append(value)
        }
        maximumIndex = max(maximumIndex, previous)
        return Row(label: label, weight: weight)
    }

    /// A non-empty run of decimal digits, saturating at `Int.max`; `nil` for anything else.
    private static func integer(_ bytes: ArraySlice<UInt8>) -> Int? {
        guard !bytes.isEmpty else { return nil }
        var value = 0
        for b in bytes {
            guard b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int(b - UInt8(ascii: "0")))
            value = o1 || o2 ? Int.max : a
        }
        return value
    }

    private func number(_ bytes: ArraySlice<UInt8>, _ line: LibSVMLine) throws(DataError) -> Float {
        // Tokens never hold spaces, so Float(_:) (which rejects them) sees the whole token.
        if !bytes.isEmpty, let value = Float(String(decoding: bytes, as: UTF8.self)) { return value }
        throw DataError.notANumber(location(bytes, line), text: Self.excerpt(bytes))
    }

    private func location(_ bytes: ArraySlice<UInt8>, _ line: LibSVMLine) -> DataLocation {
        DataLocation(file: path, line: line.number, column: bytes.startIndex - line.columnOne + 1)
    }

    private func syntax(_ bytes: ArraySlice<UInt8>, _ line: LibSVMLine, expected: String) -> DataError {
        .syntax(location(bytes, line), text: Self.excerpt(bytes), expected: expected)
    }

    /// The token as text, truncated to 64 bytes.
    private static func excerpt(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes.prefix(64), as: UTF8.self)
    }

    /// The `.auto` pre-pass: whether any feature index is `0` (a zero-based file).
    private static func containsIndexZero(_ lines: inout LibSVMLineReader) throws(DataError) -> Bool {
        while let line = try lines.next() {
            var tokens = LibSVMTokens(line.bytes)
            _ = tokens.next()  // the label
            while let token = tokens.next() {
                if let colon = token.firstIndex(of: UInt8(ascii: ":")), integer(token[token.startIndex..<colon]) == 0 {
                    return true
                }
            }
        }
        return false
    }
}

/// One line without its terminator and comment.
private struct LibSVMLine {
    var bytes: ArraySlice<UInt8>
    /// 1-based line number.
    var number: Int
    /// Index (in `bytes`' base) of the line's column 1: its first byte after any byte-order mark.
    var columnOne: Int
}

/// Splits a file into lines with bounded reads: a 256 KiB buffer, doubled only for a longer line.
private struct LibSVMLineReader: Sendable {
    let file: PositionalFile
    /// `buffer[start..<filled]` is read but not yet returned.
    private var buffer: [UInt8]
    private var start = 0
    private var filled = 0
    /// Where to resume looking for `\n`: `buffer[start..<searched]` holds none.
    private var searched = 0
    /// File offset of the next read.
    private var fileOffset = 0
    private var lineNumber = 0
    private var atEnd = false

    init(file: PositionalFile) {
        self.file = file
        buffer = [UInt8](repeating: 0, count: min(1 << 18, max(file.size, 1)))
    }

    mutating func next() throws(DataError) -> LibSVMLine? {
        while true {
            if let newline = findNewline() {
                let line = makeLine(buffer[start..<newline])
                start = newline + 1
                searched = start
                return line
            }
            searched = filled
            if atEnd {
                guard start < filled else { return nil }
                let line = makeLine(buffer[start..<filled])
                start = filled
                searched = filled
                return line
            }
            try fill()
        }
    }

    private func findNewline() -> Int? {
        guard searched < filled else { return nil }
        return buffer.withUnsafeBytes { all -> Int? in
            guard let base = all.baseAddress, let hit = memchr(base + searched, 0x0A, filled - searched) else { return nil }
            return base.distance(to: UnsafeRawPointer(hit))
        }
    }

    private mutating func fill() throws(DataError) {
        if start > 0 {
            // Move the unread tail to the front.
            let (from, count) = (start, filled - start)
            buffer.withUnsafeMutableBytes { all in
                if count > 0, let base = all.baseAddress { memmove(base, base + from, count) }
            }
            filled -= from
            searched -= from
            start = 0
        }
        if filled == buffer.count {
            // A line longer than the buffer: grow it (the memory a row needs anyway).
            buffer.append(contentsOf: [UInt8](repeating: 0, count: buffer.count))
        }
        let n = try file.read(into: &buffer, from: filled, at: fileOffset)
        filled += n
        fileOffset += n
        if n == 0 { atEnd = true }
    }

    private mutating func makeLine(_ raw: ArraySlice<UInt8>) -> LibSVMLine {
        lineNumber += 1
        var bytes = raw
        if lineNumber == 1, bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        let columnOne = bytes.startIndex
        if bytes.last == UInt8(ascii: "\r") { bytes = bytes.dropLast() }
        if let hash = bytes.firstIndex(of: UInt8(ascii: "#")) { bytes = bytes[..<hash] }
        return LibSVMLine(bytes: bytes, number: lineNumber, columnOne: columnOne)
    }
}

/// Splits a line on spaces and tabs.
private struct LibSVMTokens: IteratorProtocol {
    let bytes: ArraySlice<UInt8>
    var position: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        position = bytes.startIndex
    }

    mutating func next() -> ArraySlice<UInt8>? {
        while position < bytes.endIndex, bytes[position] == 0x20 || bytes[position] == 0x09 { position += 1 }
        guard position < bytes.endIndex else { return nil }
        let begin = position
        while position < bytes.endIndex, bytes[position] != 0x20 && bytes[position] != 0x09 { position += 1 }
        return bytes[begin..<position]
    }
}

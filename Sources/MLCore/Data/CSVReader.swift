import Foundation

/// Streams SageMaker CSV from files into ``Batch``es of dense rows.
///
/// - No header; the first ``CSVOptions/labelSize`` columns are labels; every other column a feature.
/// - The full float grammar (exponents, `nan`, `inf`, a leading `+`); an empty field is a missing
///   value (NaN); a trailing `\r` (CRLF files) is accepted; blank lines are skipped.
/// - A header row, a ragged row or a non-numeric cell is a ``DataError`` naming the file, the
///   1-based line, the 1-based column (field number) and the offending text.
///
/// Each batch holds the complete lines of about ``CSVOptions/chunkBytes`` of input, parsed on
/// ``CSVOptions/threads`` threads; memory stays bounded by the chunk size whatever the file size.
/// Files are read in the order given; ``ChannelFiles`` lists a channel directory in SageMaker's
/// order.
public struct CSVReader: DataSource {
    public let files: [String]
    public let options: CSVOptions
    /// Fields per row, fixed by the first non-blank line of the first file.
    public private(set) var fieldCount: Int?
    private var fileIndex = 0
    private var chunker: ByteChunker?
    /// Lines of the current file consumed before the current chunk.
    private var lineBase = 0

    public init(files: [String], options: CSVOptions = CSVOptions()) throws(DataError) {
        guard options.labelSize >= 0 else {
            throw .unsupported(DataLocation(file: files.first ?? "<csv>"), reason: "label_size must be ≥ 0, got \(options.labelSize)")
        }
        self.files = files
        self.options = options
    }

    public init(path: String, options: CSVOptions = CSVOptions()) throws(DataError) {
        try self.init(files: [path], options: options)
    }

    /// Feature columns, once the first row has been read.
    public var featureCount: Int? { fieldCount.map { $0 - options.labelSize } }

    public mutating func nextBatch() throws(DataError) -> Batch? {
        while true {
            guard let (base, count) = try nextChunk() else { return nil }
            let (parser, pieces, rows, lines) = try plan(base, count)
            var features = Matrix<Float>(rows: rows, columns: parser.featureCount) { _ in }
            var labels: Matrix<Float>? = options.labelSize > 0 ? Matrix<Float>(rows: rows, columns: options.labelSize) { _ in } : nil
            let failure = features.withUnsafeMutableBufferPointer { f in
                labels.withUnsafeMutableBufferPointerIfPresent { l in
                    // invariant: matrix storage always has a base address
                    parser.parse(base, pieces, features: f.baseAddress!, labels: l?.baseAddress) // invariant: see above
                }
            }
            if let failure { throw error(for: failure) }
            finishChunk(count, lines: lines)
            if rows > 0 { return Batch(features: .dense(features), labels: labels) }
        }
    }

    /// Reads every remaining row into one batch, parsing straight into a buffer that grows
    /// geometrically (sized up front from the file sizes and the first chunk's bytes per row).
    public mutating func readAll() throws(DataError) -> Batch {
        var featuresOut: GrowableRows<Float>?
        var labelsOut: GrowableRows<Float>?
        let totalBytes = files.reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int) ?? 0) }
        while let (base, count) = try nextChunk() {
            let (parser, pieces, rows, lines) = try plan(base, count)
            // A chunk of blank lines only (possible before the first row) has no field count yet:
            // the output's width waits for a chunk with rows.
            guard rows > 0 else {
                finishChunk(count, lines: lines)
                continue
            }
            if featuresOut == nil {
                let estimate = Int(Double(totalBytes) / Double(count) * Double(rows) * 1.02) + 16
                featuresOut = GrowableRows(columns: parser.featureCount, reservingRows: estimate)
                if options.labelSize > 0 { labelsOut = GrowableRows(columns: options.labelSize, reservingRows: estimate) }
            }
            // invariant: both are set just above
            let f = featuresOut!.appendRows(rows)
            let l = labelsOut?.appendRows(rows)
            if let failure = parser.parse(base, pieces, features: f, labels: l) { throw error(for: failure) }
            finishChunk(count, lines: lines)
        }
        guard let featuresOut else {
            return Batch(features: .dense(Matrix(rows: 0, columns: 0)),
                         labels: options.labelSize > 0 ? Matrix(rows: 0, columns: options.labelSize) : nil)
        }
        return Batch(features: .dense(featuresOut.matrix()), labels: labelsOut?.matrix())
    }

    /// Convenience: every row of `files`.
    public static func readAll(files: [String], options: CSVOptions = CSVOptions()) throws(DataError) -> Batch {
        var reader = try CSVReader(files: files, options: options)
        return try reader.readAll()
    }

    // MARK: Chunks

    /// The next run of complete lines, or `nil` at the end of the last file.
    private mutating func nextChunk() throws(DataError) -> (UnsafePointer<UInt8>, Int)? {
        while fileIndex < files.count {
            if chunker == nil {
                chunker = try ByteChunker(path: files[fileIndex], chunkBytes: options.chunkBytes)
                lineBase = 0
            }
            // invariant: set just above
            let count = try chunker!.completeLines()
            if count > 0 { return (UnsafePointer(chunker!.bytes), count) } // invariant: set above
            chunker = nil
            fileIndex += 1
        }
        return nil
    }

    private mutating func finishChunk(_ count: Int, lines: Int) {
        chunker?.consume(count)
        lineBase += lines
    }

    /// The first pass over a chunk: its parser, its pieces with their line and row counts, and
    /// the totals.
    private mutating func plan(
        _ base: UnsafePointer<UInt8>, _ count: Int
    ) throws(DataError) -> (CSVChunkParser, [CSVChunkParser.PieceCount], rows: Int, lines: Int) {
        let parser = try parserForChunk(base, count)
        var pieces = parser.pieces(base, count: count)
        parser.count(base, &pieces)
        return (parser, pieces, pieces.reduce(0) { $0 + $1.rows }, pieces.reduce(0) { $0 + $1.lines })
    }

    /// The parser for this channel, fixing the field count from the first non-blank line.
    private mutating func parserForChunk(_ base: UnsafePointer<UInt8>, _ count: Int) throws(DataError) -> CSVChunkParser {
        if fieldCount == nil {
            var p = base
            let end = base + count
            var line = lineBase
            while p < end {
                let lineEnd = CSVChunkParser.lineEnd(p, end)
                var contentEnd = lineEnd
                if contentEnd > p && contentEnd[-1] == 0x0D { contentEnd -= 1 }
                if contentEnd > p {
                    let probe = CSVChunkParser(labelSize: options.labelSize, fieldCount: 0, delimiter: options.delimiter, threads: 1)
                    let fields = probe.countFields(p, contentEnd)
                    if options.labelSize > 0 && fields <= options.labelSize {
                        throw .missingLabel(DataLocation(file: files[fileIndex], line: line + 1), labelSize: options.labelSize, fields: fields)
                    }
                    fieldCount = fields
                    break
                }
                line += 1
                p = lineEnd + 1
            }
        }
        // Until a non-blank line fixes the field count, the chunk has no rows; the placeholder
        // keeps the feature count (fields − labels) non-negative for its empty matrix.
        return CSVChunkParser(labelSize: options.labelSize, fieldCount: fieldCount ?? options.labelSize + 1,
                              delimiter: options.delimiter, threads: options.threads)
    }

    private func error(for failure: CSVChunkParser.Failure) -> DataError {
        let line = lineBase + failure.line + 1
        let at = DataLocation(file: files[fileIndex], line: line, column: failure.column)
        switch failure.kind {
        case .notANumber where line == 1:
            return .headerRow(at, text: failure.text)
        case .notANumber:
            return .notANumber(at, text: failure.text)
        case .ragged(let got):
            return .raggedRow(DataLocation(file: files[fileIndex], line: line), expected: fieldCount ?? 0, got: got)
        }
    }
}

extension Optional {
    /// `withUnsafeMutableBufferPointer` on an optional matrix; `nil` passes `nil`.
    mutating func withUnsafeMutableBufferPointerIfPresent<T: BLASScalar, R>(
        _ body: (UnsafeMutableBufferPointer<T>?) -> R
    ) -> R where Wrapped == Matrix<T> {
        guard var m = self else { return body(nil) }
        self = nil  // keep the storage uniquely referenced so the write happens in place
        let r = m.withUnsafeMutableBufferPointer { body($0) }
        self = m
        return r
    }
}

/// Reads a file in chunks that end on a line boundary.
///
/// Regular files are mapped window by window with `mmap` (no copy, and the page faults are
/// taken by the parsing threads in parallel); each window is unmapped once parsed, so resident
/// memory stays about one chunk whatever the file size. Anything else — a Pipe-mode FIFO, a
/// device — is read with `read()` into a buffer that keeps the partial last line.
final class ByteChunker {
    let path: String
    private let fd: Int32
    /// Start of the current chunk.
    private(set) var bytes: UnsafeMutablePointer<UInt8>
    private let chunkBytes: Int

    // read() mode
    private var buffer: UnsafeMutablePointer<UInt8>?
    private var capacity: Int
    private var filled = 0
    private var atEOF = false

    // mmap mode
    private let fileSize: Int?
    private var fileOffset = 0
    private var mapping: (base: UnsafeMutableRawPointer, length: Int)?
    private static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    init(path: String, chunkBytes: Int) throws(DataError) {
        self.path = path
        self.chunkBytes = chunkBytes
        fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw .io(path: path, reason: String(cString: strerror(errno))) }
        var info = stat()
        if fstat(fd, &info) != 0 {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw .io(path: path, reason: reason)
        }
        let kind = info.st_mode & S_IFMT
        if kind == S_IFDIR {
            close(fd)
            throw .io(path: path, reason: "is a directory; pass its files (ChannelFiles lists a channel)")
        }
        capacity = chunkBytes
        if kind == S_IFREG {
            fileSize = Int(info.st_size)
            buffer = nil
            bytes = UnsafeMutablePointer(bitPattern: 1)! // invariant: a placeholder, never read before a chunk is mapped
        } else {
            fileSize = nil
            let b = UnsafeMutablePointer<UInt8>.allocate(capacity: chunkBytes)
            buffer = b
            bytes = b
        }
    }

    deinit {
        unmap()
        close(fd)
        buffer?.deallocate()
    }

    /// Returns how many leading bytes of ``bytes`` form complete lines (all remaining bytes at the
    /// end of the file); 0 when the file is exhausted. A line longer than the chunk grows it.
    func completeLines() throws(DataError) -> Int {
        if let fileSize { return try mapNext(fileSize) }
        return try readNext()
    }

    /// Drops the first `count` bytes of the chunk (the chunk just parsed).
    func consume(_ count: Int) {
        if fileSize != nil {
            fileOffset += count
            unmap()
            return
        }
        let rest = filled - count
        if rest > 0 { memmove(bytes, bytes + count, rest) }
        filled = rest
    }

    private func unmap() {
        if let m = mapping {
            munmap(m.base, m.length)
            mapping = nil
        }
    }

    private func mapNext(_ fileSize: Int) throws(DataError) -> Int {
        unmap()
        guard fileOffset < fileSize else { return 0 }
        var window = chunkBytes
        while true {
            let end = min(fileSize, fileOffset + window)
            let alignedStart = fileOffset - fileOffset % Self.pageSize
            let length = end - alignedStart
            guard let base = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, off_t(alignedStart)), base != MAP_FAILED else {
                throw .io(path: path, reason: "mmap failed: " + String(cString: strerror(errno)))
            }
            madvise(base, length, MADV_SEQUENTIAL | MADV_WILLNEED)
            mapping = (base, length)
            bytes = (base + (fileOffset - alignedStart)).assumingMemoryBound(to: UInt8.self)
            let count = end - fileOffset
            if end == fileSize { return count }
            var k = count - 1
            while k >= 0 && bytes[k] != 0x0A { k -= 1 }
            if k >= 0 { return k + 1 }
            // No newline in the window: one line is longer than the chunk.
            unmap()
            window *= 2
        }
    }

    private func readNext() throws(DataError) -> Int {
        while true {
            while filled < capacity && !atEOF {
                let n = read(fd, bytes + filled, capacity - filled)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw .io(path: path, reason: String(cString: strerror(errno)))
                }
                if n == 0 { atEOF = true } else { filled += n }
            }
            if filled == 0 { return 0 }
            // The last newline: scan back over the final partial line (short in practice).
            var k = filled - 1
            while k >= 0 && bytes[k] != 0x0A { k -= 1 }
            if k >= 0 { return k + 1 }
            if atEOF { return filled }
            let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * 2)
            grown.moveInitialize(from: bytes, count: filled)
            buffer?.deallocate()
            buffer = grown
            bytes = grown
            capacity *= 2
        }
    }
}

import Foundation

/// Parses whole lines of CSV held in memory, in parallel, into rows of floats.
///
/// Two passes over the bytes, each split into pieces on line boundaries: the first counts lines
/// and non-blank rows per piece (a `memchr` scan), a prefix sum turns the counts into each piece's
/// first row and first line, and the second parses every piece straight into its rows of the
/// output. Nothing is allocated per line or per field, and the result does not depend on the
/// thread count (each row's values come from its own bytes only).
struct CSVChunkParser: Sendable {
    let labelSize: Int
    /// Fields per row (labels + features), fixed by the first row of the channel.
    let fieldCount: Int
    let delimiter: UInt8
    let threads: Int

    var featureCount: Int { fieldCount - labelSize }

    /// A line of the chunk that could not be parsed, before it is given a file name.
    struct Failure: Sendable {
        enum Kind: Sendable { case notANumber, ragged(got: Int) }
        var line: Int  // 0-based within the chunk
        var column: Int  // 1-based field number
        var text: String
        var kind: Kind
    }

    /// Counts of one piece from the first pass.
    struct PieceCount: Sendable {
        var start = 0, end = 0, lines = 0, rows = 0
    }

    /// Cuts `[0, count)` into pieces that start at line starts.
    func pieces(_ base: UnsafePointer<UInt8>, count: Int) -> [PieceCount] {
        let minimum = 1 << 16
        let wanted = max(1, min(threads * 4, count / minimum))
        var cuts = [0]
        for k in 1..<wanted {
            var p = max(cuts[cuts.count - 1], count * k / wanted)
            // Move to just after the next newline.
            if p > 0 && p < count {
                if let nl = memchr(base + p - 1, 0x0A, count - p + 1) {
                    p = base.distance(to: nl.assumingMemoryBound(to: UInt8.self)) + 1
                } else {
                    p = count
                }
            }
            if p > cuts[cuts.count - 1] && p < count { cuts.append(p) }
        }
        cuts.append(count)
        return (0..<(cuts.count - 1)).map { PieceCount(start: cuts[$0], end: cuts[$0 + 1]) }
    }

    /// First pass: lines and non-blank rows of each piece.
    func count(_ base: UnsafePointer<UInt8>, _ pieces: inout [PieceCount]) {
        let shared = SharedPointer(base)
        let n = pieces.count
        pieces.withUnsafeMutableBufferPointer { buffer in
            // invariant: `pieces` is non-empty (pieces(_:count:) always returns at least one)
            let out = SharedMutablePointer(buffer.baseAddress!) // invariant: see above
            parallelFor(blocks: n, threads: threads) { k in
                var piece = out[k]
                var p = shared.base + piece.start
                let end = shared.base + piece.end
                var lines = 0, rows = 0
                while p < end {
                    let lineEnd = Self.lineEnd(p, end)
                    var contentEnd = lineEnd
                    if contentEnd > p && contentEnd[-1] == 0x0D { contentEnd -= 1 }
                    if contentEnd > p { rows += 1 }
                    lines += 1
                    p = lineEnd + 1
                }
                piece.lines = lines
                piece.rows = rows
                out[k] = piece
            }
        }
    }

    @inline(__always)
    static func lineEnd(_ p: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> UnsafePointer<UInt8> {
        guard let nl = memchr(p, 0x0A, end - p) else { return end }
        return UnsafePointer(nl.assumingMemoryBound(to: UInt8.self))
    }

    /// Second pass: parses every piece into `features` (rows × featureCount) and `labels`
    /// (rows × labelSize), starting at row 0. Returns the failure with the lowest line, if any.
    func parse(
        _ base: UnsafePointer<UInt8>, _ pieces: [PieceCount],
        features: UnsafeMutablePointer<Float>, labels: UnsafeMutablePointer<Float>?
    ) -> Failure? {
        var firstRow = [Int](repeating: 0, count: pieces.count)
        var firstLine = [Int](repeating: 0, count: pieces.count)
        for k in 1..<max(1, pieces.count) {
            firstRow[k] = firstRow[k - 1] + pieces[k - 1].rows
            firstLine[k] = firstLine[k - 1] + pieces[k - 1].lines
        }
        let failures = PartialResults<Failure?>(count: pieces.count, placeholder: nil)
        let shared = SharedPointer(base)
        let featuresOut = SharedMutablePointer(features)
        let labelsOut = labels.map { SharedMutablePointer($0) }
        let starts = (firstRow, firstLine)
        parallelFor(blocks: pieces.count, threads: threads) { k in
            let piece = pieces[k]
            let failure = parsePiece(
                shared.base + piece.start, shared.base + piece.end,
                row: starts.0[k], line: starts.1[k], features: featuresOut, labels: labelsOut)
            if let failure { failures.set(k, failure) }
        }
        return failures.values.lazy.compactMap { $0 }.first
    }

    /// Parses lines `[p, end)` into rows from `row`; `line` is the 0-based line number of `p`.
    private func parsePiece(
        _ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>, row firstRow: Int, line firstLine: Int,
        features: SharedMutablePointer<Float>, labels: SharedMutablePointer<Float>?
    ) -> Failure? {
        let features = features.base
        let labels = labels?.base
        let fields = fieldCount, labelCount = labelSize, featureCount = fieldCount - labelSize
        let delimiter = self.delimiter
        var p = start
        var row = firstRow
        var line = firstLine
        while p < end {
            let lineEnd = Self.lineEnd(p, end)
            var contentEnd = lineEnd
            if contentEnd > p && contentEnd[-1] == 0x0D { contentEnd -= 1 }
            if contentEnd > p {
                let featureRow = features + row * featureCount
                var field = 0
                var f = p
                while true {
                    if field >= fields {
                        return Failure(line: line, column: field + 1, text: "", kind: .ragged(got: countFields(p, contentEnd)))
                    }
                    let (kind, value, stop) = DecimalParser.scanFloat(f, contentEnd, stopAt: delimiter)
                    if kind == .invalid {
                        var q = f
                        while q < contentEnd && q.pointee != delimiter { q += 1 }
                        return Failure(line: line, column: field + 1, text: Self.text(f, q), kind: .notANumber)
                    }
                    if field < labelCount {
                        // invariant: labels is non-nil whenever labelCount > 0 (the caller allocates it)
                        labels![row * labelCount + field] = value
                    } else {
                        featureRow[field - labelCount] = value
                    }
                    field += 1
                    if stop >= contentEnd { break }
                    f = stop + 1
                }
                if field != fields {
                    return Failure(line: line, column: field + 1, text: "", kind: .ragged(got: field))
                }
                row += 1
            }
            line += 1
            p = lineEnd + 1
        }
        return nil
    }

    func countFields(_ p: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> Int {
        var n = 1
        var q = p
        while q < end {
            if q.pointee == delimiter { n += 1 }
            q += 1
        }
        return n
    }

    /// The offending text, at most 64 bytes, for error messages.
    static func text(_ p: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> String {
        let n = min(64, end - p)
        return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self) + (end - p > 64 ? "…" : "")
    }
}

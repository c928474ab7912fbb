/// A sparse matrix in compressed sparse row (CSR) form, as scipy.sparse.csr_matrix stores it.
///
/// Row `i`'s entries are `columnIndices[rowOffsets[i]..<rowOffsets[i+1]]` with the matching
/// `values`; column indices are zero-based and strictly increasing within a row. Entries that
/// are absent are zeros for linear models and *missing* for trees (XGBoost's convention).
public struct SparseMatrix<T: BLASScalar>: Equatable, Sendable {
    public private(set) var rows: Int
    public private(set) var columns: Int
    /// `rows + 1` offsets into `columnIndices` / `values`; `rowOffsets[0] == 0`.
    public private(set) var rowOffsets: [Int]
    public private(set) var columnIndices: [Int32]
    public private(set) var values: [T]

    /// Number of stored entries.
    public var nonzeroCount: Int { values.count }

    /// A matrix from CSR arrays, checked for consistency.
    public init(rows: Int, columns: Int, rowOffsets: [Int], columnIndices: [Int32], values: [T]) throws(ShapeError) {
        guard rowOffsets.count == rows + 1, rowOffsets.first == 0, rowOffsets.last == values.count,
              columnIndices.count == values.count
        else {
            throw ShapeError.mismatch(operation: "SparseMatrix", left: "\(rows) rows, \(rowOffsets.count) offsets",
                                      right: "\(columnIndices.count) indices, \(values.count) values")
        }
        for i in 0..<rows {
            guard rowOffsets[i] <= rowOffsets[i + 1] else {
                throw ShapeError.mismatch(operation: "SparseMatrix", left: "row \(i) offsets", right: "decreasing")
            }
            var previous: Int32 = -1
            for p in rowOffsets[i]..<rowOffsets[i + 1] {
                let c = columnIndices[p]
                guard c > previous, Int(c) < columns else {
                    throw ShapeError.mismatch(operation: "SparseMatrix", left: "row \(i) column \(c)",
                                              right: "increasing indices below \(columns)")
                }
                previous = c
            }
        }
        self.rows = rows
        self.columns = columns
        self.rowOffsets = rowOffsets
        self.columnIndices = columnIndices
        self.values = values
    }

    /// An empty matrix with `columns` columns, ready for ``appendRow(indices:values:)``.
    public init(columns: Int) {
        rows = 0
        self.columns = columns
        rowOffsets = [0]
        columnIndices = []
        values = []
    }

    /// Appends a row; `indices` must be increasing and below ``columns`` (the caller checks,
    /// since it knows the file and line to report).
    public mutating func appendRow<I: Collection<Int32>, V: Collection<T>>(indices: I, values newValues: V) {
        columnIndices.append(contentsOf: indices)
        values.append(contentsOf: newValues)
        rowOffsets.append(values.count)
        rows += 1
    }

    /// Widens the matrix to `columns` (never narrows).
    public mutating func widen(toColumns newColumns: Int) { columns = max(columns, newColumns) }

    /// The dense equivalent, absent entries set to `fill` (0 for linear models, NaN for trees).
    public func dense(fill: T = 0) -> Matrix<T> {
        var m = Matrix<T>(rows: rows, columns: columns, repeating: fill)
        m.withUnsafeMutableBufferPointer { out in
            for i in 0..<rows {
                for p in rowOffsets[i]..<rowOffsets[i + 1] { out[i * columns + Int(columnIndices[p])] = values[p] }
            }
        }
        return m
    }
}

extension SparseMatrix {
    /// The CSR arrays, read in place (no copies, no bounds checks in the caller's loop).
    public func withUnsafeBuffers<R>(
        _ body: (UnsafeBufferPointer<Int>, UnsafeBufferPointer<Int32>, UnsafeBufferPointer<T>) throws -> R
    ) rethrows -> R {
        try rowOffsets.withUnsafeBufferPointer { o in
            try columnIndices.withUnsafeBufferPointer { c in
                try values.withUnsafeBufferPointer { v in try body(o, c, v) }
            }
        }
    }

    /// The rows `range` as their own matrix.
    public func rows(_ range: Range<Int>) -> SparseMatrix {
        let lo = rowOffsets[range.lowerBound], hi = rowOffsets[range.upperBound]
        var out = SparseMatrix(columns: columns)
        out.rows = range.count
        out.rowOffsets = rowOffsets[range.lowerBound...range.upperBound].map { $0 - lo }
        out.columnIndices = Array(columnIndices[lo..<hi])
        out.values = Array(values[lo..<hi])
        return out
    }

    /// The rows at `indices`, in that order.
    public func gathering(rows indices: [Int]) -> SparseMatrix {
        var out = SparseMatrix(columns: columns)
        var total = 0
        for i in indices { total += rowOffsets[i + 1] - rowOffsets[i] }
        out.columnIndices.reserveCapacity(total)
        out.values.reserveCapacity(total)
        out.rowOffsets.reserveCapacity(indices.count + 1)
        for i in indices {
            out.appendRow(indices: columnIndices[rowOffsets[i]..<rowOffsets[i + 1]], values: values[rowOffsets[i]..<rowOffsets[i + 1]])
        }
        return out
    }

    /// Removes every row, keeping the capacity (for buffers refilled per shard).
    public mutating func removeAllRows() {
        rows = 0
        rowOffsets.removeAll(keepingCapacity: true)
        rowOffsets.append(0)
        columnIndices.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
    }
}

extension SparseMatrix {
    /// Appends row `row` of `other` (same column count), each value multiplied by `scale` of
    /// its column: the gather-and-normalize of a training shard, without temporaries.
    public mutating func appendRow(_ row: Int, of other: SparseMatrix, scaledBy scale: UnsafeBufferPointer<T>) {
        let lo = other.rowOffsets[row], hi = other.rowOffsets[row + 1]
        columnIndices.append(contentsOf: other.columnIndices[lo..<hi])
        for p in lo..<hi { values.append(other.values[p] * scale[Int(other.columnIndices[p])]) }
        rowOffsets.append(values.count)
        rows += 1
    }
}

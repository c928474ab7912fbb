/// A dense row-major matrix (samples × features) of `Float` or `Double`.
///
/// Storage is one contiguous block: element `(i, j)` sits at `i * columns + j`. Matrices are
/// values with copy-on-write: copying is O(1) and the first mutation of a shared block copies it.
/// ``rows(_:)`` returns a view of a row range that shares the block without copying; mutating
/// that view copies just its rows, exactly as mutating an `ArraySlice` would.
public struct Matrix<T: BLASScalar>: Sendable {
    @usableFromInline var storage: MatrixStorage<T>
    /// Element offset of row 0 in `storage`.
    @usableFromInline var offset: Int
    /// Number of rows.
    public private(set) var rows: Int
    /// Number of columns (and the row stride: rows are contiguous).
    public private(set) var columns: Int

    /// Number of elements, `rows * columns`.
    @inlinable public var count: Int { rows * columns }
    /// `(rows, columns)`.
    @inlinable public var shape: (rows: Int, columns: Int) { (rows, columns) }

    /// A matrix whose elements are all `value`.
    ///
    /// - Precondition: `rows >= 0 && columns >= 0` (shapes come from code, not from data).
    public init(rows: Int, columns: Int, repeating value: T = 0) {
        precondition(rows >= 0 && columns >= 0, "negative matrix shape") // invariant: callers pass counts
        storage = MatrixStorage(capacity: rows * columns)
        offset = 0
        self.rows = rows
        self.columns = columns
        storage.base.initialize(repeating: value, count: rows * columns)
    }

    /// A matrix with uninitialized contents filled by `initializer`, which must write every element.
    public init(
        rows: Int, columns: Int,
        unsafeUninitialized initializer: (UnsafeMutableBufferPointer<T>) throws -> Void
    ) rethrows {
        precondition(rows >= 0 && columns >= 0, "negative matrix shape") // invariant: callers pass counts
        storage = MatrixStorage(capacity: rows * columns)
        offset = 0
        self.rows = rows
        self.columns = columns
        try initializer(UnsafeMutableBufferPointer(start: storage.base, count: rows * columns))
    }

    /// Adopts `storage` (capacity ≥ rows × columns, first rows × columns elements initialized).
    /// For readers that grow a buffer and then hand it over without a copy.
    init(adopting storage: MatrixStorage<T>, rows: Int, columns: Int) {
        self.storage = storage
        self.offset = 0
        self.rows = rows
        self.columns = columns
    }

    /// A matrix from row-major `elements`.
    public init(rows: Int, columns: Int, elements: [T]) throws(ShapeError) {
        // Overflow-checked: shapes here can come from data, and bad input must throw, not trap.
        let (needed, overflow) = rows.multipliedReportingOverflow(by: columns)
        guard rows >= 0, columns >= 0, !overflow, elements.count == needed else {
            throw ShapeError.elementCount(expected: overflow ? Int.max : needed, got: elements.count, rows: rows, columns: columns)
        }
        self.init(rows: rows, columns: columns) { buffer in
            _ = buffer.initialize(from: elements)
        }
    }

    /// A matrix from an array of equally long rows.
    public init(_ rowArrays: [[T]]) throws(ShapeError) {
        let columns = rowArrays.first?.count ?? 0
        for (i, row) in rowArrays.enumerated() where row.count != columns {
            throw ShapeError.raggedRows(row: i, expected: columns, got: row.count)
        }
        try self.init(rows: rowArrays.count, columns: columns, elements: rowArrays.flatMap { $0 })
    }

    /// The elements in row-major order.
    public var elements: [T] { withUnsafeBufferPointer { Array($0) } }

    /// Row `i` as an array.
    public func row(_ i: Int) -> [T] {
        precondition(i >= 0 && i < rows, "row index \(i) out of range 0..<\(rows)") // invariant: caller's index
        return Array(UnsafeBufferPointer(start: storage.base + offset + i * columns, count: columns))
    }

    /// Element `(row, column)`.
    @inlinable
    public subscript(row: Int, column: Int) -> T {
        get {
            precondition(row >= 0 && row < rows && column >= 0 && column < columns, "index out of range") // invariant
            return storage.base[offset + row * columns + column]
        }
        set {
            precondition(row >= 0 && row < rows && column >= 0 && column < columns, "index out of range") // invariant
            makeUnique()
            storage.base[offset + row * columns + column] = newValue
        }
    }

    /// A view of rows `range` that shares storage (no copy until either side is mutated).
    public func rows(_ range: Range<Int>) -> Matrix<T> {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows, "row range \(range) out of 0..<\(rows)") // invariant
        var view = self
        view.offset = offset + range.lowerBound * columns
        view.rows = range.count
        return view
    }

    /// The same elements viewed with a new shape of equal size (no copy).
    public func reshaped(rows newRows: Int, columns newColumns: Int) throws(ShapeError) -> Matrix<T> {
        let (size, overflow) = newRows.multipliedReportingOverflow(by: newColumns) // a trap on bad input otherwise
        guard newRows >= 0, newColumns >= 0, !overflow, size == count else {
            throw ShapeError.elementCount(expected: count, got: overflow ? Int.max : size, rows: newRows, columns: newColumns)
        }
        var view = self
        view.rows = newRows
        view.columns = newColumns
        return view
    }

    /// The transpose, as a new matrix.
    public func transposed() -> Matrix<T> {
        Matrix(rows: columns, columns: rows) { out in
            withUnsafeBufferPointer { src in
                // Blocked so both sides stay in cache.
                let block = 32
                for i0 in stride(from: 0, to: rows, by: block) {
                    for j0 in stride(from: 0, to: columns, by: block) {
                        for i in i0..<min(i0 + block, rows) {
                            for j in j0..<min(j0 + block, columns) {
                                out[j * rows + i] = src[i * columns + j]
                            }
                        }
                    }
                }
            }
        }
    }

    /// Ensures the storage is owned by this value alone (copy-on-write).
    @inlinable
    mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) { copyStorage() }
    }

    @usableFromInline
    mutating func copyStorage() {
        let fresh = MatrixStorage<T>(capacity: count)
        fresh.base.initialize(from: storage.base + offset, count: count)
        storage = fresh
        offset = 0
    }

    /// Calls `body` with the elements, row-major.
    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<T>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.base + offset, count: count))
    }

    /// Calls `body` with the elements, row-major, for writing (copies first if shared).
    @inlinable
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<T>) throws -> R
    ) rethrows -> R {
        makeUnique()
        return try body(UnsafeMutableBufferPointer(start: storage.base + offset, count: count))
    }
}

extension Matrix: Equatable {
    /// Elementwise equality of shape and values (`NaN != NaN`, as for floats).
    public static func == (lhs: Matrix, rhs: Matrix) -> Bool {
        guard lhs.rows == rhs.rows, lhs.columns == rhs.columns else { return false }
        return lhs.withUnsafeBufferPointer { a in rhs.withUnsafeBufferPointer { b in a.elementsEqual(b) } }
    }
}

extension Matrix: CustomStringConvertible {
    public var description: String {
        var lines = ["Matrix<\(T.self)> \(rows)×\(columns)"]
        for i in 0..<min(rows, 8) {
            let values = row(i).prefix(8).map { "\($0)" }.joined(separator: ", ")
            lines.append("  [\(values)\(columns > 8 ? ", …" : "")]")
        }
        if rows > 8 { lines.append("  …") }
        return lines.joined(separator: "\n")
    }
}

/// A shape that does not fit the operation.
public enum ShapeError: Error, Equatable, Sendable, CustomStringConvertible {
    case elementCount(expected: Int, got: Int, rows: Int, columns: Int)
    case raggedRows(row: Int, expected: Int, got: Int)
    case mismatch(operation: String, left: String, right: String)

    public var description: String {
        switch self {
        case let .elementCount(expected, got, rows, columns):
            let (needed, overflow) = rows.multipliedReportingOverflow(by: columns)
            return "shape \(rows)×\(columns) needs \(overflow ? "more than \(Int.max)" : "\(needed)") elements, but \(got) were given (expected \(expected))"
        case let .raggedRows(row, expected, got):
            return "row \(row) has \(got) values but row 0 has \(expected)"
        case let .mismatch(operation, left, right):
            return "\(operation): shapes \(left) and \(right) do not match"
        }
    }
}

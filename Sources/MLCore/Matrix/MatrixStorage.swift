/// The heap block behind one or more ``Matrix`` values. Copy-on-write keeps shared blocks
/// immutable, which is why the class can be `Sendable`.
@usableFromInline
final class MatrixStorage<T: BLASScalar>: @unchecked Sendable {
    @usableFromInline let base: UnsafeMutablePointer<T>
    @usableFromInline let capacity: Int

    /// 64-byte alignment: a cache line, and what AVX-512 loads like.
    @usableFromInline static var alignment: Int { 64 }

    @usableFromInline
    init(capacity: Int) {
        self.capacity = capacity
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: max(1, capacity) * MemoryLayout<T>.stride, alignment: Self.alignment)
        base = raw.bindMemory(to: T.self, capacity: max(1, capacity))
    }

    deinit { UnsafeMutableRawPointer(base).deallocate() }
}

/// A row buffer that grows geometrically, for readers that do not know the row count up front.
struct GrowableRows<T: BLASScalar> {
    private(set) var storage: MatrixStorage<T>
    let columns: Int
    private(set) var rows = 0

    init(columns: Int, reservingRows: Int) {
        self.columns = columns
        storage = MatrixStorage(capacity: max(1, reservingRows) * max(1, columns))
    }

    /// Makes room for `count` more rows and returns where they start.
    mutating func appendRows(_ count: Int) -> UnsafeMutablePointer<T> {
        let needed = (rows + count) * columns
        if needed > storage.capacity {
            let grown = MatrixStorage<T>(capacity: max(needed, storage.capacity + storage.capacity / 2))
            grown.base.moveInitialize(from: storage.base, count: rows * columns)
            storage = grown
        }
        let start = storage.base + rows * columns
        rows += count
        return start
    }

    /// The rows as a matrix, without copying.
    func matrix() -> Matrix<T> { Matrix(adopting: storage, rows: rows, columns: columns) }
}

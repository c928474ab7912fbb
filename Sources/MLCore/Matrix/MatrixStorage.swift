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

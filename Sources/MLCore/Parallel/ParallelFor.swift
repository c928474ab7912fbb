import Dispatch
import Synchronization

/// Tracks whether any `parallelFor` is running, so process-wide settings are not changed
/// underneath it.
enum ParallelRegion {
    static let depth = Atomic<Int>(0)
    static var isActive: Bool { depth.load(ordering: .relaxed) > 0 }
}

/// A raw pointer that parallel blocks may share because each block writes a disjoint range.
///
/// This is the one escape hatch from `Sendable` checking for parallel kernels; keep its use to
/// "block `b` writes only its own rows".
public struct SharedMutablePointer<T>: @unchecked Sendable {
    public let base: UnsafeMutablePointer<T>
    public init(_ base: UnsafeMutablePointer<T>) { self.base = base }
    @inlinable public subscript(i: Int) -> T {
        get { base[i] }
        nonmutating set { base[i] = newValue }
    }
    @inlinable public static func + (p: SharedMutablePointer, n: Int) -> UnsafeMutablePointer<T> { p.base + n }
}

/// A read-only pointer shared by parallel blocks.
public struct SharedPointer<T>: @unchecked Sendable {
    public let base: UnsafePointer<T>
    public init(_ base: UnsafePointer<T>) { self.base = base }
    @inlinable public subscript(i: Int) -> T { base[i] }
    @inlinable public static func + (p: SharedPointer, n: Int) -> UnsafePointer<T> { p.base + n }
}

/// Runs `body(block)` for every block in `0..<blocks` on up to `threads` Dispatch workers.
///
/// Blocks are handed out dynamically (an atomic counter), so uneven blocks balance; results must
/// therefore be indexed by block, never by worker, to stay deterministic. One block or one thread
/// runs serially on the caller with no Dispatch overhead.
public func parallelFor(blocks: Int, threads: Int, _ body: @Sendable (Int) -> Void) {
    guard blocks > 0 else { return }
    let workers = min(max(1, threads), blocks)
    // The serial path is a region too: what a body may do must not depend on the thread count.
    ParallelRegion.depth.add(1, ordering: .relaxed)
    defer { ParallelRegion.depth.subtract(1, ordering: .relaxed) }
    if workers == 1 {
        for b in 0..<blocks { body(b) }
        return
    }
    let next = Atomic<Int>(0)
    DispatchQueue.concurrentPerform(iterations: workers) { _ in
        while true {
            let b = next.add(1, ordering: .relaxed).oldValue
            if b >= blocks { break }
            body(b)
        }
    }
}

/// ``parallelFor(blocks:threads:_:)`` for a throwing body. After a block throws, no block above
/// it starts; blocks below it still run, so the error of the lowest-numbered failing block is
/// rethrown and the reported error does not depend on scheduling.
public func parallelFor(blocks: Int, threads: Int, _ body: @Sendable (Int) throws -> Void) throws {
    let failure = Mutex<(block: Int, error: any Error)?>(nil)
    // Not a plain stop flag: a block handed out before a higher one failed must still run, or
    // which error wins would depend on the interleaving.
    let lowestFailed = Atomic<Int>(Int.max)
    parallelFor(blocks: blocks, threads: threads) { b in
        if b > lowestFailed.load(ordering: .relaxed) { return }
        do {
            try body(b)
        } catch {
            lowestFailed.min(b, ordering: .relaxed)
            failure.withLock { current in
                if let kept = current, kept.block < b { return }
                current = (b, error)
            }
        }
    }
    if let f = failure.withLock({ $0 }) { throw f.error }
}

/// ``parallelFor(blocks:threads:_:)`` with per-worker scratch: `makeScratch` runs once per worker
/// that takes part, and the worker passes the same scratch to each block it runs. Use it for
/// buffers a block needs but whose contents do not survive the block.
public func parallelFor<Scratch>(
    blocks: Int, threads: Int,
    makeScratch: @Sendable () -> Scratch,
    _ body: @Sendable (Int, inout Scratch) -> Void
) {
    guard blocks > 0 else { return }
    let workers = min(max(1, threads), blocks)
    ParallelRegion.depth.add(1, ordering: .relaxed) // the serial path is a region too
    defer { ParallelRegion.depth.subtract(1, ordering: .relaxed) }
    if workers == 1 {
        var scratch = makeScratch()
        for b in 0..<blocks { body(b, &scratch) }
        return
    }
    let next = Atomic<Int>(0)
    DispatchQueue.concurrentPerform(iterations: workers) { _ in
        var scratch = makeScratch()
        while true {
            let b = next.add(1, ordering: .relaxed).oldValue
            if b >= blocks { break }
            body(b, &scratch)
        }
    }
}

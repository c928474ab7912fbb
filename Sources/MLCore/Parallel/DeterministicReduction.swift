/// Reductions whose result depends only on the data and the block size, never on the thread
/// count or the scheduling (DESIGN.md "Determinism").
///
/// How: the index range is cut into fixed-size blocks (the block size is a constant of the
/// algorithm, not derived from the thread count); each block's partial result is computed
/// serially and stored by block index; the partials are then combined in a fixed pairwise tree
/// (`((p0+p1)+(p2+p3))+…`). Floating-point addition is not associative, so this fixed shape is
/// what makes 1, 2, 3 or 8 threads give the same bits. The tree also keeps rounding error
/// O(log blocks) instead of O(blocks).
public enum DeterministicReduction {
    /// Combines `partials` in the fixed pairwise tree order. `partials` must be non-empty.
    @inlinable
    public static func treeCombine<R>(_ partials: [R], _ combine: (R, R) -> R) -> R {
        var level = partials
        while level.count > 1 {
            var next: [R] = []
            next.reserveCapacity((level.count + 1) / 2)
            var i = 0
            while i + 1 < level.count {
                next.append(combine(level[i], level[i + 1]))
                i += 2
            }
            if i < level.count { next.append(level[i]) }
            level = next
        }
        return level[0]
    }

    /// Maps every block of `0..<count` (blocks of `blockSize`) to a partial result in parallel and
    /// combines the partials in the fixed tree order. Returns `identity` for an empty range.
    public static func reduce<R: Sendable>(
        count: Int, blockSize: Int, threads: Int, identity: R,
        map: @Sendable (Range<Int>) -> R,
        combine: (R, R) -> R
    ) -> R {
        guard count > 0 else { return identity }
        let size = max(1, blockSize)
        let blocks = (count + size - 1) / size
        let partials = PartialResults<R>(count: blocks, placeholder: identity)
        parallelFor(blocks: blocks, threads: threads) { b in
            let lo = b * size
            partials.set(b, map(lo..<min(count, lo + size)))
        }
        return treeCombine(partials.values, combine)
    }

    /// Sums `values` in fixed blocks, each block summed left to right, partials combined by the tree.
    public static func sum<T: BLASScalar>(_ values: UnsafeBufferPointer<T>, blockSize: Int = 4096, threads: Int) -> T {
        guard let base = values.baseAddress, !values.isEmpty else { return 0 }
        let p = SharedPointer(base)
        return reduce(count: values.count, blockSize: blockSize, threads: threads, identity: T.zero, map: { r in
            var s = T.zero
            for i in r { s += p[i] }
            return s
        }, combine: +)
    }

    /// Element-wise sum of `partials` flat buffers of equal length in the fixed tree order, into
    /// `result` — the shape of an all-reduce of per-micro-shard gradients or histograms.
    /// With no partials the result is zeroed (the empty sum), never left holding stale values.
    /// Every partial must have `result.count` elements (a ``ShapeError`` otherwise).
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    public static func sumBuffers<T: BLASScalar>(_ partials: [[T]], into result: inout [T]) throws(ShapeError) {
        for (k, p) in partials.enumerated() where p.count != result.count {
            throw .mismatch(operation: "sumBuffers", left: "result of \(result.count)", right: "partial \(k) of \(p.count)")
        }
        guard !partials.isEmpty else {
            for i in result.indices { result[i] = 0 }
            return
        }
        let combined = treeCombine(partials) { a, b in
            var out = a
            out.withUnsafeMutableBufferPointer { o in
                b.withUnsafeBufferPointer { bb in
                    for i in 0..<min(o.count, bb.count) { o[i] += bb[i] }
                }
            }
            return out
        }
        result = combined
    }
}

/// Slots written by parallel blocks, one slot per block: disjoint writes, so unchecked Sendable.
public final class PartialResults<R>: @unchecked Sendable {
    private var storage: [R]
    public init(count: Int, placeholder: R) { storage = Array(repeating: placeholder, count: count) }
    public func set(_ index: Int, _ value: R) {
        storage.withUnsafeMutableBufferPointer { $0[index] = value }
    }
    public var values: [R] { storage }
}

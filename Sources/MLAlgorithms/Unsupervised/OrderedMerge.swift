/// Merges a sequence of partial results in a tree whose shape depends only on how many partials
/// there are — never on how they were produced (workers, hosts, mini-batches) — holding at most
/// log₂(count) of them at once, so a stream of any length merges in bounded memory.
///
/// It is a binary counter: partial `i` enters at level 0, and two partials at the same level
/// merge into one a level up, always left with right. ``finish()`` folds what remains from the
/// right. For 2ᵏ partials this is exactly the balanced pairwise tree.
public struct OrderedMerge<Partial> {
    private var stack: [(level: Int, value: Partial)] = []
    private let combine: (Partial, Partial) -> Partial
    /// Partials pushed so far.
    public private(set) var count = 0

    public init(_ combine: @escaping (Partial, Partial) -> Partial) {
        self.combine = combine
    }

    /// Restores a merge from ``state`` (a checkpoint).
    public init(state: [(level: Int, value: Partial)], count: Int, _ combine: @escaping (Partial, Partial) -> Partial) {
        stack = state
        self.count = count
        self.combine = combine
    }

    /// The pending partials, for a checkpoint.
    public var state: [(level: Int, value: Partial)] { stack }

    public mutating func push(_ value: Partial) {
        count += 1
        var item = (level: 0, value: value)
        while let top = stack.last, top.level == item.level {
            stack.removeLast()
            item = (level: item.level + 1, value: combine(top.value, item.value))
        }
        stack.append(item)
    }

    /// The merge of everything pushed, or `nil` when nothing was.
    public func finish() -> Partial? {
        guard var result = stack.last?.value else { return nil }
        for item in stack.dropLast().reversed() { result = combine(item.value, result) }
        return result
    }
}

// Bernoulli draws, shuffles and sampling without replacement.
//
// The algorithms are fixed and documented here because training results depend on them: the
// standard library's `shuffle(using:)` and `randomElement(using:)` make no promise to keep their
// algorithm across Swift releases, which would silently change every seeded model.

extension RandomStream {
    /// `true` with probability `probability`: `nextDouble() < probability`. Consumes 2 words.
    /// `probability` 0 is never true and 1 always (u < 1 always holds).
    ///
    /// Throws if `probability` is NaN or outside [0, 1].
    @inlinable
    public mutating func bernoulli(probability: Double) throws(RandomError) -> Bool {
        guard probability >= 0, probability <= 1 else {
            throw .invalid("probability", probability, "must be in [0, 1]")
        }
        return nextDouble() < probability
    }

    /// Shuffles `values` in place uniformly at random (all n! orders equally likely) with the
    /// Fisher–Yates / Durstenfeld algorithm: for `i` from `n − 1` down to 1, swap element `i` with
    /// element `integer(below: i + 1)`. Consumes about `n − 1` words (see ``integer(below:)``).
    @inlinable
    public mutating func shuffle<C: MutableCollection & RandomAccessCollection>(_ values: inout C) {
        var i = values.count - 1
        while i > 0 {
            let j = Int(truncatingIfNeeded: _below(UInt64(i + 1)))
            if i != j {
                values.swapAt(
                    values.index(values.startIndex, offsetBy: i), values.index(values.startIndex, offsetBy: j))
            }
            i -= 1
        }
    }

    /// A uniformly random permutation of `0..<count`: ``shuffle(_:)`` applied to `[0, 1, …]`.
    ///
    /// Throws if `count < 0`.
    @inlinable
    public mutating func permutation(count: Int) throws(RandomError) -> [Int] {
        guard count >= 0 else { throw .invalid("count", count, "must be ≥ 0") }
        var p = Array(0..<count)
        shuffle(&p)
        return p
    }

    /// `count` distinct indices drawn uniformly without replacement from `0..<population`, in
    /// increasing order (every `count`-subset is equally likely; ascending order keeps row gathers
    /// sequential in memory and makes the result a function of the subset alone).
    ///
    /// Algorithm, chosen from `m = min(count, population − count)` so it depends on the sizes only:
    /// - `16·m ≤ population` (a small sample, or a sample of almost everything): Robert Floyd's
    ///   algorithm draws `m` indices with `m` calls of ``integer(below:)`` and a hash set — O(m)
    ///   expected time however large the population. When `count` is the larger side, Floyd draws
    ///   the `m` indices to leave out and the result is their complement.
    /// - otherwise: selection sampling (Knuth's Algorithm S) walks the population once and keeps
    ///   index `i` when `integer(below: population − i) < needed`; O(population) time, no extra
    ///   memory, and it stops drawing as soon as the rest is determined.
    ///
    /// Throws if `population < 0` or `count` is not in `0...population`.
    public mutating func sampleIndices(count: Int, from population: Int) throws(RandomError) -> [Int] {
        guard population >= 0 else { throw .invalid("population", population, "must be ≥ 0") }
        guard count >= 0, count <= population else {
            throw .invalid("count", count, "must be in 0...population (population = \(population))")
        }
        let excluded = population - count
        let m = min(count, excluded)
        if m == 0 { return count == 0 ? [] : Array(0..<population) }
        if m <= population / 16 {
            let chosen = _floydSample(count: m, from: population)
            if m == count { return chosen.sorted() }
            var result = [Int]()
            result.reserveCapacity(count)
            for i in 0..<population where !chosen.contains(i) { result.append(i) }
            return result
        }
        return _selectionSample(count: count, from: population)
    }

    /// Floyd's algorithm: for `j` in `population − count ..< population`, draw `t` in `0...j` and
    /// add `t`, or `j` if `t` is already chosen. Every `count`-subset is equally likely.
    /// (The set's iteration order is process-dependent; callers only test membership or sort.)
    mutating func _floydSample(count: Int, from population: Int) -> Set<Int> {
        var chosen = Set<Int>(minimumCapacity: count)
        for j in (population - count)..<population {
            let t = Int(truncatingIfNeeded: _below(UInt64(j + 1)))
            if !chosen.insert(t).inserted { chosen.insert(j) }
        }
        return chosen
    }

    /// Knuth's Algorithm S; the result is ascending.
    mutating func _selectionSample(count: Int, from population: Int) -> [Int] {
        var result = [Int]()
        result.reserveCapacity(count)
        var i = 0
        while result.count < count {
            let needed = count - result.count
            let remaining = population - i
            if needed == remaining {  // every remaining index is taken; no draw needed
                result.append(contentsOf: i..<population)
                break
            }
            if _below(UInt64(remaining)) < UInt64(needed) { result.append(i) }
            i += 1
        }
        return result
    }
}

import MLCore
import Testing

/// Shuffles, permutations and sampling without replacement. Bounds as in ``RandomStats`` (5σ).
@Suite struct RandomSamplingTests {
    @Test func shuffleIsAPermutation() {
        var s = RandomStream(seed: 20)
        for size in [0, 1, 2, 3, 10, 1000] {
            for _ in 0..<5 {
                var x = (0..<size).map { $0 * 7 - 3 }
                let original = x
                s.shuffle(&x)
                #expect(x.sorted() == original)
            }
        }
    }

    /// 60 000 shuffles of three items: each of the 3! orders expected 10 000 times; χ² with 5
    /// degrees of freedom.
    @Test func allSixOrdersOfThreeItemsAreEquallyLikely() {
        var s = RandomStream(seed: 21)
        var counts = [[Int]: Int]()
        for _ in 0..<60_000 {
            var x = [0, 1, 2]
            s.shuffle(&x)
            counts[x, default: 0] += 1
        }
        #expect(counts.count == 6)
        let ordered = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]].map { counts[$0] ?? 0 }
        RandomStats.expectChiSquare(ordered, "orders of three shuffled items")
    }

    @Test func shuffleWorksOnSlicesAndIsReproducible() throws {
        var a = RandomStream(seed: 22), b = a
        var x = Array(0..<10)
        a.shuffle(&x[2..<8])
        #expect(x[0..<2] == [0, 1] && x[8...] == [8, 9])
        #expect(x[2..<8].sorted() == Array(2..<8))
        var y = Array(2..<8)
        b.shuffle(&y)
        #expect(Array(x[2..<8]) == y)
        #expect(a == b)
        #expect(try a.permutation(count: 50) == b.permutation(count: 50))
    }

    /// The whole stack against an independent plain-Python implementation written from the
    /// documented algorithms: Philox words → float mappings, Lemire bounded integers (32- and
    /// 64-bit paths), Fisher–Yates, Floyd, Floyd's complement, selection sampling and splitting.
    /// The values are printed by `Tests/MLCoreTests/Fixtures/make_random_reference.py` (standard
    /// library only; it checks its Philox against Random123's vectors first). If they ever change,
    /// every seeded model changes too: that needs a deliberate decision, not a new recording.
    @Test func recordedSequencesMatchTheReferenceScript() throws {
        var s = RandomStream(seed: 42)
        #expect(try s.permutation(count: 10) == Self.recordedPermutation)
        #expect(try s.sampleIndices(count: 4, from: 1000) == Self.recordedFloyd)
        let most = try s.sampleIndices(count: 996, from: 1000)
        #expect(Set(0..<1000).subtracting(most).sorted() == Self.recordedFloydComplementExcludes)
        #expect(try s.sampleIndices(count: 5, from: 12) == Self.recordedSelection)
        #expect(try (0..<8).map { _ in try s.integer(below: 100) } == Self.recordedIntegers)
        #expect(try (0..<2).map { _ in try s.integer(below: 3 << 61) } == Self.recordedLargeIntegers)
        #expect((0..<4).map { _ in s.nextFloat() } == Self.recordedFloats)
        #expect((0..<2).map { _ in s.nextDouble() } == Self.recordedDoubles)
        #expect(s.block == Self.recordedPositionAfterwards.block && s.wordInBlock == Self.recordedPositionAfterwards.word)
        var grandchild = RandomStream(seed: 42, path: [1, 2, 3])
        #expect((0..<2).map { _ in grandchild.next() } == Self.recordedGrandchildWords)
    }

    // Printed by Tests/MLCoreTests/Fixtures/make_random_reference.py.
    static let recordedPermutation = [7, 3, 8, 9, 1, 5, 2, 0, 4, 6]
    static let recordedFloyd = [601, 656, 729, 772]
    static let recordedFloydComplementExcludes = [326, 378, 585, 668]
    static let recordedSelection = [1, 2, 3, 5, 6]
    static let recordedIntegers = [22, 74, 47, 18, 35, 40, 9, 18]
    static let recordedLargeIntegers = [929452828607110906, 3452408932733570097]
    static let recordedFloats: [Float] = [0x1.10bca00000000p-2, 0x1.95c9e80000000p-2, 0x1.6fe7560000000p-1, 0x1.fc50680000000p-2]
    static let recordedDoubles: [Double] = [0x1.542ab1030c9bbp-1, 0x1.4bdb8d22aae51p-1]
    static let recordedGrandchildWords: [UInt64] = [0x1eb90fc8adfa610a, 0x4624a35f455ab78a]
    static let recordedPositionAfterwards = (block: 11, word: 0)

    @Test func permutationContainsEveryIndexOnce() throws {
        var s = RandomStream(seed: 23)
        #expect(try s.permutation(count: 0) == [])
        let p = try s.permutation(count: 500)
        #expect(p.sorted() == Array(0..<500))
        #expect(p != Array(0..<500))
    }

    /// Sizes that exercise each algorithm: Floyd (16·m ≤ n), Floyd's complement (count near n),
    /// selection sampling, and the trivial ends.
    static let sizes: [(count: Int, population: Int)] = [
        (0, 0), (0, 10), (10, 10), (1, 1), (1, 16), (3, 1000), (997, 1000), (500, 1000), (5, 20), (40, 64),
        (1, 100_000), (99_999, 100_000),
    ]

    @Test(arguments: 0..<sizes.count)
    func samplesAreDistinctAscendingAndInRange(_ index: Int) throws {
        let (count, population) = Self.sizes[index]
        var s = RandomStream(seed: 24, stream: UInt64(index))
        for _ in 0..<20 {
            let x = try s.sampleIndices(count: count, from: population)
            #expect(x.count == count)
            #expect(zip(x, x.dropFirst()).allSatisfy { $0 < $1 })  // ascending, hence distinct
            #expect(x.allSatisfy { $0 >= 0 && $0 < population })
        }
    }

    /// Each index is included with probability k/n, so over T trials its count is Binomial(T, k/n):
    /// within 5·√(T·p(1−p)) of T·p. One case per algorithm.
    @Test(arguments: [(5, 20), (10, 1000), (97, 100)])
    func eachIndexIsIncludedWithProbabilityCountOverPopulation(_ count: Int, _ population: Int) throws {
        var s = RandomStream(seed: 25)
        let trials = 20_000
        var included = [Int](repeating: 0, count: population)
        for _ in 0..<trials {
            for i in try s.sampleIndices(count: count, from: population) { included[i] += 1 }
        }
        let p = Double(count) / Double(population)
        let expected = Double(trials) * p
        let bound = 5 * (Double(trials) * p * (1 - p)).squareRoot()
        let worst = included.map { abs(Double($0) - expected) }.max() ?? 0
        #expect(worst < bound, "\(count) of \(population): worst deviation \(worst) ≥ \(bound)")
    }

    /// Every subset is equally likely: χ² over all C(n, k) subsets, one case per algorithm.
    @Test(arguments: [(2, 5), (2, 32), (30, 32)])
    func everySubsetIsEquallyLikely(_ count: Int, _ population: Int) throws {
        var s = RandomStream(seed: 26)
        var counts = [[Int]: Int]()
        let trials = count == 2 && population == 5 ? 20_000 : 100_000
        for _ in 0..<trials { counts[try s.sampleIndices(count: count, from: population), default: 0] += 1 }
        let subsets = population == 5 ? 10 : 496  // C(5, 2), C(32, 2) = C(32, 30)
        #expect(counts.count == subsets)
        RandomStats.expectChiSquare(Array(counts.values), "subsets of \(count) from \(population)")
    }

    @Test func invalidSampleSizesThrow() {
        var s = RandomStream(seed: 27)
        expectInvalidRandomParameter("count") { _ = try s.sampleIndices(count: 11, from: 10) }
        expectInvalidRandomParameter("count") { _ = try s.sampleIndices(count: -1, from: 10) }
        expectInvalidRandomParameter("population") { _ = try s.sampleIndices(count: 0, from: -1) }
        expectInvalidRandomParameter("count") { _ = try s.permutation(count: -1) }
        #expect(s == RandomStream(seed: 27))
    }
}

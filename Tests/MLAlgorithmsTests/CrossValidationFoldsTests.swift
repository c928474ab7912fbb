import MLCore
import Testing
@testable import MLAlgorithms

@Suite struct CrossValidationFoldsTests {
    static let labels: [Float] = (0..<103).map { Float($0 % 7 == 0 ? 2 : ($0 % 3 == 0 ? 1 : 0)) }

    @Test("every row is held out exactly once per repeat; fold sizes differ by at most one", arguments: [false, true])
    func partition(stratified: Bool) throws {
        let folds = try CrossValidationFolds.split(labels: Self.labels, folds: 5, repeats: 3, stratified: stratified, seed: 9)
        #expect(folds.count == 15)
        for r in 0..<3 {
            let repeatFolds = folds[(r * 5)..<((r + 1) * 5)]
            #expect(repeatFolds.flatMap { $0 }.sorted() == Array(0..<103))
            let sizes = repeatFolds.map(\.count)
            #expect(sizes.max()! - sizes.min()! <= 1)  // invariant: five folds
            #expect(repeatFolds.allSatisfy { $0 == $0.sorted() })
        }
        // Repeats reshuffle; the same seed gives the same folds, another seed others.
        #expect(folds[0] != folds[5])
        #expect(try CrossValidationFolds.split(labels: Self.labels, folds: 5, repeats: 3, stratified: stratified, seed: 9) == folds)
        #expect(try CrossValidationFolds.split(labels: Self.labels, folds: 5, repeats: 3, stratified: stratified, seed: 10) != folds)
    }

    @Test("stratified folds hold each class within one row of its share")
    func stratification() throws {
        let folds = try CrossValidationFolds.split(labels: Self.labels, folds: 4, repeats: 1, stratified: true, seed: 1)
        for c: Float in [0, 1, 2] {
            let counts = folds.map { fold in fold.filter { Self.labels[$0] == c }.count }
            #expect(counts.max()! - counts.min()! <= 1, "class \(c): \(counts)")  // invariant: four folds
        }
    }

    @Test("fewer rows than folds is an error, not a crash")
    func tooFewRows() {
        #expect(throws: TreeDataError.self) { try CrossValidationFolds.split(labels: [0, 1], folds: 3, repeats: 1, stratified: false, seed: 0) }
    }

    @Test("gathering and appending keep rows, labels and weights; dense with sparse becomes sparse with NaN left out")
    func datasets() throws {
        let a = TreeDataset(features: .dense(try Matrix(rows: 2, columns: 2, elements: [1, .nan, 3, 4])), labels: [0, 1], weights: [2, 3])
        let b = TreeDataset(features: .sparse(try SparseMatrix(rows: 1, columns: 3, rowOffsets: [0, 1], columnIndices: [2], values: [5])), labels: [1])
        let both = a.appending(b)
        #expect(both.labels == [0, 1, 1] && both.weights == [2, 3, 1])
        guard case .sparse(let s) = both.features else { Issue.record("expected CSR"); return }
        #expect(s.columns == 3 && s.rowOffsets == [0, 1, 3, 4] && s.columnIndices == [0, 0, 1, 2] && s.values == [1, 3, 4, 5])
        let picked = a.gathering(rows: [1, 0])
        #expect(picked.labels == [1, 0] && picked.weights == [3, 2])
        guard case .dense(let m) = picked.features else { Issue.record("expected dense"); return }
        #expect(m[0, 0] == 3 && m[1, 0] == 1 && m[1, 1].isNaN)
    }
}

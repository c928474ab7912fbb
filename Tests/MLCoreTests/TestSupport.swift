import Foundation
import MLCore
import Testing

// Shared helpers for the MLCore numeric tests: a symmetric closeness check that looks at shapes
// first and reports at the caller's line, a seeded generator, and naive loop oracles.

// MARK: - Closeness

/// A relative tolerance for a well-conditioned result of moderate size: looser for Float.
func relativeTolerance<T: BLASScalar>(_: T.Type) -> T { T.self == Float.self ? 1e-4 : 1e-10 }

/// `|a − b| ≤ atol + rtol·max(|a|, |b|)`: symmetric in `a` and `b`; NaN is never close.
func isClose<T: BinaryFloatingPoint>(_ a: T, _ b: T, atol: T, rtol: T) -> Bool {
    if a == b { return true } // also equal infinities
    let diff = abs(a - b)
    return diff <= atol + rtol * max(abs(a), abs(b))
}

/// Records an issue, at the caller's location, when the tolerances are not usable.
private func validTolerances<T: BinaryFloatingPoint>(_ atol: T, _ rtol: T, _ sourceLocation: SourceLocation) -> Bool {
    guard atol >= 0, rtol >= 0, atol.isFinite, rtol.isFinite else {
        Issue.record("tolerances must be finite and non-negative (atol \(atol), rtol \(rtol))", sourceLocation: sourceLocation)
        return false
    }
    return true
}

/// Expects `actual` and `expected` to have the same length and to be elementwise close.
/// Returns whether they were, so callers can stop early.
@discardableResult
func expectAllClose<T: BinaryFloatingPoint>(
    _ actual: [T], _ expected: [T], atol: T = 0, rtol: T = 0,
    _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation
) -> Bool {
    guard validTolerances(atol, rtol, sourceLocation) else { return false }
    guard actual.count == expected.count else {
        Issue.record("length \(actual.count) ≠ expected length \(expected.count)\(comment.map { " — \($0)" } ?? "")",
                     sourceLocation: sourceLocation)
        return false
    }
    var bad: [String] = []
    var badCount = 0
    for i in actual.indices where !isClose(actual[i], expected[i], atol: atol, rtol: rtol) {
        badCount += 1
        if bad.count < 5 { bad.append("[\(i)]: \(actual[i]) vs \(expected[i])") }
    }
    guard badCount == 0 else {
        Issue.record("""
            \(badCount) of \(actual.count) elements differ beyond atol \(atol), rtol \(rtol): \
            \(bad.joined(separator: ", "))\(comment.map { " — \($0)" } ?? "")
            """, sourceLocation: sourceLocation)
        return false
    }
    return true
}

/// Expects two scalars to be close.
@discardableResult
func expectAllClose<T: BinaryFloatingPoint>(
    _ actual: T, _ expected: T, atol: T = 0, rtol: T = 0,
    _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation
) -> Bool {
    expectAllClose([actual], [expected], atol: atol, rtol: rtol, comment, sourceLocation: sourceLocation)
}

/// Expects two matrices to have the same shape and to be elementwise close.
@discardableResult
func expectAllClose<T: BLASScalar>(
    _ actual: Matrix<T>, _ expected: Matrix<T>, atol: T = 0, rtol: T = 0,
    _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation
) -> Bool {
    guard validTolerances(atol, rtol, sourceLocation) else { return false }
    guard actual.rows == expected.rows, actual.columns == expected.columns else {
        Issue.record("shape \(actual.rows)×\(actual.columns) ≠ expected \(expected.rows)×\(expected.columns)\(comment.map { " — \($0)" } ?? "")",
                     sourceLocation: sourceLocation)
        return false
    }
    return expectAllClose(actual.elements, expected.elements, atol: atol, rtol: rtol, comment, sourceLocation: sourceLocation)
}

// MARK: - Seeded data

/// A SplitMix64 generator (Steele, Lea & Flood 2014): tiny, fast and fully specified, so test data
/// is the same on every machine and Swift version.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// An integer in `range`, uniformly (modulo bias is irrelevant for test data).
    mutating func int(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }

    /// An integer in `0..<n` (modulo bias is irrelevant for test data).
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    /// A double in `[0, 1)` with 53 random bits.
    mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// `count` small integers in `range`, as `T`: sums and products of them are exact.
    mutating func integers<T: BinaryFloatingPoint>(_ count: Int, in range: ClosedRange<Int> = -4...4) -> [T] {
        (0..<count).map { _ in T(int(in: range)) }
    }

    /// A `rows × columns` matrix of small integers.
    mutating func integerMatrix<T: BLASScalar>(_ rows: Int, _ columns: Int, in range: ClosedRange<Int> = -4...4) -> Matrix<T> {
        // invariant: the element count matches the shape by construction
        try! Matrix(rows: rows, columns: columns, elements: integers(rows * columns, in: range))
    }

    /// A `rows × columns` matrix uniform in `[-1, 1)`.
    mutating func uniformMatrix<T: BLASScalar>(_ rows: Int, _ columns: Int) -> Matrix<T> {
        // invariant: the element count matches the shape by construction
        try! Matrix(rows: rows, columns: columns, elements: (0..<(rows * columns)).map { _ in T(2 * unit() - 1) })
    }
}

// MARK: - Naive oracles

/// Plain-loop reference implementations, accumulated in Double.
enum Naive {
    /// `op(A)·op(B)` by the textbook triple loop.
    static func matmul<T: BLASScalar>(
        _ a: Matrix<T>, _ b: Matrix<T>, transposeA: Bool = false, transposeB: Bool = false
    ) -> Matrix<T> {
        let m = transposeA ? a.columns : a.rows, k = transposeA ? a.rows : a.columns
        let n = transposeB ? b.rows : b.columns
        var out = Matrix<T>(rows: m, columns: n)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    let x = transposeA ? a[p, i] : a[i, p]
                    let y = transposeB ? b[j, p] : b[p, j]
                    s += Double(x) * Double(y)
                }
                out[i, j] = T(s)
            }
        }
        return out
    }

    static func transpose<T: BLASScalar>(_ a: Matrix<T>) -> Matrix<T> {
        var out = Matrix<T>(rows: a.columns, columns: a.rows)
        for i in 0..<a.rows { for j in 0..<a.columns { out[j, i] = a[i, j] } }
        return out
    }

    static func identity<T: BLASScalar>(_ n: Int) -> Matrix<T> {
        var out = Matrix<T>(rows: n, columns: n)
        for i in 0..<n { out[i, i] = 1 }
        return out
    }

    /// `A` with column `j` multiplied by `d[j]` (`A·diag(d)`).
    static func scaleColumns<T: BLASScalar>(_ a: Matrix<T>, _ d: [T]) -> Matrix<T> {
        var out = a
        for i in 0..<a.rows { for j in 0..<a.columns { out[i, j] = a[i, j] * d[j] } }
        return out
    }

    /// The first `count` columns of `a`.
    static func leadingColumns<T: BLASScalar>(_ a: Matrix<T>, _ count: Int) -> Matrix<T> {
        var out = Matrix<T>(rows: a.rows, columns: count)
        for i in 0..<a.rows { for j in 0..<count { out[i, j] = a[i, j] } }
        return out
    }

    /// Solves the square system `A·X = B` by Gaussian elimination with partial pivoting, in Double.
    static func solve(_ a: [[Double]], _ b: [[Double]]) -> [[Double]] {
        let n = a.count
        var m = a, x = b
        for col in 0..<n {
            let pivot = (col..<n).max { abs(m[$0][col]) < abs(m[$1][col]) }! // invariant: col < n
            m.swapAt(col, pivot); x.swapAt(col, pivot)
            for r in (col + 1)..<n {
                let f = m[r][col] / m[col][col]
                for c in col..<n { m[r][c] -= f * m[col][c] }
                for c in x[r].indices { x[r][c] -= f * x[col][c] }
            }
        }
        for col in stride(from: n - 1, through: 0, by: -1) {
            for c in x[col].indices {
                var s = x[col][c]
                for k in (col + 1)..<n { s -= m[col][k] * x[k][c] }
                x[col][c] = s / m[col][col]
            }
        }
        return x
    }

    /// The largest absolute element (the scale for absolute tolerances).
    static func maxAbs<T: BLASScalar>(_ a: Matrix<T>) -> T {
        a.elements.reduce(0) { max($0, abs($1)) }
    }
}

extension Matrix {
    /// Rows as nested Double arrays (for the Double oracles).
    var doubleRows: [[Double]] { (0..<rows).map { i in row(i).map { Double($0) } } }
}

/// The address of a matrix's first element: equal addresses mean shared (or in-place) storage.
func baseAddress<T: BLASScalar>(_ m: Matrix<T>) -> UnsafeRawPointer? {
    m.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
}

// MARK: - Fixtures

/// The copied `Fixtures` directory of this test target.
func fixturesDirectory() throws -> URL {
    let url = try #require(Bundle.module.resourceURL).appendingPathComponent("Fixtures")
    try #require(FileManager.default.fileExists(atPath: url.path), "fixtures missing at \(url.path)")
    return url
}

// MARK: - The helpers' own checks

@Suite("Test support")
struct TestSupportTests {
    @Test func closenessIsSymmetric() {
        #expect(isClose(100.0, 101.0, atol: 0, rtol: 0.01))
        #expect(isClose(101.0, 100.0, atol: 0, rtol: 0.01), "rtol scales by the larger magnitude either way")
        #expect(!isClose(100.0, 102.0, atol: 0, rtol: 0.01) && !isClose(102.0, 100.0, atol: 0, rtol: 0.01))
        #expect(!isClose(Double.nan, .nan, atol: 1, rtol: 1))
        #expect(isClose(Float.infinity, .infinity, atol: 0, rtol: 0))
    }

    @Test func mismatchesAreReported() {
        withKnownIssue("different shapes with the same element count") {
            expectAllClose(Matrix<Double>(rows: 2, columns: 3), Matrix<Double>(rows: 3, columns: 2), atol: 1)
        }
        withKnownIssue("different lengths") { expectAllClose([1.0, 2], [1.0], atol: 1) }
        withKnownIssue("a negative tolerance would accept nothing or everything") {
            expectAllClose([1.0], [1.0], atol: -1)
        }
        withKnownIssue("values out of tolerance") { expectAllClose([1.0, 2], [1.0, 2.5], atol: 0.1) }
        withKnownIssue("NaN") { expectAllClose([Float.nan], [Float.nan], atol: 1) }
        #expect(expectAllClose([1.0, 2], [1.0, 2.05], atol: 0.1))
    }

    @Test func generatorIsSplitMix64() {
        var rng = SeededRandom(seed: 0)
        #expect(rng.next() == 0xE220_A839_7B1D_CDAF) // the reference sequence for seed 0
        var a = SeededRandom(seed: 42), b = SeededRandom(seed: 42)
        #expect((0..<10).map { _ in a.int(in: -4...4) } == (0..<10).map { _ in b.int(in: -4...4) })
        #expect((0..<1000).map { _ in a.int(in: -2...3) }.allSatisfy { (-2...3).contains($0) })
    }
}

// MARK: - Temporary files

/// A fresh directory under the system temporary directory, removed when `body` returns.
func withTemporaryDirectory<R>(_ body: (String) throws -> R) throws -> R {
    let directory = try TemporaryDirectory()
    return try body(directory.url.path)
}

/// A temporary directory removed when the value goes away.
final class TemporaryDirectory: @unchecked Sendable {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("mlcore-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }

    /// Writes `text` to `name` (creating folders) and returns its path.
    func write(_ name: String, _ text: String) throws -> String {
        let file = url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: file)
        return file.path
    }
}

// MARK: - Typed errors

/// The error `body` throws, or `nil`: for comparing a reader's exact error case.
func dataError<R>(_ body: () throws(DataError) -> R) -> DataError? {
    do throws(DataError) {
        _ = try body()
        return nil
    } catch {
        return error
    }
}

import Foundation
import MLBenchKit
import MLCore
import Testing

/// `C = A·B` on ``BenchmarkData`` inputs through `BLAS.gemm`, for the check to accept or reject.
struct Product<T: BLASScalar> {
    let m: Int, n: Int, k: Int
    var a: [T], b: [T], c: [T]

    init(m: Int, n: Int, k: Int, seed: UInt64 = 7) throws {
        (self.m, self.n, self.k) = (m, n, k)
        a = (0..<m * k).map { BenchmarkData.value(seed: seed, index: $0) }
        b = (0..<k * n).map { BenchmarkData.value(seed: seed + 1, index: $0) }
        c = [T](repeating: 0, count: m * n)
        try BLAS.gemm(a: a, b: b, c: &c, m: m, n: n, k: k)
    }

    func verify() throws(BenchmarkError) {
        try a.withUnsafeBufferPointer { pa throws(BenchmarkError) in
            try b.withUnsafeBufferPointer { pb throws(BenchmarkError) in
                try c.withUnsafeBufferPointer { pc throws(BenchmarkError) in
                    // invariant: the test's arrays are non-empty
                    try GEMMCheck.verify(
                        workload: "test", m: m, n: n, k: k, a: pa.baseAddress!, lda: k, b: pb.baseAddress!, ldb: n,
                        c: pc.baseAddress!, ldc: n)
                }
            }
        }
    }
}

extension BLAS {
    fileprivate static func gemm<T: BLASScalar>(a: [T], b: [T], c: inout [T], m: Int, n: Int, k: Int) throws {
        try a.withUnsafeBufferPointer { pa in
            try b.withUnsafeBufferPointer { pb in
                try c.withUnsafeMutableBufferPointer { pc in
                    try BLAS.gemm(
                        m: m, n: n, k: k, alpha: 1, a: pa.baseAddress!, lda: k, b: pb.baseAddress!, ldb: n,
                        beta: 0, c: pc.baseAddress!, ldc: n)
                }
            }
        }
    }
}

func expectWrongResult<T>(_ product: Product<T>, sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        try product.verify()
        Issue.record("the check accepted a wrong product", sourceLocation: sourceLocation)
    } catch {
        guard case let .wrongResult(workload, detail) = error else {
            Issue.record("\(error)", sourceLocation: sourceLocation)
            return
        }
        #expect(workload == "test" && detail.contains("naive"), sourceLocation: sourceLocation)
    }
}

@Suite("GEMM check")
struct GEMMCheckTests {
    @Test(arguments: [(1, 1, 1), (37, 29, 53), (64, 64, 64), (1000, 1, 100)])
    func acceptsTheRightProduct(m: Int, n: Int, k: Int) throws {
        try Product<Float>(m: m, n: n, k: k).verify()
        try Product<Double>(m: m, n: n, k: k).verify()
    }

    @Test func rejectsOneWrongEntry() throws {
        var p = try Product<Float>(m: 37, n: 29, k: 53)
        p.c[p.c.count - 1] += 0.125  // a corner, always checked
        expectWrongResult(p)
        var q = try Product<Double>(m: 64, n: 64, k: 64)
        q.c[0] = q.c[0].nextUp.nextUp.nextUp + 1e-9
        expectWrongResult(q)
    }

    @Test func rejectsAMissingCallANaNAndATransposedOperand() throws {
        var skipped = try Product<Float>(m: 64, n: 64, k: 64)
        skipped.c = [Float](repeating: 0, count: skipped.c.count)
        expectWrongResult(skipped)

        var nan = try Product<Float>(m: 16, n: 16, k: 16)
        nan.c[15] = .nan
        expectWrongResult(nan)

        // C = A·Bᵀ instead of A·B.
        var transposed = try Product<Double>(m: 32, n: 32, k: 32)
        let (a, b) = (transposed.a, transposed.b)
        for i in 0..<32 { for j in 0..<32 { transposed.c[i * 32 + j] = (0..<32).reduce(0) { $0 + a[i * 32 + $1] * b[j * 32 + $1] } } }
        expectWrongResult(transposed)
    }

    @Test func benchmarkDataIsDeterministicSmallDyadics() {
        let values = (0..<1000).map { BenchmarkData.value(seed: 3, index: $0, as: Double.self) }
        #expect(values == (0..<1000).map { BenchmarkData.value(seed: 3, index: $0, as: Double.self) })
        #expect(Set(values).isSubset(of: Set((-8...8).map { Double($0) / 8 })))
        #expect(Set(values).count == 17)
        #expect(values != (0..<1000).map { BenchmarkData.value(seed: 4, index: $0, as: Double.self) })
    }
}

/// The committed C peer regenerates our data bit for bit: its checksums equal ours.
@Suite("gemm C peer")
struct SmallCallsPeerTests {
    static let peers = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Benchmarks/peers")

    @Test(.enabled(if: hasCCompiler, "needs a C compiler"))
    func computesTheSameChecksumsOnTheSameData() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("mlbench-c-peer-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let runner = PeerRunner(peersDirectory: Self.peers, python: "/bin/sh", binaryDirectory: scratch, threads: 1)
        let seed: UInt64 = 5
        let results = try runner.runC("gemm/small_calls.c", arguments: [
            "--threads", "1", "--repeat", "1", "--warmup", "0", "--seed", String(seed),
            "--gemm-size", "8", "--gemm-calls", "2", "--gemv-rows", "10", "--gemv-cols", "3", "--gemv-calls", "2",
        ])
        #expect(results.map(\.workload) == ["sgemm_8x8x8", "sgemv_10x3"])
        #expect(results.allSatisfy { $0.impl == "openblas-c" && $0.runs == 1 && $0.suite == "gemm" })

        let gemm = try Product<Float>(m: 8, n: 8, k: 8, seed: seed + 10)
        #expect(results[0].metrics["checksum"] == gemm.c.reduce(0.0) { $0 + Double($1) })
        #expect(results[0].metrics["calls_per_run"] == 2)
        // The gemv's A is stream seed+20 and x stream seed+21, as in the suite.
        let a: [Float] = (0..<30).map { BenchmarkData.value(seed: seed + 20, index: $0) }
        let x: [Float] = (0..<3).map { BenchmarkData.value(seed: seed + 21, index: $0) }
        let y = (0..<10).map { i in (0..<3).reduce(0.0) { $0 + Double(a[i * 3 + $1]) * Double(x[$1]) } }
        #expect(results[1].metrics["checksum"] == y.reduce(0, +))
    }
}

import Foundation
import MLCore
import Testing
@testable import MLAlgorithms

/// PCA's summaries merged on the parameter server: synchronous = all-reduce bit for bit; the
/// loose modes merge the same rows in another order.
@Suite struct PCAParameterServerTests {
    /// Correlated rows far from the origin, `rows × d`.
    func rows(_ n: Int, _ d: Int, seed: UInt64) throws -> Matrix<Float> {
        var r = RandomStream(seed: seed, path: [3])
        let mix = (0..<(d * d)).map { _ in r.standardNormal() }
        var x: [Float] = []
        for _ in 0..<n {
            let z = (0..<d).map { j in r.standardNormal() * Double(d - j) }
            for j in 0..<d {
                var v = 100.0
                for t in 0..<d { v += mix[j * d + t] * z[t] }
                x.append(Float(v))
            }
        }
        return try Matrix(rows: n, columns: d, elements: x)
    }

    func hp(_ mode: String, d: Int) throws -> PCAHyperparameters {
        try PCAHyperparameters(strings: ["feature_dim": "\(d)", "num_components": "3", "mini_batch_size": "500", "algorithm_mode": mode])
    }

    @Test("synchronous server = all-reduce bit for bit (regular and randomized), 1–3 workers × 1–4 shards",
          arguments: ["regular", "randomized"])
    func synchronousEqualsAllReduce(mode: String) throws {
        let d = 7
        let x = try rows(70_000, d, seed: 9)
        let h = try hp(mode, d: d)
        let reference = try PCATrainer(hyperparameters: h, workers: 2).fit(.dense(x))
        for workers in 1...3 {
            for shards in [1, 2, 4] {
                var t = PCATrainer(hyperparameters: h, workers: workers)
                t.parameterServer = NetworkParameterServer(shards: shards, consistency: .synchronous)
                let r = try t.fit(.dense(x))
                #expect(r.model == reference.model, "\(mode): \(workers) workers, \(shards) shards")
                #expect(r.rows == reference.rows)
            }
        }
    }

    @Test("asynchronous and stale servers merge the same rows: eigenvalues within 1e-9 relative, components within 1e-6",
          arguments: [ParameterServerConsistency.asynchronous, .boundedStaleness(1)])
    func looseModes(consistency: ParameterServerConsistency) throws {
        let d = 6
        let x = try rows(80_000, d, seed: 10)
        let h = try hp("regular", d: d)
        let sync = try PCATrainer(hyperparameters: h, workers: 3).fit(.dense(x)).model
        var t = PCATrainer(hyperparameters: h, workers: 3)
        t.parameterServer = NetworkParameterServer(shards: 3, consistency: consistency)
        let loose = try t.fit(.dense(x)).model
        for (a, b) in zip(loose.singularValues, sync.singularValues) {
            #expect(abs(Double(a) - Double(b)) <= 1e-6 * max(1, abs(Double(b))), "\(consistency): \(a) vs \(b)")
        }
        #expect(loose.mean.count == sync.mean.count)
    }

    @Test("the banded merge of the scatter equals the whole merge, band by band")
    func bandedMerge() throws {
        let d = 5
        var scratch: [Float] = []
        let x = try rows(300, d, seed: 11)
        let a = try x.withUnsafeBufferPointer { try #require(PCAScatter.of(rows: 100, features: d, x: $0.baseAddress!, scratch: &scratch)) }
        let b = try x.withUnsafeBufferPointer { try #require(PCAScatter.of(rows: 200, features: d, x: $0.baseAddress! + 100 * d, scratch: &scratch)) }
        let whole = PCAScatter.merged(a, b).flattened
        let layout = PCATrainer.scatterLayout(features: d, shards: 3)
        let bands = zip(layout.split(a.flattened), layout.split(b.flattened)).enumerated().map { s, pair in layout.combine(s, pair.0, pair.1) }
        #expect(layout.join(bands).map(\.bitPattern) == whole.map(\.bitPattern))
    }
}

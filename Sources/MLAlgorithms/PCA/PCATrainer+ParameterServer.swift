import Foundation
import MLCore

/// PCA through a parameter server (``SummaryServer``): the workers push each micro-shard's
/// summary and the server's shards merge them — the summary merging MXNet's KVStore does for
/// SageMaker's PCA. Regular mode shards the scatter by bands of rows, each band carrying the
/// count and the mean its part of Chan's merge needs; the randomized sketch (whose merge needs
/// every column sum) stays on one shard; the second pass's ℓ×ℓ sums are banded freely.
extension PCATrainer {
    /// What the server of one pass merges: how a flattened summary is cut into bands, how two
    /// bands of a shard merge, and how the shards' merges join back into one summary.
    struct ServerLayout: Sendable {
        let shards: Int
        let split: @Sendable ([Double]) -> [[Double]]
        let combine: SummaryServer.Combine
        let join: @Sendable ([[Double]]) -> [Double]
    }

    /// Regular mode: band `s` is `[count, mean…, scatter rows rowsOf(s)…]`.
    static func scatterLayout(features d: Int, shards requested: Int) -> ServerLayout {
        let shards = max(1, min(requested, d))
        let bandRows: @Sendable (Int) -> Range<Int> = { s in (s * d / shards)..<((s + 1) * d / shards) }
        return ServerLayout(
            shards: shards,
            split: { v in
                (0..<shards).map { s in
                    let r = bandRows(s)
                    return Array(v[0..<(1 + d)]) + Array(v[(1 + d + r.lowerBound * d)..<(1 + d + r.upperBound * d)])
                }
            },
            combine: { s, a, b in PCAScatter.mergedBand(a, b, features: d, rows: bandRows(s)) },
            join: { bands in
                // invariant: one band per shard, each with the count and the mean in front
                var out = Array(bands[0][0..<(1 + d)])
                for band in bands { out += band[(1 + d)...] }
                return out
            })
    }

    /// Randomized mode's first pass: the whole sketch on one shard.
    static func sketchLayout(sketchRows l: Int, features d: Int) -> ServerLayout {
        ServerLayout(
            shards: 1, split: { [$0] },
            combine: { _, a, b in
                PCASketch.merged(PCASketch(flattened: a[...], sketchRows: l, features: d), PCASketch(flattened: b[...], sketchRows: l, features: d)).flattened
            },
            join: { $0[0] })
    }

    /// Sums (the second pass's ℓ×ℓ matrix): contiguous bands.
    static func sumLayout(width: Int, shards requested: Int) -> ServerLayout {
        let shards = max(1, min(requested, width))
        let band: @Sendable (Int) -> Range<Int> = { s in (s * width / shards)..<((s + 1) * width / shards) }
        return ServerLayout(shards: shards, split: { v in (0..<shards).map { Array(v[band($0)]) } },
                            combine: { _, a, b in zip(a, b).map { $0 + $1 } }, join: { $0.flatMap { $0 } })
    }

    /// The server of one pass, when ``parameterServer`` asks for one.
    func makeServer(_ layout: ServerLayout) throws -> SummaryServer? {
        guard let shape = parameterServer else { return nil }
        guard group == nil || group is InProcessWorkerGroup else {
            throw HyperparameterError.invalid(name: "_kvstore", value: shape.consistency.description,
                                              rule: "the parameter server runs among the workers of one process; across MPI processes PCA uses all-reduce")
        }
        do throws(ParameterServerError) {
            return try SummaryServer(shards: layout.shards, workers: group?.size ?? workers, consistency: shape.consistency,
                                     split: layout.split, combine: layout.combine)
        } catch {
            throw HyperparameterError.invalid(name: "_num_kv_servers", value: "\(shape.shards)", rule: error.description)
        }
    }
}

extension PCAScatter {
    /// ``merged(_:_:)`` restricted to the scatter rows `rows`: `a` and `b` are
    /// `[count, mean…, those rows…]`. Every value is computed as the whole merge computes it.
    static func mergedBand(_ a: [Double], _ b: [Double], features d: Int, rows: Range<Int>) -> [Double] {
        if a[0] == 0 { return b }
        if b[0] == 0 { return a }
        let na = a[0], nb = b[0], n = na + nb
        var delta = [Double](repeating: 0, count: d)
        for j in 0..<d { delta[j] = b[1 + j] - a[1 + j] }
        var out = a
        out[0] = na + nb
        for j in 0..<d { out[1 + j] += delta[j] * (nb / n) }
        let f = na * nb / n
        for (t, i) in rows.enumerated() {
            let fi = f * delta[i], at = 1 + d + t * d
            for j in 0..<d { out[at + j] += b[at + j] + fi * delta[j] }
        }
        return out
    }
}

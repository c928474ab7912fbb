import MLCore

/// Centres ready for assignment: K × d values and their squared norms.
public struct KMeansCentres: Sendable, Equatable {
    public let count: Int
    public let features: Int
    /// count × features, row-major.
    public let values: [Float]
    /// ‖c‖² of each centre.
    public let norms: [Float]

    public init(values: [Float], count: Int, features: Int) {
        self.count = count
        self.features = features
        self.values = values
        var norms = [Float](repeating: 0, count: count)
        for j in 0..<count {
            var t: Float = 0
            for i in 0..<features { t += values[j * features + i] * values[j * features + i] }
            norms[j] = t
        }
        self.norms = norms
    }

    public init(_ matrix: Matrix<Float>) {
        self.init(values: matrix.elements, count: matrix.rows, features: matrix.columns)
    }

    /// Rows per GEMM block: the block's K distances stay in L1/L2 (about 64 KiB of them).
    var blockRows: Int { max(8, min(256, 16_384 / max(1, count))) }

    /// The closest centre of each of `rows` rows at `x` and the squared Euclidean distance to it,
    /// computed as ‖x‖² − 2x·c + ‖c‖² with x·c from one GEMM per block of rows. Ties go to the
    /// lower centre index. `scratch` is reused across calls.
    public func assign(rows: Int, x: UnsafePointer<Float>, labels: UnsafeMutablePointer<Int32>, distances: UnsafeMutablePointer<Float>,
                       scratch: inout [Float]) {
        assign(rows: rows, x: x, labels: labels, best: distances, second: nil, scratch: &scratch)
    }

    /// The kernel behind ``assign(rows:x:labels:distances:scratch:)``; with `second`, also the
    /// squared distance to the second-closest centre (Hamerly's lower bound; infinity when k = 1).
    func assign(rows: Int, x: UnsafePointer<Float>, labels: UnsafeMutablePointer<Int32>, best: UnsafeMutablePointer<Float>,
                second: UnsafeMutablePointer<Float>?, scratch: inout [Float]) {
        let k = count, d = features, block = blockRows
        if scratch.count < block * k { scratch = [Float](repeating: 0, count: block * k) }
        values.withUnsafeBufferPointer { c in
            norms.withUnsafeBufferPointer { cn in
                scratch.withUnsafeMutableBufferPointer { s in
                    // invariant: k, d ≥ 1 and scratch was sized above
                    let cp = c.baseAddress!, np = cn.baseAddress!, dots = s.baseAddress! // invariant: see above
                    var start = 0
                    while start < rows {
                        let n = min(block, rows - start)
                        let xb = x + start * d
                        // invariant: positive sizes within Int32
                        try! BLAS.gemm(transposeB: .transpose, m: n, n: k, k: d, alpha: -2, a: xb, lda: d, b: cp, ldb: d, beta: 0, c: dots, ldc: k) // invariant: see above
                        for i in 0..<n {
                            let row = dots + i * k
                            var first = 0, firstValue = row[0] + np[0], secondValue = Float.infinity
                            for j in 1..<k {
                                let v = row[j] + np[j]
                                if v < firstValue {
                                    secondValue = firstValue
                                    firstValue = v
                                    first = j
                                } else if v < secondValue {
                                    secondValue = v
                                }
                            }
                            let xr = xb + i * d
                            var norm: Float = 0
                            for t in 0..<d { norm += xr[t] * xr[t] }
                            labels[start + i] = Int32(first)
                            best[start + i] = max(0, norm + firstValue)
                            second?[start + i] = max(0, norm + secondValue)
                        }
                        start += n
                    }
                }
            }
        }
    }

    /// The closest centre and squared distance of one row, by the direct loop (the oracle of
    /// ``assign(rows:x:labels:distances:scratch:)`` in the tests, and the one-row path).
    public func nearest(_ x: UnsafePointer<Float>) -> (label: Int, squaredDistance: Float) {
        var best = 0, bestValue = Float.infinity
        for j in 0..<count {
            var t: Float = 0
            for i in 0..<features {
                let diff = x[i] - values[j * features + i]
                t += diff * diff
            }
            if t < bestValue { bestValue = t; best = j }
        }
        return (best, bestValue)
    }
}

/// Per-centre sums of the rows assigned to each centre: weights, Σw·x (Double) and Σw·distance².
/// The partial result of a micro-shard; flattened, it is what ``Communicator/reduceMicroShards(_:width:shards:)`` sums.
struct KMeansAccumulator {
    let k: Int
    let d: Int
    /// [k × d sums][k weights][1 loss]
    var values: [Double]

    init(k: Int, d: Int) {
        self.k = k
        self.d = d
        values = [Double](repeating: 0, count: k * d + k + 1)
    }

    static func width(k: Int, d: Int) -> Int { k * d + k + 1 }

    mutating func add(rows: Int, x: UnsafePointer<Float>, weights: UnsafePointer<Float>?, labels: UnsafePointer<Int32>, distances: UnsafePointer<Float>) {
        let k = self.k, d = self.d
        values.withUnsafeMutableBufferPointer { v in
            // invariant: the buffer has k·d + k + 1 ≥ 2 values
            let sums = v.baseAddress!, counts = sums + k * d, loss = counts + k // invariant: see above
            for i in 0..<rows {
                let w = Double(weights?[i] ?? 1)
                let j = Int(labels[i])
                counts[j] += w
                loss[0] += w * Double(distances[i])
                let xr = x + i * d, s = sums + j * d
                if w == 1 {
                    for t in 0..<d { s[t] += Double(xr[t]) }
                } else {
                    for t in 0..<d { s[t] += w * Double(xr[t]) }
                }
            }
        }
    }
}

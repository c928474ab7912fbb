import MLCore

/// Where the parameters of one or more linear models sit in one flat buffer: the weights,
/// `features × columns` row-major, then one bias per column. A column is one output of one
/// model — model `m`'s outputs are columns `m·outputs ..< (m+1)·outputs` — so the weights of
/// every model trained side by side (`num_models`) form one matrix `W`, and a mini-batch's scores
/// for all of them are one `X·W`. Gradients, optimizer state, all-reduce and checkpoints use this
/// same layout.
public struct LinearParameterLayout: Sendable, Equatable {
    public let features: Int
    /// Outputs per model: 1 for binary and regression, the class count for multiclass.
    public let outputs: Int
    /// Models side by side (1 for a saved model).
    public let models: Int

    public init(features: Int, outputs: Int, models: Int = 1) {
        self.features = features
        self.outputs = outputs
        self.models = models
    }

    /// Score columns: `outputs × models`.
    public var columns: Int { outputs * models }
    public var weightCount: Int { features * columns }
    /// Offset of the bias block.
    public var biasOffset: Int { weightCount }
    /// Total parameters.
    public var count: Int { weightCount + columns }

    /// The layout of one of the models.
    public var single: LinearParameterLayout { LinearParameterLayout(features: features, outputs: outputs) }

    /// The model of the column `column`.
    @inline(__always) public func model(ofColumn column: Int) -> Int { column / outputs }

    /// Model `model`'s parameters, in the ``single`` layout.
    public func parameters<T>(ofModel model: Int, in parameters: [T]) -> [T] {
        let c = columns, k = outputs, first = model * k
        var out: [T] = []
        out.reserveCapacity(features * k + k)
        for j in 0..<features {
            for o in 0..<k { out.append(parameters[j * c + first + o]) }
        }
        for o in 0..<k { out.append(parameters[biasOffset + first + o]) }
        return out
    }

    /// Writes `values` (in the ``single`` layout) as model `model`'s parameters.
    public func setParameters<T>(ofModel model: Int, to values: [T], in parameters: inout [T]) {
        let c = columns, k = outputs, first = model * k
        for j in 0..<features {
            for o in 0..<k { parameters[j * c + first + o] = values[j * k + o] }
        }
        for o in 0..<k { parameters[biasOffset + first + o] = values[features * k + o] }
    }

    /// `S = X·W + b` (rows × columns) into `scores`, W read in place from the flat `parameters`
    /// (`includeBias: false` leaves out `b`, for callers that add it in their own loop).
    /// One BLAS call on the calling thread — `gemv` for one column (no packing, which is most
    /// of a `gemm`'s time at this shape), `gemm` for several; `scores` is reshaped if needed.
    /// `x` must have ``features`` columns (callers check, since they know what to name in the error).
    public func scores<T: BLASScalar>(_ x: Matrix<T>, parameters: [T], into scores: inout Matrix<T>, includeBias: Bool = true) throws {
        let n = x.rows, d = features, k = columns
        if scores.rows != n || scores.columns != k { scores = Matrix(rows: n, columns: k) }
        guard n > 0, d > 0 else {
            if includeBias { try scores.addToEachRow(Array(parameters[biasOffset..<count])) }
            return
        }
        try x.withUnsafeBufferPointer { px in
            try parameters.withUnsafeBufferPointer { pw in
                try scores.withUnsafeMutableBufferPointer { ps in
                    // invariant: n, d, k > 0 here, so every buffer has a base address
                    let a = px.baseAddress!, w = pw.baseAddress!, s = ps.baseAddress! // invariant: see above
                    if k == 1 {
                        try BLAS.gemv(m: n, n: d, alpha: 1, a: a, lda: d, x: w, beta: 0, y: s)
                    } else {
                        try BLAS.gemm(m: n, n: k, k: d, alpha: 1, a: a, lda: d, b: w, ldb: k, beta: 0, c: s, ldc: k)
                    }
                    if includeBias {
                        for i in 0..<n {
                            for j in 0..<k { s[i * k + j] += w[biasOffset + j] }
                        }
                    }
                }
            }
        }
    }

    /// The scores of dense or sparse rows (the two methods below and above).
    public func scores(_ features: Features, parameters: [Float], into scores: inout Matrix<Float>) throws {
        switch features {
        case .dense(let x): try self.scores(x, parameters: parameters, into: &scores)
        case .sparse(let x): self.scores(x, parameters: parameters, into: &scores)
        }
    }

    /// The same scores for CSR rows: each row's non-zeros times the matching rows of `W`.
    public func scores<T: BLASScalar>(_ x: SparseMatrix<T>, parameters: [T], into scores: inout Matrix<T>, includeBias: Bool = true) {
        let n = x.rows, k = columns
        if scores.rows != n || scores.columns != k { scores = Matrix(rows: n, columns: k) }
        guard n > 0 else { return }
        x.withUnsafeBuffers { offsets, indices, values in
            parameters.withUnsafeBufferPointer { w in
                scores.withUnsafeMutableBufferPointer { s in
                    for i in 0..<n {
                        let row = i * k
                        for j in 0..<k { s[row + j] = includeBias ? w[biasOffset + j] : 0 }
                        for p in offsets[i]..<offsets[i + 1] {
                            let v = values[p], from = Int(indices[p]) * k
                            for j in 0..<k { s[row + j] += v * w[from + j] }
                        }
                    }
                }
            }
        }
    }
}

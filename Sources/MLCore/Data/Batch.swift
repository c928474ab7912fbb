/// The features of a batch: dense rows or CSR.
public enum Features: Sendable, Equatable {
    case dense(Matrix<Float>)
    case sparse(SparseMatrix<Float>)

    public var rows: Int {
        switch self {
        case .dense(let m): m.rows
        case .sparse(let s): s.rows
        }
    }

    public var columns: Int {
        switch self {
        case .dense(let m): m.columns
        case .sparse(let s): s.columns
        }
    }

    /// The rows `range`, in the same form.
    public func rows(_ range: Range<Int>) -> Features {
        switch self {
        case .dense(let m): .dense(m.rows(range))
        case .sparse(let s): .sparse(s.rows(range))
        }
    }
}

/// A batch of records as a ``DataSource`` produces them.
public struct Batch: Sendable, Equatable {
    /// rows × features.
    public var features: Features
    /// rows × labelSize, or `nil` for unlabelled data (`label_size=0`).
    public var labels: Matrix<Float>?
    /// One weight per row, or `nil` when every row weighs 1.
    public var weights: [Float]?

    public init(features: Features, labels: Matrix<Float>? = nil, weights: [Float]? = nil) {
        self.features = features
        self.labels = labels
        self.weights = weights
    }

    public var rows: Int { features.rows }

    /// The first label column as an array (the usual single label), or `nil`.
    public var labelVector: [Float]? {
        guard let labels, labels.columns > 0 else { return nil }
        return labels.columns == 1 ? labels.elements : (0..<labels.rows).map { labels[$0, 0] }
    }
}

/// Streams batches from a channel. `nextBatch()` returns `nil` at the end.
public protocol DataSource {
    /// The next batch, or `nil` when the source is exhausted.
    mutating func nextBatch() throws(DataError) -> Batch?
}

extension Features {
    /// The rows at `indices`, in that order, in the same form.
    public func gathering(rows indices: [Int]) -> Features {
        switch self {
        case .sparse(let s):
            return .sparse(s.gathering(rows: indices))
        case .dense(let m):
            let d = m.columns
            var out = Matrix<Float>(rows: indices.count, columns: d)
            m.withUnsafeBufferPointer { source in
                out.withUnsafeMutableBufferPointer { target in
                    for (k, i) in indices.enumerated() {
                        for j in 0..<d { target[k * d + j] = source[i * d + j] }
                    }
                }
            }
            return .dense(out)
        }
    }

    /// These rows, then `other`'s, as the trees read them: dense when both are (the same width),
    /// otherwise CSR as wide as the wider, a dense row's NaNs left out (absent is missing there).
    public func appendingForTrees(_ other: Features) -> Features {
        if case .dense(let a) = self, case .dense(let b) = other, a.columns == b.columns {
            // Both have a.columns columns, so the elements fill the shape.
            return .dense(try! Matrix(rows: a.rows + b.rows, columns: a.columns, elements: a.elements + b.elements)) // invariant: same width
        }
        var out = SparseMatrix<Float>(columns: max(columns, other.columns))
        for part in [self, other] {
            switch part {
            case .sparse(let s):
                for i in 0..<s.rows {
                    let range = s.rowOffsets[i]..<s.rowOffsets[i + 1]
                    out.appendRow(indices: s.columnIndices[range], values: s.values[range])
                }
            case .dense(let m):
                let d = m.columns
                let elements = m.elements
                for i in 0..<m.rows {
                    let present = (0..<d).filter { !elements[i * d + $0].isNaN }
                    out.appendRow(indices: present.map { Int32($0) }, values: present.map { elements[i * d + $0] })
                }
            }
        }
        return .sparse(out)
    }
}

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

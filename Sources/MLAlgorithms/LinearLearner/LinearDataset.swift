import MLCore

/// One channel's examples held in memory: dense or sparse (CSR) features, labels and optional
/// example weights.
public struct LinearDataset: Sendable, Equatable {
    /// The channel name used in errors and metric lines (`train`, `validation`, `test`).
    public var channel: String
    public var features: Features
    public var labels: [Float]
    public var weights: [Float]?

    public init(channel: String, features: Matrix<Float>, labels: [Float], weights: [Float]? = nil) throws(LinearLearnerError) {
        try self.init(channel: channel, features: .dense(features), labels: labels, weights: weights)
    }

    public init(channel: String, features: SparseMatrix<Float>, labels: [Float], weights: [Float]? = nil) throws(LinearLearnerError) {
        try self.init(channel: channel, features: .sparse(features), labels: labels, weights: weights)
    }

    public init(channel: String, features: Features, labels: [Float], weights: [Float]? = nil) throws(LinearLearnerError) {
        guard labels.count == features.rows else {
            throw .malformed(channel: channel, reason: "\(features.rows) rows of features but \(labels.count) labels")
        }
        if let weights, weights.count != features.rows {
            throw .malformed(channel: channel, reason: "\(features.rows) rows of features but \(weights.count) weights")
        }
        self.channel = channel
        self.features = features
        self.labels = labels
        self.weights = weights
    }

    /// A batch with one label column, as the CSV, NPY and RecordIO readers produce.
    public init(channel: String, batch: Batch) throws(LinearLearnerError) {
        guard let labels = batch.labelVector else {
            throw .malformed(channel: channel, reason: "no label column: the linear learner's CSV has the label first")
        }
        try self.init(channel: channel, features: batch.features, labels: labels, weights: batch.weights)
    }

    /// `csv_weights=1`: the first feature column of a dense batch is each row's weight (the
    /// CSV row is `label, weight, features…`); it becomes the batch's weights.
    public static func weightsFromFirstColumn(_ batch: Batch, channel: String) throws(LinearLearnerError) -> Batch {
        guard case .dense(let x) = batch.features else {
            throw .malformed(channel: channel, reason: "csv_weights=1 takes the weight from the second CSV column; sparse rows have none")
        }
        guard x.columns >= 2 || x.rows == 0 else {
            throw .malformed(channel: channel, reason: "csv_weights=1 needs a weight column and at least one feature after the label")
        }
        let d = x.columns - 1
        var features = Matrix<Float>(rows: x.rows, columns: d)
        var weights = [Float](repeating: 0, count: x.rows)
        x.withUnsafeBufferPointer { src in
            features.withUnsafeMutableBufferPointer { dst in
                for i in 0..<x.rows {
                    weights[i] = src[i * x.columns]
                    for j in 0..<d { dst[i * d + j] = src[i * x.columns + 1 + j] }
                }
            }
        }
        return Batch(features: .dense(features), labels: batch.labels, weights: weights)
    }

    /// The dense features, or `nil` for sparse ones.
    public var dense: Matrix<Float>? {
        if case .dense(let x) = features { return x }
        return nil
    }

    public var isSparse: Bool { dense == nil }

    /// The rows at `indices`, in that order, as their own dataset.
    public func gathering(rows indices: [Int], channel: String? = nil) -> LinearDataset {
        var out = self
        out.channel = channel ?? self.channel
        out.features = features.gathering(rows: indices)
        out.labels = indices.map { labels[$0] }
        out.weights = weights.map { w in indices.map { w[$0] } }
        return out
    }

    /// A SageMaker CSV channel (no header, the label first): a file, or a directory whose data
    /// files (``ChannelFiles``) form the channel. Throws ``DataError`` or ``LinearLearnerError``.
    public init(channel: String, csvPath path: String, threads: Int) throws {
        let files = try ChannelFiles.list(path)
        try self.init(channel: channel, batch: CSVReader.readAll(files: files, options: CSVOptions(labelSize: 1, threads: threads)))
    }

    public var rows: Int { features.rows }
    public var columns: Int { features.columns }

    /// Checks every label, feature and weight, and the feature count, before training touches
    /// them: the first bad row (in row order, whatever the thread count) is reported.
    public func validate(for settings: LinearLearnerSettings, features expected: Int, source: String, threads: Int) throws(LinearLearnerError) {
        guard rows > 0 else { throw .emptyChannel(channel: channel) }
        guard features.columns == expected else {
            throw .featureCount(channel: channel, expected: expected, found: features.columns, source: source)
        }
        let d = features.columns
        let objective = settings.objective
        let y = labels, w = weights, name = channel
        // Dense rows are scanned as one row-major buffer; sparse rows as their stored values.
        let offsets: [Int]?, columnIndices: [Int32]
        switch features {
        case .dense: offsets = nil; columnIndices = []
        case .sparse(let x): offsets = x.rowOffsets; columnIndices = x.columnIndices
        }
        let features = self.features
        @Sendable func withStorage<R>(_ body: (UnsafeBufferPointer<Float>) -> R) -> R {
            switch features {
            case .dense(let x): x.withUnsafeBufferPointer(body)
            case .sparse(let x): x.withUnsafeBuffers { _, _, values in body(values) }
            }
        }
        // The first problem per block, then the earliest block's: deterministic.
        let problem: LinearLearnerError? = DeterministicReduction.reduce(
            count: rows, blockSize: 4096, threads: threads, identity: nil,
            map: { range -> LinearLearnerError? in
                withStorage { p in
                    let lo = offsets?[range.lowerBound] ?? range.lowerBound * d, hi = offsets?[range.upperBound] ?? range.upperBound * d
                    // NaN and ±∞ are the floats whose exponent bits are all ones: one branch-free
                    // integer max over the block vectorizes (a float sum would not: its order is
                    // fixed); rows are searched only when it finds something.
                    var exponent: UInt32 = 0
                    for e in lo..<hi { exponent = max(exponent, p[e].bitPattern & 0x7F80_0000) }
                    let clean = exponent != 0x7F80_0000
                    for i in range {
                        let label = Double(y[i])
                        if let rule = objective.labelProblem(label) {
                            let full: String
                            switch settings.predictorType {
                            case .binaryClassifier: full = "binary_classifier labels are 0 or 1"
                            case .multiclassClassifier: full = "multiclass_classifier labels are integers 0 … num_classes−1 = \(settings.classCount - 1)"
                            case .regressor: full = rule == "regression labels are finite" ? "regressor labels are finite numbers" : rule
                            }
                            return .invalidLabel(channel: name, row: i + 1, label: label, rule: full)
                        }
                        if !clean {
                            if let offsets {
                                if let p2 = (offsets[i]..<offsets[i + 1]).first(where: { !p[$0].isFinite }) {
                                    return .nonFiniteFeature(channel: name, row: i + 1, column: Int(columnIndices[p2]) + 1, value: Double(p[p2]))
                                }
                            } else if let j = (0..<d).first(where: { !p[i * d + $0].isFinite }) {
                                return .nonFiniteFeature(channel: name, row: i + 1, column: j + 1, value: Double(p[i * d + j]))
                            }
                        }
                        if let w, !(w[i].isFinite && w[i] >= 0) {
                            return .invalidWeight(channel: name, row: i + 1, weight: Double(w[i]))
                        }
                    }
                    return nil
                }
            },
            combine: { a, b in a ?? b })
        if let problem { throw problem }
    }
}

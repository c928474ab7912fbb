import MLCore

/// One channel's examples held in memory: dense features, labels and optional example weights.
public struct LinearDataset: Sendable, Equatable {
    /// The channel name used in errors and metric lines (`train`, `validation`, `test`).
    public var channel: String
    public var features: Matrix<Float>
    public var labels: [Float]
    public var weights: [Float]?

    public init(channel: String, features: Matrix<Float>, labels: [Float], weights: [Float]? = nil) throws(LinearLearnerError) {
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

    /// A dense batch with one label column, as the CSV, NPY and RecordIO readers produce.
    public init(channel: String, batch: Batch) throws(LinearLearnerError) {
        guard case .dense(let x) = batch.features else { throw .sparseUnsupported(channel: channel) }
        guard let labels = batch.labelVector else {
            throw .malformed(channel: channel, reason: "no label column: the linear learner's CSV has the label first")
        }
        try self.init(channel: channel, features: x, labels: labels, weights: batch.weights)
    }

    /// A SageMaker CSV channel (no header, the label first): a file, or a directory whose data
    /// files (``ChannelFiles``) form the channel. Throws ``DataError`` or ``LinearLearnerError``.
    public init(channel: String, csvPath path: String, threads: Int) throws {
        let files = try ChannelFiles.list(path)
        try self.init(channel: channel, batch: CSVReader.readAll(files: files, options: CSVOptions(labelSize: 1, threads: threads)))
    }

    public var rows: Int { features.rows }

    /// Checks every label, feature and weight, and the feature count, before training touches
    /// them: the first bad row (in row order, whatever the thread count) is reported.
    public func validate(for settings: LinearLearnerSettings, features expected: Int, source: String, threads: Int) throws(LinearLearnerError) {
        guard rows > 0 else { throw .emptyChannel(channel: channel) }
        guard features.columns == expected else {
            throw .featureCount(channel: channel, expected: expected, found: features.columns, source: source)
        }
        let d = features.columns
        let type = settings.predictorType, classes = settings.classCount
        let x = features, y = labels, w = weights, name = channel
        // The first problem per block, then the earliest block's: deterministic.
        let problem: LinearLearnerError? = DeterministicReduction.reduce(
            count: rows, blockSize: 4096, threads: threads, identity: nil,
            map: { range -> LinearLearnerError? in
                x.withUnsafeBufferPointer { p in
                    // NaN and ±∞ are the floats whose exponent bits are all ones: one branch-free
                    // integer max over the block vectorizes (a float sum would not: its order is
                    // fixed); rows are searched only when it finds something.
                    var exponent: UInt32 = 0
                    for e in (range.lowerBound * d)..<(range.upperBound * d) { exponent = max(exponent, p[e].bitPattern & 0x7F80_0000) }
                    let clean = exponent != 0x7F80_0000
                    for i in range {
                        let label = Double(y[i])
                        switch type {
                        case .binaryClassifier where label != 0 && label != 1:
                            return .invalidLabel(channel: name, row: i + 1, label: label, rule: "binary_classifier labels are 0 or 1")
                        case .multiclassClassifier where !(label >= 0 && label < Double(classes) && label == label.rounded()):
                            return .invalidLabel(channel: name, row: i + 1, label: label,
                                                 rule: "multiclass_classifier labels are integers 0 … num_classes−1 = \(classes - 1)")
                        case .regressor where !label.isFinite:
                            return .invalidLabel(channel: name, row: i + 1, label: label, rule: "regressor labels are finite numbers")
                        default: break
                        }
                        // x·0 is 0 for finite x and NaN for NaN or ±∞: a branch-free pass that
                        // vectorizes, then the exact column only for a bad row.
                        if !clean, let j = (0..<d).first(where: { !p[i * d + $0].isFinite }) {
                            return .nonFiniteFeature(channel: name, row: i + 1, column: j + 1, value: Double(p[i * d + j]))
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

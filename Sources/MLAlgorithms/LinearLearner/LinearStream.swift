import MLCore

/// A training channel read as a stream, epoch after epoch, for data that need not fit in memory.
///
/// ``open`` gives a fresh ``DataSource`` over the channel from its start for each epoch (a
/// Pipe-mode channel's `train_<epoch>` FIFO, or the files again). Rows pass through a shuffle
/// buffer of ``bufferRows`` rows: each mini-batch row is drawn at random (seeded by the seed and
/// the epoch) from the buffer, whose place is refilled from the source. Memory holds the buffer
/// and the reader's current batch, whatever the channel's size.
public struct LinearStream: Sendable {
    public var channel: String
    public var open: @Sendable (_ epoch: Int) throws -> any DataSource
    public var bufferRows: Int

    public init(channel: String = "train", bufferRows: Int = 65_536, open: @escaping @Sendable (_ epoch: Int) throws -> any DataSource) {
        self.channel = channel
        self.bufferRows = max(1, bufferRows)
        self.open = open
    }
}

extension LinearLearnerTrainer {
    /// Trains on a stream (``LinearStream``) instead of rows in memory; `validation` and `test`
    /// are in memory. The scaler's statistics and the class weights come from the first
    /// `num_point_for_scaler` rows of epoch 0 (which are then trained on like the others);
    /// without a validation channel, selection and the threshold use those same rows.
    public func fit(
        stream: LinearStream, validation: LinearDataset? = nil, test: LinearDataset? = nil,
        resumingFrom resumed: LinearTrainingState? = nil, cancellation: CancellationFlag? = nil,
        events: @escaping @Sendable (TrainingEvent) -> Void = { _ in },
        checkpoint: (@Sendable (LinearTrainingState) throws -> Void)? = nil
    ) throws -> Result {
        let feed = StreamFeed(stream: stream, batchRows: settings.miniBatchSize, sampleRows: settings.pointsForScaler,
                              seed: seed, shuffle: shuffle)
        let first = try feed.sample()
        let features = settings.featureDim ?? first.columns
        let source = settings.featureDim == nil ? "the \(stream.channel) channel" : "hyperparameter feature_dim"
        for dataset in [first, validation, test].compactMap({ $0 }) {
            try dataset.validate(for: settings, features: features, source: source, threads: workers)
        }
        let settings = self.settings
        var result = try run(
            features: features, sparse: first.isSparse, batchCount: nil,
            initial: { try initialState(sample: first, labels: first.labels, features: features) },
            batches: { epoch, index in
                guard let block = try feed.batch(epoch: epoch, index: index) else { return nil }
                // Each streamed block is checked as it arrives: a bad row far into the data
                // stops training naming its channel, like a bad row in memory does.
                try block.validate(for: settings, features: features, source: source, threads: 1)
                return MiniBatch(data: block, start: 0, count: block.rows, order: nil)
            },
            validation: validation, test: test, calibration: validation ?? (needsCalibration ? first : nil),
            calibrationSource: validation == nil ? "first streamed" : "validation",
            resumed: resumed, cancellation: cancellation, events: events, checkpoint: checkpoint)
        result.streamPeakRows = feed.peakRows
        return result
    }

    /// The stream's reader and shuffle buffer. Used under ``SharedBatches``'s lock, one
    /// mini-batch at a time in order.
    final class StreamFeed: @unchecked Sendable {
        // @unchecked: `SharedBatches` serializes every call after `sample()`, which runs first on one thread.
        let stream: LinearStream
        let batchRows: Int
        let sampleRows: Int
        let seed: UInt64
        let shuffle: Bool
        private var epoch = -1
        private var nextIndex = 0
        private var source: (any DataSource)?
        /// The reader's current batch and the next row of it to take.
        private var pending: LinearDataset?
        private var pendingRow = 0
        private var buffer: RowBuffer?
        private var random = RandomStream(seed: 0)
        private var first: LinearDataset?
        /// The most rows held at once (buffer plus the reader's batch).
        private(set) var peakRows = 0

        init(stream: LinearStream, batchRows: Int, sampleRows: Int, seed: UInt64, shuffle: Bool) {
            self.stream = stream
            self.batchRows = batchRows
            self.sampleRows = max(1, sampleRows)
            self.seed = seed
            self.shuffle = shuffle
        }

        /// The first `num_point_for_scaler` rows of epoch 0 (read into the buffer, not consumed).
        func sample() throws -> LinearDataset {
            if let first { return first }
            try start(epoch: 0)
            try fill(upTo: max(stream.bufferRows, sampleRows))
            guard let buffer, buffer.count > 0 else { throw LinearLearnerError.emptyChannel(channel: stream.channel) }
            let sample = buffer.dataset(channel: stream.channel, rows: min(buffer.count, sampleRows))
            first = sample
            return sample
        }

        func batch(epoch: Int, index: Int) throws -> LinearDataset? {
            if epoch != self.epoch || index < nextIndex { try start(epoch: epoch) }
            // Resuming mid-epoch: the batches before are drawn again (same seed, same rows) and dropped.
            while nextIndex < index {
                guard try draw() != nil else { return nil }
            }
            return try draw()
        }

        private func start(epoch: Int) throws {
            self.epoch = epoch
            nextIndex = 0
            source = try stream.open(epoch)
            pending = nil
            pendingRow = 0
            buffer?.removeAll()
            random = RandomStream(seed: seed, path: [Purpose.streamShuffle.rawValue, UInt64(epoch)])
        }

        /// Reads rows until the buffer holds `rows` or the source ends.
        private func fill(upTo rows: Int) throws {
            while (buffer?.count ?? 0) < rows {
                if pending == nil || pendingRow >= pending!.rows {
                    guard var reader = source, let batch = try reader.nextBatch() else {
                        source = nil
                        pending = nil
                        return
                    }
                    source = reader
                    pending = try LinearDataset(channel: stream.channel, batch: batch)
                    pendingRow = 0
                }
                // invariant: set just above when it was nil or used up
                let block = pending! // invariant: see above
                if buffer == nil { buffer = RowBuffer(columns: block.columns, sparse: block.isSparse, weighted: block.weights != nil) }
                let take = min(rows - buffer!.count, block.rows - pendingRow)
                try buffer!.append(block, rows: pendingRow..<(pendingRow + take))
                pendingRow += take
                peakRows = max(peakRows, buffer!.count + block.rows - pendingRow)
            }
        }

        /// The next mini-batch: rows drawn at random from the buffer, each refilled from the source.
        private func draw() throws -> LinearDataset? {
            try fill(upTo: stream.bufferRows)
            guard var buffer, buffer.count > 0 else { return nil }
            self.buffer = nil  // uniquely referenced while taken from
            var out = RowBuffer(columns: buffer.columns, sparse: buffer.sparse, weighted: buffer.weights != nil)
            for _ in 0..<batchRows {
                guard buffer.count > 0 else { break }
                let j = shuffle ? Int(random.next() % UInt64(buffer.count)) : 0
                out.appendRow(from: buffer, row: j)
                buffer.removeRow(j, keepingOrder: !shuffle)
            }
            self.buffer = buffer
            nextIndex += 1
            return out.dataset(channel: stream.channel, rows: out.count)
        }
    }

    /// Rows held for the stream's shuffle: dense rows flat, sparse rows as index/value lists.
    struct RowBuffer {
        var columns: Int
        var sparse: Bool
        var dense: [Float] = []
        var indices: [[Int32]] = []
        var values: [[Float]] = []
        var labels: [Float] = []
        var weights: [Float]?

        init(columns: Int, sparse: Bool, weighted: Bool) {
            self.columns = columns
            self.sparse = sparse
            weights = weighted ? [] : nil
        }

        var count: Int { labels.count }

        mutating func append(_ data: LinearDataset, rows: Range<Int>) throws {
            guard data.columns == columns || data.isSparse, data.isSparse == sparse else {
                throw LinearLearnerError.malformed(channel: data.channel, reason: "a streamed batch has \(data.columns) "
                                                   + (data.isSparse ? "sparse" : "dense") + " features, the first had \(columns)")
            }
            if (weights == nil) != (data.weights == nil) {
                throw LinearLearnerError.malformed(channel: data.channel, reason: "some streamed batches have example weights and some do not")
            }
            switch data.features {
            case .dense(let x):
                dense.append(contentsOf: x.elements[(rows.lowerBound * columns)..<(rows.upperBound * columns)])
            case .sparse(let x):
                columns = max(columns, x.columns)
                for i in rows {
                    let range = x.rowOffsets[i]..<x.rowOffsets[i + 1]
                    indices.append(Array(x.columnIndices[range]))
                    values.append(Array(x.values[range]))
                }
            }
            labels.append(contentsOf: data.labels[rows])
            if let w = data.weights { weights?.append(contentsOf: w[rows]) }
        }

        mutating func appendRow(from other: RowBuffer, row j: Int) {
            if sparse {
                indices.append(other.indices[j])
                values.append(other.values[j])
            } else {
                dense.append(contentsOf: other.dense[(j * columns)..<((j + 1) * columns)])
            }
            labels.append(other.labels[j])
            if let w = other.weights { weights?.append(w[j]) }
        }

        /// Removes row `j`: the last row takes its place (or, in order, the rows after it move up).
        mutating func removeRow(_ j: Int, keepingOrder: Bool) {
            let last = count - 1
            if keepingOrder {
                if sparse {
                    indices.remove(at: j)
                    values.remove(at: j)
                } else {
                    dense.removeSubrange((j * columns)..<((j + 1) * columns))
                }
                labels.remove(at: j)
                weights?.remove(at: j)
                return
            }
            if sparse {
                indices.swapAt(j, last)
                values.swapAt(j, last)
                indices.removeLast()
                values.removeLast()
            } else {
                if j != last {
                    for c in 0..<columns { dense[j * columns + c] = dense[last * columns + c] }
                }
                dense.removeLast(columns)
            }
            labels.swapAt(j, last)
            labels.removeLast()
            if weights != nil {
                weights!.swapAt(j, last)
                weights!.removeLast()
            }
        }

        mutating func removeAll() {
            dense.removeAll(keepingCapacity: true)
            indices.removeAll(keepingCapacity: true)
            values.removeAll(keepingCapacity: true)
            labels.removeAll(keepingCapacity: true)
            if weights != nil { weights!.removeAll(keepingCapacity: true) }
        }

        /// The first `rows` rows as a dataset.
        func dataset(channel: String, rows: Int) -> LinearDataset {
            let features: Features
            if sparse {
                var x = SparseMatrix<Float>(columns: columns)
                for i in 0..<rows { x.appendRow(indices: indices[i], values: values[i]) }
                features = .sparse(x)
            } else {
                let elements = Array(dense[0..<(rows * columns)])
                features = .dense(try! Matrix(rows: rows, columns: columns, elements: elements))  // invariant: rows × columns values by construction
            }
            let rowLabels = Array(labels[0..<rows]), rowWeights = weights.map { Array($0[0..<rows]) }
            return try! LinearDataset(channel: channel, features: features, labels: rowLabels, weights: rowWeights)  // invariant: one label and weight per row
        }
    }
}

import MLCore

/// Cuts a stream of batches of any size into dense blocks of exactly ``blockRows`` rows (the
/// last one shorter), whatever sizes the reader delivers — so the blocks, and therefore every
/// per-block partial result, depend on the data alone. Sparse rows are made dense one block at
/// a time (PCA's and k-means' arithmetic is dense), never the whole channel. Every row is
/// checked (``feature_dim`` and finite values) as it passes, with its row number in the channel.
public struct DenseRowBlocks {
    public let channel: String
    public let features: Int
    public let blockRows: Int
    private var source: any DataSource
    private var pending: [Float] = []
    private var pendingRows = 0
    private var exhausted = false
    /// Rows handed out so far (the next block's first row is `rowsDelivered + 1`, counting from 1).
    public private(set) var rowsDelivered = 0

    public init(channel: String, features: Int, blockRows: Int, source: any DataSource) {
        self.channel = channel
        self.features = features
        self.blockRows = max(1, blockRows)
        self.source = source
    }

    /// The next block, or `nil` at the end of the stream.
    public mutating func next() throws(UnsupervisedDataError) -> Matrix<Float>? {
        while pendingRows < blockRows && !exhausted {
            let batch: Batch?
            do {
                batch = try source.nextBatch()
            } catch {
                throw .unreadable(channel: channel, reason: error.description)
            }
            guard let batch else { exhausted = true; break }
            try append(batch.features)
        }
        guard pendingRows > 0 else { return nil }
        let take = min(blockRows, pendingRows)
        let block: Matrix<Float>
        if take == pendingRows {
            // invariant: pending holds pendingRows × features values
            block = try! Matrix(rows: take, columns: features, elements: pending) // invariant: see above
            pending.removeAll(keepingCapacity: true)
        } else {
            // invariant: the first `take` rows are whole rows of pending
            block = try! Matrix(rows: take, columns: features, elements: Array(pending[0..<(take * features)])) // invariant: see above
            pending.removeFirst(take * features)
        }
        pendingRows -= take
        rowsDelivered += take
        return block
    }

    /// Skips `rows` rows (resuming a pass from a checkpoint), checking them as it goes.
    public mutating func skip(rows: Int) throws(UnsupervisedDataError) {
        var left = rows
        while left > 0 {
            guard let block = try next() else { return }
            if block.rows > left {
                // Return the unused tail to the front of the queue.
                let tail = Array(block.elements[(left * features)...])
                pending.insert(contentsOf: tail, at: 0)
                pendingRows += block.rows - left
                rowsDelivered -= block.rows - left
                return
            }
            left -= block.rows
        }
    }

    private mutating func append(_ features: Features) throws(UnsupervisedDataError) {
        guard features.columns == self.features else {
            throw .featureCount(channel: channel, expected: self.features, found: features.columns)
        }
        let first = rowsDelivered + pendingRows
        let start = pending.count
        switch features {
        case .dense(let m):
            m.withUnsafeBufferPointer { pending.append(contentsOf: $0) }
        case .sparse(let s):
            s.dense().withUnsafeBufferPointer { pending.append(contentsOf: $0) }
        }
        let d = self.features
        for (i, v) in pending[start...].enumerated() where !v.isFinite {
            throw .nonFinite(channel: channel, row: first + i / d + 1, column: i % d + 1, value: Double(v))
        }
        pendingRows += features.rows
    }
}

/// A source of passes over a channel: `open(pass)` starts pass `pass` (0-based) from the first
/// row. PCA's randomized mode reads twice and k-means once per epoch; files are reopened, and
/// Pipe mode opens the channel's next FIFO (`train_<pass>`).
public typealias PassOpener = @Sendable (_ pass: Int) throws -> any DataSource

/// An in-memory ``DataSource`` over a matrix, handed out in chunks of `chunkRows` rows.
public struct MatrixSource: DataSource {
    let features: Features
    let chunkRows: Int
    var position = 0

    public init(_ features: Features, chunkRows: Int = 65_536) {
        self.features = features
        self.chunkRows = max(1, chunkRows)
    }

    public mutating func nextBatch() throws(DataError) -> Batch? {
        guard position < features.rows else { return nil }
        let end = min(features.rows, position + chunkRows)
        defer { position = end }
        return Batch(features: features.rows(position..<end))
    }
}

/// Collects rows into one ``Batch``.
///
/// Rows stay dense (written straight into the matrix storage) until the first sparse row; from
/// then on the batch is CSR and earlier and later dense rows are stored with every element
/// explicit — zeros included, so a dense zero stays a zero for algorithms (XGBoost) that read
/// an absent sparse entry as *missing*. Exactly one of `dense` and `sparse` is set. A batch that
/// starts sparse never reserves dense storage: sparse widths can be in the millions.
struct RecordIOBatchBuilder {
    let columns: Int
    let labelled: Bool
    private(set) var rows = 0
    private var dense: GrowableRows<Float>?
    private var sparse: SparseMatrix<Float>?
    private var labels: [Float] = []
    // Reused per row, so appending allocates nothing once capacities settle.
    private var rowIndices: [Int32] = []
    private var rowValues: [Float] = []
    private var order: [Int] = []

    /// `reservingRows` sizes the dense storage when the first row (`firstLayout`) is dense.
    init(columns: Int, labelled: Bool, reservingRows: Int, firstLayout: RecordIORowLayout) {
        self.columns = columns
        self.labelled = labelled
        if case .dense = firstLayout {
            dense = GrowableRows(columns: columns, reservingRows: reservingRows)
        } else {
            sparse = SparseMatrix(columns: columns)
        }
        if labelled { labels.reserveCapacity(reservingRows) }
    }

    /// Appends one row from a slot whose layout was checked (its width equals ``columns``).
    mutating func append(_ slot: RecordIOTensorSlot, layout: RecordIORowLayout, label: Float?) throws(RecordIOProblem) {
        switch layout {
        case .dense:
            if let out = dense?.appendRows(1) {
                slot.values.withUnsafeBufferPointer { values in
                    // invariant: a non-empty array always has a base address
                    if values.count > 0 { out.update(from: values.baseAddress!, count: values.count) } // invariant: see above
                }
            } else {
                // Width fits Int32: a sparse row of the same width was accepted.
                sparse?.appendRow(indices: 0..<Int32(truncatingIfNeeded: columns), values: slot.values)
            }
        case .sparse:
            try collectSparse(slot)
            convertToSparse()
            sparse?.appendRow(indices: rowIndices, values: rowValues)
        }
        if let label { labels.append(label) }
        rows += 1
    }

    /// Fills `rowIndices` / `rowValues` from a sparse slot, keys in increasing order.
    private mutating func collectSparse(_ slot: RecordIOTensorSlot) throws(RecordIOProblem) {
        rowIndices.removeAll(keepingCapacity: true)
        rowValues.removeAll(keepingCapacity: true)
        let keys = slot.keys, values = slot.values
        var increasing = true
        var previous: UInt64? = nil
        for k in keys {
            guard k < UInt64(columns) else { throw .keyOutOfRange(map: "features", key: k, size: UInt64(columns)) }
            if let previous, k <= previous { increasing = false }
            previous = k
        }
        if increasing {
            for k in keys { rowIndices.append(Int32(truncatingIfNeeded: k)) }  // k < columns ≤ 2^31
            rowValues.append(contentsOf: values)
            return
        }
        // Unsorted keys are legal protobuf; CSR wants them increasing, so sort (stably) and
        // reject repeats, which would make the row ambiguous.
        order.removeAll(keepingCapacity: true)
        order.append(contentsOf: keys.indices)
        order.sort { keys[$0] < keys[$1] || (keys[$0] == keys[$1] && $0 < $1) }
        for (n, i) in order.enumerated() {
            if n > 0, keys[order[n - 1]] == keys[i] { throw .duplicateKey(map: "features", key: keys[i]) }
            rowIndices.append(Int32(truncatingIfNeeded: keys[i]))
            rowValues.append(values[i])
        }
    }

    /// Moves the dense rows so far, if the batch is still dense, into a CSR matrix.
    private mutating func convertToSparse() {
        guard let m = dense?.matrix() else { return }
        var csr = SparseMatrix<Float>(columns: columns)
        m.withUnsafeBufferPointer { all in
            for i in 0..<m.rows {
                let row = UnsafeBufferPointer(rebasing: all[i * columns..<(i + 1) * columns])
                csr.appendRow(indices: 0..<Int32(truncatingIfNeeded: columns), values: row)
            }
        }
        sparse = csr
        dense = nil
    }

    /// The batch: CSR if any row was sparse, dense otherwise; labels `rows × 1` or `nil`.
    func batch() -> Batch {
        let features: Features = sparse.map { .sparse($0) } ?? .dense(dense?.matrix() ?? Matrix(rows: 0, columns: columns))
        // append(_:layout:label:) takes one label per row when labelled, so labels.count == rows;
        // sizing by the array itself makes the shape right by construction, with nothing to throw.
        let labelMatrix = labelled ? Matrix(rows: labels.count, columns: 1) { _ = $0.update(fromContentsOf: labels) } : nil
        return Batch(features: features, labels: labelMatrix)
    }
}

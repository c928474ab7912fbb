import Foundation

/// Writes SageMaker RecordIO-protobuf (`application/x-recordio-protobuf`): what the SageMaker
/// Python SDK's `write_numpy_to_dense_tensor` / `write_spmatrix_to_sparse_tensor` write, and the
/// response records of the built-in algorithms.
///
/// - A dense row is `features["values"]` = float32 tensor of the row's values (no keys, no shape).
/// - A sparse row is `features["values"]` = float32 tensor of the row's stored values, `keys` =
///   their column indices and `shape = [columns]`; an empty row has only the shape.
/// - A label is `label["values"]` = float32 tensor of one value.
/// - A general record (`append(_: RecordIOProtobufRecord)`) carries any named tensors, such
///   as the float32 response tensors `score`, `predicted_label`, `closest_cluster`,
///   `projection` in `label`.
///
/// Map entries are written in key order, so the same records always give the same bytes; the
/// framing is dmlc's, byte for byte (see ``RecordIOFrameWriter``). ``write(to:)`` is atomic (a
/// temporary file in the same directory, then a rename), so a reader never sees half a file.
public struct RecordIOProtobufWriter: Sendable {
    private var frames: RecordIOFrameWriter

    /// `name` stands for the output in errors.
    public init(name: String = "<recordio-protobuf>", reservingCapacity capacity: Int = 0) {
        frames = RecordIOFrameWriter(name: name, reservingCapacity: capacity)
    }

    /// The framed stream so far.
    public var bytes: [UInt8] { frames.bytes }
    /// The framed stream so far, as `Data` (an HTTP response body).
    public var data: Data { Data(frames.bytes) }
    /// Records written so far.
    public var records: Int { frames.records }

    // MARK: Appending

    /// Appends one record with every map entry it holds.
    public mutating func append(_ record: RecordIOProtobufRecord) throws(DataError) {
        try frames.append(record.serializedBytes())
    }

    /// Appends one record per row of a dense matrix, with `labels[i]` as row `i`'s label.
    /// `labels`, when given, needs one value per row.
    public mutating func append(dense features: Matrix<Float>, labels: [Float]? = nil) throws(DataError) {
        try checkLabels(labels, rows: features.rows)
        var message = Aialgs_Data_Record()
        for i in 0..<features.rows {
            var tensor = Aialgs_Data_Float32Tensor()
            tensor.values = features.row(i)
            message.features["values"] = value(tensor)
            if let labels { message.label["values"] = labelValue(labels[i]) }
            try frames.append(RecordIOProtobufRecord.serialize(message))
        }
    }

    /// Appends one record per row of a CSR matrix (`keys` = column indices, `shape = [columns]`),
    /// with `labels[i]` as row `i`'s label.
    public mutating func append(sparse features: SparseMatrix<Float>, labels: [Float]? = nil) throws(DataError) {
        try checkLabels(labels, rows: features.rows)
        var message = Aialgs_Data_Record()
        for i in 0..<features.rows {
            let range = features.rowOffsets[i]..<features.rowOffsets[i + 1]
            var tensor = Aialgs_Data_Float32Tensor()
            tensor.values = Array(features.values[range])
            tensor.keys = features.columnIndices[range].map { UInt64($0) }
            tensor.shape = [UInt64(features.columns)]
            message.features["values"] = value(tensor)
            if let labels { message.label["values"] = labelValue(labels[i]) }
            try frames.append(RecordIOProtobufRecord.serialize(message))
        }
    }

    /// Appends a batch's rows (dense or sparse) with its first label column, if any.
    public mutating func append(_ batch: Batch) throws(DataError) {
        switch batch.features {
        case .dense(let m): try append(dense: m, labels: batch.labelVector)
        case .sparse(let s): try append(sparse: s, labels: batch.labelVector)
        }
    }

    // MARK: Output

    /// Writes the stream to `path` atomically.
    public func write(to path: String) throws(DataError) {
        do {
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw .io(path: path, reason: error.localizedDescription)
        }
    }

    /// The RecordIO-protobuf bytes of a batch (see `append(_: Batch)`).
    public static func encode(_ batch: Batch) throws(DataError) -> [UInt8] {
        var writer = RecordIOProtobufWriter()
        try writer.append(batch)
        return writer.bytes
    }

    /// The RecordIO-protobuf bytes of `records`.
    public static func encode(_ records: [RecordIOProtobufRecord]) throws(DataError) -> [UInt8] {
        var writer = RecordIOProtobufWriter()
        for record in records { try writer.append(record) }
        return writer.bytes
    }

    /// Writes a batch to `path` atomically.
    public static func write(_ batch: Batch, to path: String) throws(DataError) {
        var writer = RecordIOProtobufWriter(name: path)
        try writer.append(batch)
        try writer.write(to: path)
    }

    // MARK: Helpers

    private func checkLabels(_ labels: [Float]?, rows: Int) throws(DataError) {
        guard let labels, labels.count != rows else { return }
        throw .unsupported(DataLocation(file: frames.name),
                           reason: "\(labels.count) labels for \(rows) rows; give one label per row (or none)")
    }

    private func value(_ tensor: Aialgs_Data_Float32Tensor) -> Aialgs_Data_Value {
        var v = Aialgs_Data_Value()
        v.value = .float32Tensor(tensor)
        return v
    }

    private func labelValue(_ label: Float) -> Aialgs_Data_Value {
        var tensor = Aialgs_Data_Float32Tensor()
        tensor.values = [label]
        return value(tensor)
    }
}

import MLCore

/// One named output of a prediction, as responses carry it: linear learner's `score` and
/// `predicted_label`, k-means' `closest_cluster` and `distance_to_cluster`, PCA's `projection`.
public struct PredictionField {
    public var name: String
    /// Values per row.
    public var width: Int
    /// Written as a JSON list even when `width` is 1 (a multiclass score is always a list).
    public var isList: Bool
    /// Written as an integer in JSON and CSV (labels, cluster ids); RecordIO carries float32.
    public var isInteger: Bool
    /// rows × `width` values, row-major; valid for the duration of the encoding call.
    public var values: UnsafePointer<Float>
    /// In CSV, a list field is one quoted cell `"[0.1, 0.9]"` (SageMaker XGBoost's selectable
    /// outputs) rather than `width` cells.
    public var csvQuotedList: Bool

    public init(name: String, width: Int, isList: Bool, isInteger: Bool = false, csvQuotedList: Bool = false, values: UnsafePointer<Float>) {
        self.name = name
        self.width = width
        self.isList = isList
        self.isInteger = isInteger
        self.csvQuotedList = csvQuotedList
        self.values = values
    }
}

/// Writes predictions in each response format (reference §2.5, §3.5): JSON
/// `{"predictions": [{…}, …]}`, JSON Lines (one object per row), CSV (one line per row, the
/// fields' values in order — SageMaker does not document CSV output; this is our choice), and
/// RecordIO-protobuf (one `Record` per row, each field a float32 tensor in `label`, `features`
/// empty). Appends to `out`, which callers reuse, so a one-row response allocates nothing else.
public enum PredictionEncoder {
    /// `listKey` names the JSON response's list: `predictions`, except PCA's `projections` (reference §4.2).
    public static func encode(rows: Int, fields: [PredictionField], as format: ResponseFormat, into out: inout [UInt8],
                              listKey: String = "predictions") throws(InvocationFailure) {
        switch format {
        case .json:
            append("{\"\(listKey)\": [", to: &out)
            for i in 0..<rows {
                if i > 0 { append(", ", to: &out) }
                object(row: i, fields: fields, into: &out)
            }
            append("]}", to: &out)
        case .jsonLines:
            for i in 0..<rows {
                object(row: i, fields: fields, into: &out)
                out.append(0x0A)
            }
        case .csv:
            for i in 0..<rows {
                var first = true
                for field in fields {
                    if field.csvQuotedList && field.isList {
                        if !first { out.append(0x2C) }
                        first = false
                        append("\"[", to: &out)
                        for j in 0..<field.width {
                            if j > 0 { append(", ", to: &out) }
                            number(field.values[i * field.width + j], integer: field.isInteger, json: false, into: &out)
                        }
                        append("]\"", to: &out)
                        continue
                    }
                    for j in 0..<field.width {
                        if !first { out.append(0x2C) }
                        first = false
                        number(field.values[i * field.width + j], integer: field.isInteger, json: false, into: &out)
                    }
                }
                out.append(0x0A)
            }
        case .recordIOProtobuf:
            var writer = RecordIOProtobufWriter(name: "response", reservingCapacity: rows * 64)
            do {
                for i in 0..<rows {
                    var label: [String: RecordIOValue] = [:]
                    for field in fields {
                        let start = field.values + i * field.width
                        label[field.name] = .dense(Array(UnsafeBufferPointer(start: start, count: field.width)))
                    }
                    try writer.append(RecordIOProtobufRecord(label: label))
                }
            } catch {
                // invariant: encoding float32 tensors cannot fail short of a record over 512 MiB
                throw InvocationFailure(500, "encoding the RecordIO-protobuf response failed: \(error)")
            }
            out.append(contentsOf: writer.bytes)
        }
    }

    /// `{"score": 0.4, "predicted_label": 0}`.
    private static func object(row i: Int, fields: [PredictionField], into out: inout [UInt8]) {
        out.append(0x7B)
        for (n, field) in fields.enumerated() {
            if n > 0 { append(", ", to: &out) }
            out.append(0x22)
            append(field.name, to: &out)
            append("\": ", to: &out)
            if field.isList || field.width != 1 {
                out.append(0x5B)
                for j in 0..<field.width {
                    if j > 0 { append(", ", to: &out) }
                    number(field.values[i * field.width + j], integer: field.isInteger, json: true, into: &out)
                }
                out.append(0x5D)
            } else {
                number(field.values[i], integer: field.isInteger, json: true, into: &out)
            }
        }
        out.append(0x7D)
    }

    /// The shortest text that reads back as the same Float (`0.4`, `1e-05`); integers without a
    /// fraction; a non-finite value as `null` in JSON (which has no NaN) and `nan`/`inf` in CSV.
    @inline(__always)
    static func number(_ value: Float, integer: Bool, json: Bool, into out: inout [UInt8]) {
        guard value.isFinite else {
            append(json ? "null" : (value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf")), to: &out)
            return
        }
        if integer, let exact = Int(exactly: value) {
            append(exact.description, to: &out)
        } else {
            // Float's description is at most 15 bytes here: a small string, no heap allocation.
            append(value.description, to: &out)
        }
    }

    @inline(__always)
    static func append(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { out.append(contentsOf: $0) }
    }
}

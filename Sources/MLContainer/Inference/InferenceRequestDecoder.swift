import Foundation
import MLCore

/// Turns request bodies into rows of exactly the model's feature count (reference §2.5). Every
/// problem is a 400 that says what and where: the row (1-based), the column, the offending text,
/// and both counts when a row's length differs from the model's — one column too few is never
/// padded.
public enum InferenceRequestDecoder {
    // MARK: CSV

    /// The number of rows of a CSV body: its lines that hold anything but spaces and `\r`.
    public static func csvRowCount(_ body: UnsafeBufferPointer<UInt8>) -> Int {
        var rows = 0, content = false
        for byte in body {
            if byte == 0x0A {
                if content { rows += 1 }
                content = false
            } else if byte != 0x20 && byte != 0x0D && byte != 0x09 {
                content = true
            }
        }
        return content ? rows + 1 : rows
    }

    /// Parses a CSV body into `x` (room for ``csvRowCount(_:)`` × `features` values): one row
    /// per non-blank line, the first `labelSize` columns dropped (a `label_size` parameter on the
    /// content type; 0 by default: inference rows carry no label).
    /// `missingAllowed` (trees): an empty field or `nan` is a missing value (NaN), as XGBoost reads CSV.
    public static func parseCSV(_ body: UnsafeBufferPointer<UInt8>, features: Int, labelSize: Int, missingAllowed: Bool = false,
                                into x: UnsafeMutablePointer<Float>) throws(InvocationFailure) {
        guard let base = body.baseAddress else { return }
        let end = base + body.count
        var line = base, row = 0
        let columns = features + labelSize
        while line < end {
            var lineEnd = line
            while lineEnd < end && lineEnd.pointee != 0x0A { lineEnd += 1 }
            var contentEnd = lineEnd
            while contentEnd > line && (contentEnd - 1).pointee == 0x0D { contentEnd -= 1 }
            if !isBlank(line, contentEnd) {
                // The first line may start with a UTF-8 byte-order mark.
                var p = line
                if row == 0, contentEnd - p >= 3, p[0] == 0xEF, p[1] == 0xBB, p[2] == 0xBF { p += 3 }
                var column = 0
                let out = x + row * features
                while true {
                    let (field, value, stop) = DecimalParser.scanFloat(p, contentEnd, stopAt: 0x2C)
                    if column < columns {
                        switch field {
                        case .value where value.isFinite:
                            if column >= labelSize { out[column - labelSize] = value }
                        case .value where missingAllowed && value.isNaN, .empty where missingAllowed:
                            if column >= labelSize { out[column - labelSize] = .nan }
                        case .value, .invalid:
                            var fieldEnd = p
                            while fieldEnd < contentEnd && fieldEnd.pointee != 0x2C { fieldEnd += 1 }
                            let text = String(decoding: UnsafeBufferPointer(start: p, count: fieldEnd - p), as: UTF8.self)
                            throw InvocationFailure(400, "CSV row \(row + 1), column \(column + 1): '\(text.prefix(40))' is not a finite number")
                        case .empty:
                            throw InvocationFailure(400, "CSV row \(row + 1), column \(column + 1) is empty: every feature needs a value")
                        }
                    }
                    guard stop < contentEnd, stop.pointee == 0x2C else {
                        if stop < contentEnd {
                            let text = String(decoding: UnsafeBufferPointer(start: p, count: contentEnd - p), as: UTF8.self)
                            throw InvocationFailure(400, "CSV row \(row + 1), column \(column + 1): '\(text.prefix(40))' is not a finite number")
                        }
                        break
                    }
                    column += 1
                    p = stop + 1
                }
                let found = column + 1
                guard found == columns else {
                    let label = labelSize > 0 ? " (\(labelSize) label column\(labelSize == 1 ? "" : "s") + \(features) features)" : ""
                    throw InvocationFailure(400, "CSV row \(row + 1) has \(found) columns but the model takes \(columns)\(label)")
                }
                row += 1
            }
            line = lineEnd + 1
        }
    }

    private static func isBlank(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> Bool {
        var p = start
        while p < end {
            if p.pointee != 0x20 && p.pointee != 0x09 { return false }
            p += 1
        }
        return true
    }

    /// Parses a `text/libsvm` body: one row per non-blank line, `[label] index:value …` (a
    /// leading token without `:` is a label and ignored). Indices are 0-based; when every index
    /// of the request is ≥ 1 they are taken as 1-based and shifted, as SageMaker's XGBoost
    /// container does. An index at or beyond `features` is a 400.
    public static func decodeLibSVM(_ body: [UInt8], features: Int) throws(InvocationFailure) -> SparseMatrix<Float> {
        var rows: [[(Int, Float)]] = []
        var smallest = Int.max
        var lineNumber = 0
        for line in body.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNumber += 1
            let tokens = line.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D })
            if tokens.isEmpty { continue }
            var entries: [(Int, Float)] = []
            for (t, token) in tokens.enumerated() {
                guard let colon = token.firstIndex(of: 0x3A) else {
                    if t == 0 { continue } // the label
                    throw InvocationFailure(400, "libsvm line \(lineNumber): '\(String(decoding: token.prefix(40), as: UTF8.self))' is not index:value")
                }
                let indexText = String(decoding: token[token.startIndex..<colon], as: UTF8.self)
                let valueText = String(decoding: token[token.index(after: colon)...], as: UTF8.self)
                guard let index = Int(indexText), index >= 0, let value = Float(valueText) else {
                    throw InvocationFailure(400, "libsvm line \(lineNumber): '\(String(decoding: token.prefix(40), as: UTF8.self))' is not index:value with a whole index ≥ 0 and a number")
                }
                smallest = min(smallest, index)
                entries.append((index, value))
            }
            rows.append(entries)
        }
        let shift = smallest != Int.max && smallest >= 1 ? 1 : 0
        var matrix = SparseMatrix<Float>(columns: features)
        for (r, entries) in rows.enumerated() {
            let sorted = entries.map { ($0.0 - shift, $0.1) }.sorted { $0.0 < $1.0 }
            if let last = sorted.last, last.0 >= features {
                throw InvocationFailure(400, "libsvm row \(r + 1) has feature index \(last.0 + shift) but the model takes \(features) features")
            }
            matrix.appendRow(indices: sorted.map { Int32($0.0) }, values: sorted.map(\.1))
        }
        return matrix
    }

    /// The `label_size` parameter of a CSV content type (default 0).
    public static func csvLabelSize(_ media: MediaType) throws(InvocationFailure) -> Int {
        guard let text = media.parameters["label_size"] else { return 0 }
        guard let value = Int(text), (0...1000).contains(value) else {
            throw InvocationFailure(415, "Content-Type parameter label_size='\(text)' is invalid: expected an integer in [0, 1000]")
        }
        return value
    }

    // MARK: JSON and JSON Lines

    /// `{"instances": [{"features": [...]}, {"data": {"features": {"values", "keys", "shape"}}}]}`;
    /// also, for clients that send arrays (the SDK's `JSONSerializer` on a NumPy array), a list
    /// of rows or one flat row.
    public static func decodeJSON(_ body: [UInt8], features: Int) throws(InvocationFailure) -> Features {
        let object = try jsonObject(body, what: "the JSON body")
        var builder = RowBuilder(features: features)
        if let dictionary = object as? [String: Any] {
            guard let instances = dictionary["instances"] else {
                throw InvocationFailure(400, "the JSON body has no \"instances\" list (expected {\"instances\": [{\"features\": [...]}, ...]})")
            }
            guard let list = instances as? [Any] else { throw InvocationFailure(400, "\"instances\" is not a list") }
            for (i, instance) in list.enumerated() { try builder.add(instance: instance, where: "instance \(i + 1)") }
        } else if let list = object as? [Any] {
            if list.allSatisfy({ $0 is [Any] }) {
                for (i, row) in list.enumerated() { try builder.add(instance: row, where: "row \(i + 1)") }
            } else {
                try builder.add(instance: list, where: "row 1")
            }
        } else {
            throw InvocationFailure(400, "the JSON body is neither an object with \"instances\" nor a list of rows")
        }
        return try builder.rows()
    }

    /// One JSON object (or array) per non-blank line, each one instance.
    public static func decodeJSONLines(_ body: [UInt8], features: Int) throws(InvocationFailure) -> Features {
        var builder = RowBuilder(features: features)
        var start = 0, line = 0
        while start < body.count {
            var end = start
            while end < body.count && body[end] != 0x0A { end += 1 }
            line += 1
            let slice = body[start..<end]
            if slice.contains(where: { $0 != 0x20 && $0 != 0x0D && $0 != 0x09 }) {
                let object = try jsonObject(Array(slice), what: "JSON Lines line \(line)")
                try builder.add(instance: object, where: "line \(line)")
            }
            start = end + 1
        }
        return try builder.rows()
    }

    private static func jsonObject(_ bytes: [UInt8], what: String) throws(InvocationFailure) -> Any {
        try checkJSONNesting(bytes, what: what)
        do {
            return try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        } catch {
            let reason = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? error.localizedDescription
            throw InvocationFailure(400, "\(what) is not valid JSON: \(reason)")
        }
    }

    /// Collects dense and sparse instances; any sparse one makes the result sparse.
    private struct RowBuilder {
        let features: Int
        var offsets = [0]
        var columns: [Int32] = []
        var values: [Float] = []
        var dense: [Float] = []
        var isSparse = false
        var count = 0

        init(features: Int) { self.features = features }

        mutating func add(instance: Any, where place: String) throws(InvocationFailure) {
            if let list = instance as? [Any] {
                try addDense(list, where: place)
                return
            }
            guard let object = instance as? [String: Any] else {
                throw InvocationFailure(400, "\(place) is not an object with \"features\" or \"data\"")
            }
            if let list = object["features"] {
                guard let list = list as? [Any] else { throw InvocationFailure(400, "\(place): \"features\" is not a list of numbers") }
                try addDense(list, where: place)
            } else if let data = object["data"] as? [String: Any], let tensor = data["features"] as? [String: Any] {
                guard let rawValues = tensor["values"] as? [Any] else {
                    throw InvocationFailure(400, "\(place): data.features has no \"values\" list")
                }
                if let shape = tensor["shape"] {
                    guard let shape = shape as? [Any], shape.count == 1, let width = (shape[0] as? NSNumber)?.intValue else {
                        throw InvocationFailure(400, "\(place): data.features.shape must be [feature count]")
                    }
                    guard width == features else {
                        throw InvocationFailure(400, "\(place): data.features.shape is [\(width)] but the model takes \(features) features")
                    }
                }
                if let rawKeys = tensor["keys"] {
                    guard let keys = rawKeys as? [Any] else { throw InvocationFailure(400, "\(place): data.features.keys is not a list") }
                    try addSparse(keys: keys, values: rawValues, where: place)
                } else {
                    try addDense(rawValues, where: place)
                }
            } else {
                throw InvocationFailure(400, "\(place) has neither \"features\" nor \"data\": {\"features\": {...}}")
            }
        }

        /// A JSON number (`true` and `false` are NSNumbers too; their type code is `c`).
        private func number(_ item: Any) -> NSNumber? {
            guard let n = item as? NSNumber, String(cString: n.objCType) != "c" else { return nil }
            return n
        }

        private func number(_ item: Any, _ place: String, _ index: Int) throws(InvocationFailure) -> Float {
            guard let n = number(item), n.doubleValue.isFinite else {
                throw InvocationFailure(400, "\(place), feature \(index + 1): \(String(describing: item).prefix(40)) is not a finite number")
            }
            return n.floatValue
        }

        private mutating func addDense(_ list: [Any], where place: String) throws(InvocationFailure) {
            guard list.count == features else {
                throw InvocationFailure(400, "\(place) has \(list.count) features but the model takes \(features)")
            }
            if isSparse {
                for (j, item) in list.enumerated() {
                    let v = try number(item, place, j)
                    if v != 0 { columns.append(Int32(j)); values.append(v) }
                }
                offsets.append(columns.count)
            } else {
                for (j, item) in list.enumerated() { dense.append(try number(item, place, j)) }
            }
            count += 1
        }

        private mutating func addSparse(keys: [Any], values raw: [Any], where place: String) throws(InvocationFailure) {
            guard keys.count == raw.count else {
                throw InvocationFailure(400, "\(place): data.features has \(keys.count) keys but \(raw.count) values")
            }
            if !isSparse { convertToSparse() }
            var previous = -1
            for (n, key) in keys.enumerated() {
                guard let index = number(key), Double(index.intValue) == index.doubleValue, case let k = index.intValue, k > previous, k < features else {
                    throw InvocationFailure(400, "\(place): key \(String(describing: key).prefix(20)) must be an integer index in [0, \(features)), increasing")
                }
                previous = k
                columns.append(Int32(k))
                values.append(try number(raw[n], place, k))
            }
            offsets.append(columns.count)
            count += 1
        }

        private mutating func convertToSparse() {
            isSparse = true
            for i in 0..<count {
                for j in 0..<features where dense[i * features + j] != 0 {
                    columns.append(Int32(j))
                    values.append(dense[i * features + j])
                }
                offsets.append(columns.count)
            }
            dense = []
        }

        func rows() throws(InvocationFailure) -> Features {
            do {
                if isSparse {
                    return .sparse(try SparseMatrix(rows: count, columns: features, rowOffsets: offsets, columnIndices: columns, values: values))
                }
                return .dense(try Matrix(rows: count, columns: features, elements: dense))
            } catch {
                // invariant: the builder checked every row's length and every key's range
                throw InvocationFailure(500, "building the request rows failed: \(error)")
            }
        }
    }

    // MARK: RecordIO-protobuf and NPY

    /// RecordIO-protobuf records, dense or sparse `features["values"]` (labels ignored).
    public static func decodeRecordIO(_ body: [UInt8], features: Int) throws(InvocationFailure) -> Features {
        let batch: Batch
        do {
            batch = try RecordIOProtobufReader.decode(body, name: "request")
        } catch {
            throw InvocationFailure(400, "the RecordIO-protobuf body is invalid: \(error)")
        }
        switch batch.features {
        case .dense(let m):
            guard m.columns == features else {
                throw InvocationFailure(400, "the records have \(m.columns) features but the model takes \(features)")
            }
            return .dense(m)
        case .sparse(let s):
            guard s.columns <= features else {
                throw InvocationFailure(400, "the records have \(s.columns) features (their shape or largest key) but the model takes \(features)")
            }
            if s.columns == features { return .sparse(s) }
            do {
                return .sparse(try SparseMatrix(rows: s.rows, columns: features, rowOffsets: s.rowOffsets, columnIndices: s.columnIndices, values: s.values))
            } catch {
                throw InvocationFailure(400, "the sparse records do not fit \(features) features: \(error)")
            }
        }
    }

    /// One or more `.npy` arrays back to back: 2-D rows × features, or 1-D (one row).
    public static func decodeNPY(_ body: [UInt8], features: Int) throws(InvocationFailure) -> Features {
        let arrays: [(matrix: Matrix<Float>, shape: [Int])]
        do {
            arrays = try NPYReader<Float>.decodeConcatenated(body, name: "request")
        } catch {
            throw InvocationFailure(400, "the NPY body is invalid: \(error)")
        }
        var elements: [Float] = []
        var rows = 0
        for (index, array) in arrays.enumerated() {
            let isRow = array.shape.count == 1
            let width = isRow ? array.matrix.rows : array.matrix.columns
            guard width == features, array.shape.count <= 2 else {
                throw InvocationFailure(400, "NPY array \(index + 1) has shape \(array.shape) but the model takes rows of \(features) features")
            }
            elements.append(contentsOf: array.matrix.elements)
            rows += isRow ? 1 : array.matrix.rows
        }
        if let bad = elements.firstIndex(where: { !$0.isFinite }) {
            throw InvocationFailure(400, "NPY row \(bad / features + 1), column \(bad % features + 1) is not a finite number")
        }
        do {
            return .dense(try Matrix(rows: rows, columns: features, elements: elements))
        } catch {
            throw InvocationFailure(500, "building the request rows failed: \(error)")
        }
    }
}

/// Checks made on a request body before any parsing work is spent on it, so that nothing a
/// request sends can make the server allocate far beyond the body's own size or recurse without
/// bound (docs/reliability.md "Server under load"). The body itself is already within the
/// payload limit (`SAGEMAKER_MAX_PAYLOAD_IN_MB`), enforced while it is read.
extension InferenceRequestDecoder {
    /// The deepest JSON nesting a request may have. SageMaker's deepest request shape,
    /// `{"instances": [{"data": {"features": {"values": [...]}}}]}`, nests 5 levels.
    public static let maximumJSONNesting = 64

    /// Throws a 400 when the JSON text in `body` nests arrays and objects deeper than
    /// ``maximumJSONNesting``: one pass over the bytes, skipping strings, before a parser (which
    /// recurses per level) sees them.
    public static func checkJSONNesting(_ body: some Collection<UInt8>, what: String) throws(InvocationFailure) {
        var depth = 0, inString = false, escaped = false, offset = 0
        for byte in body {
            defer { offset += 1 }
            if inString {
                if escaped { escaped = false } else if byte == 0x5C { escaped = true } else if byte == 0x22 { inString = false }
                continue
            }
            switch byte {
            case 0x22: inString = true
            case 0x5B, 0x7B:
                depth += 1
                if depth > maximumJSONNesting {
                    throw InvocationFailure(400, "\(what) nests arrays and objects more than \(maximumJSONNesting) levels deep "
                                            + "(at byte \(offset + 1)); a request nests at most 5: {\"instances\": [{\"data\": {\"features\": {\"values\": [...]}}}]}")
                }
            case 0x5D, 0x7D: depth = max(0, depth - 1)
            default: break
            }
        }
    }

    /// Throws a 400 naming the first row whose column count is not `columns` when `rows` rows
    /// of `columns` fields could not fit in the body. The CSV path sizes its float buffer as
    /// rows × features before it parses; a row of `columns` fields takes at least `columns`
    /// bytes (its commas and a newline), so a body that passes holds a buffer of at most four
    /// bytes per body byte — and a body of short rows (6 MB of `1\n` would otherwise size a
    /// buffer of 3 million rows × the model's features) is refused without one.
    public static func checkCSVRowCount(_ body: UnsafeBufferPointer<UInt8>, rows: Int, columns: Int, labelSize: Int) throws(InvocationFailure) {
        let (product, overflow) = rows.multipliedReportingOverflow(by: max(1, columns))
        guard overflow || product > body.count + 1 else { return }
        // Find the first short (or long) row, as the parser would report it.
        var row = 0, fields = 1, content = false
        func finish() throws(InvocationFailure) {
            if content {
                row += 1
                if fields != columns {
                    let label = labelSize > 0 ? " (\(labelSize) label column\(labelSize == 1 ? "" : "s") + \(columns - labelSize) features)" : ""
                    throw InvocationFailure(400, "CSV row \(row) has \(fields) columns but the model takes \(columns)\(label)")
                }
            }
            fields = 1
            content = false
        }
        for byte in body {
            switch byte {
            case 0x0A: try finish()
            case 0x2C:
                fields += 1
                content = true
            case 0x20, 0x0D, 0x09: break
            default: content = true
            }
        }
        try finish()
        throw InvocationFailure(400, "the CSV body has \(rows) rows in \(body.count) bytes, too few for rows of \(columns) columns")
    }
}

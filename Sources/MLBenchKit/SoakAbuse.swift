import Foundation

/// The kinds of bad traffic `mlbench soak` sends, and what the server may answer to each. Every
/// kind has an allowed set of outcomes; anything else is reported as unexpected (and fails the
/// soak), so a kind that once got a clear 4xx and starts being dropped on the floor is noticed.
struct SoakAbuse: Sendable {
    /// The kind's name in the report (`malformed_csv`, `oversized_declared`).
    var name: String
    /// Outcomes that are a correct answer to it.
    var allowed: Set<SoakClient.Outcome>
    /// Performs one exchange against the server on `port`.
    var run: @Sendable (UInt16) -> SoakClient.Outcome

    /// Every kind, in the order the abuse thread cycles through them. `validRow` is one valid
    /// CSV row with its newline; `maxPayloadBytes` the server's body limit.
    static func all(validRow: [UInt8], maxPayloadBytes: Int) -> [SoakAbuse] {
        let tooLarge = maxPayloadBytes + (1 << 20)
        let closedOr = { (codes: [Int]) -> Set<SoakClient.Outcome> in Set(codes.map { .status($0) } + [.closed]) }
        return [
            SoakAbuse(name: "malformed_csv", allowed: [.status(400)]) { port in
                SoakClient.exchange(port: port, SoakClient.post(port: port, contentType: "text/csv",
                                                               body: Array("1,2,abc,\u{0}\u{7f}\n".utf8)))
            },
            SoakAbuse(name: "wrong_column_count", allowed: [.status(400)]) { port in
                SoakClient.exchange(port: port, SoakClient.post(port: port, contentType: "text/csv", body: Array("1,2,3\n".utf8)))
            },
            SoakAbuse(name: "malformed_json", allowed: [.status(400)]) { port in
                SoakClient.exchange(port: port, SoakClient.post(port: port, contentType: "application/json",
                                                               body: Array(#"{"instances": [{"features": [1, 2,"#.utf8)))
            },
            // 200,000 nested arrays: a recursive parser without a depth limit would overflow its stack.
            SoakAbuse(name: "deep_json_nesting", allowed: [.status(400)]) { port in
                SoakClient.exchange(port: port, SoakClient.post(port: port, contentType: "application/json",
                                                               body: [UInt8](repeating: 0x5B, count: 200_000)))
            },
            // Two bytes a row, within the payload limit: a server that sizes its buffer from the row
            // count times the feature count before parsing would allocate gigabytes.
            SoakAbuse(name: "csv_row_amplification", allowed: [.status(400)]) { port in
                var body: [UInt8] = []
                body.reserveCapacity(maxPayloadBytes / 2)
                for _ in 0..<(maxPayloadBytes / 4) { body += [0x31, 0x0A] }
                return SoakClient.exchange(port: port, SoakClient.post(port: port, contentType: "text/csv", body: body))
            },
            SoakAbuse(name: "oversized_declared", allowed: closedOr([413])) { port in
                // The head declares more than the limit; only the first 64 KiB of the body follow.
                let head = SoakClient.head("POST", "/invocations", port: port,
                                           fields: ["Content-Type: text/csv", "Content-Length: \(tooLarge)"])
                return SoakClient.exchange(port: port, head + [UInt8](repeating: 0x31, count: 1 << 16))
            },
            SoakAbuse(name: "oversized_chunked", allowed: closedOr([413])) { port in
                // No length in the head: the server finds out while reading.
                var bytes = SoakClient.head("POST", "/invocations", port: port,
                                            fields: ["Content-Type: text/csv", "Transfer-Encoding: chunked"])
                let chunk = Array(String(1 << 20, radix: 16).utf8) + [0x0D, 0x0A] + [UInt8](repeating: 0x31, count: 1 << 20) + [0x0D, 0x0A]
                for _ in 0..<(tooLarge >> 20) { bytes += chunk }
                bytes += Array("0\r\n\r\n".utf8)
                return SoakClient.exchange(port: port, bytes)
            },
            SoakAbuse(name: "wrong_content_type", allowed: [.status(415)]) { port in
                SoakClient.exchange(port: port, SoakClient.post(port: port, contentType: "application/x-unknown", body: validRow))
            },
            SoakAbuse(name: "bad_content_length", allowed: closedOr([400])) { port in
                SoakClient.exchange(port: port, SoakClient.head("POST", "/invocations", port: port,
                                                               fields: ["Content-Type: text/csv", "Content-Length: -5"]) + validRow)
            },
            SoakAbuse(name: "huge_headers", allowed: closedOr([400, 431])) { port in
                let fields = (0..<16_384).map { "X-Filler-\($0): " + String(repeating: "a", count: 48) }
                return SoakClient.exchange(port: port, SoakClient.head("GET", "/ping", port: port, fields: fields))
            },
            SoakAbuse(name: "not_http", allowed: closedOr([400])) { port in
                SoakClient.exchange(port: port, Array("\u{16}\u{3}\u{1}\u{0}\u{a5}\u{1} hello? \r\n\r\n".utf8))
            },
            SoakAbuse(name: "wrong_method", allowed: [.status(405)]) { port in
                SoakClient.exchange(port: port, SoakClient.head("GET", "/invocations", port: port, fields: []))
            },
            SoakAbuse(name: "disconnect_mid_body", allowed: [.abandoned]) { port in
                let head = SoakClient.head("POST", "/invocations", port: port, fields: ["Content-Type: text/csv", "Content-Length: 100000"])
                return SoakClient.hangUp(port: port, after: head + [UInt8](repeating: 0x31, count: 10_000), reset: false)
            },
            SoakAbuse(name: "disconnect_before_response", allowed: [.abandoned]) { port in
                var body: [UInt8] = []
                for _ in 0..<1000 { body += validRow }
                return SoakClient.hangUp(port: port, after: SoakClient.post(port: port, contentType: "text/csv", body: body), reset: false)
            },
            SoakAbuse(name: "reset_mid_request", allowed: [.abandoned]) { port in
                let head = SoakClient.head("POST", "/invocations", port: port, fields: ["Content-Type: text/csv", "Content-Length: 50000"])
                return SoakClient.hangUp(port: port, after: head + Array(validRow.prefix(8)), reset: true)
            },
        ]
    }
}

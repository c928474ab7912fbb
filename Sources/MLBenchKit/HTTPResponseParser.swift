/// Incremental parser for one HTTP/1.1 response at a time: the status line, `Content-Length`,
/// `Transfer-Encoding: chunked` and `Connection: close` (HTTP/1.0 closes by default); a body with
/// neither length nor chunking runs to the end of the connection. Bytes arrive in any split;
/// malformed input is reported, never trapped on.
struct HTTPResponseParser {
    struct Response: Equatable {
        var status: Int
        var body: [UInt8]
        /// The server will close the connection after this response.
        var closes: Bool
    }

    enum Outcome: Equatable {
        case incomplete
        case complete(Response)
        case malformed(String)
    }

    private(set) var buffer: [UInt8] = []
    private var headerEnd: Int?
    private var status = 0
    private var contentLength: Int?
    private var chunked = false
    private var closes = false

    var isEmpty: Bool { buffer.isEmpty }

    mutating func reset() {
        buffer.removeAll(keepingCapacity: true)
        headerEnd = nil
        contentLength = nil
        chunked = false
        closes = false
        status = 0
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) { buffer.append(contentsOf: bytes) }

    /// The response so far; `atEnd` when the peer closed (a body without a length ends there).
    mutating func parse(atEnd: Bool = false) -> Outcome {
        if headerEnd == nil {
            guard let end = Self.find([13, 10, 13, 10], in: buffer, from: 0) else {
                return buffer.count > 65_536 ? .malformed("no end of headers in 64 KiB") : .incomplete
            }
            if let problem = parseHead(buffer[0..<end]) { return .malformed(problem) }
            headerEnd = end + 4
        }
        let start = headerEnd!  // set just above
        if status == 204 || status == 304 || (100..<200).contains(status) {
            return .complete(Response(status: status, body: [], closes: closes))
        }
        if chunked { return parseChunked(from: start) }
        if let length = contentLength {
            guard buffer.count - start >= length else { return .incomplete }
            return .complete(Response(status: status, body: Array(buffer[start..<(start + length)]), closes: closes))
        }
        return atEnd ? .complete(Response(status: status, body: Array(buffer[start...]), closes: true)) : .incomplete
    }

    private mutating func parseHead(_ head: ArraySlice<UInt8>) -> String? {
        let text = String(decoding: head, as: UTF8.self)
        let lines = text.split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusLine = lines.first.map(String.init) ?? ""
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let code = Int(parts[1]), (100...999).contains(code) else {
            return "bad status line '\(statusLine.prefix(80))'"
        }
        status = code
        closes = parts[0] == "HTTP/1.0"
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces).lowercased()
            switch name {
            case "content-length":
                guard let n = Int(value), n >= 0 else { return "bad Content-Length '\(value)'" }
                contentLength = n
            case "transfer-encoding": chunked = value.contains("chunked")
            case "connection":
                if value.contains("close") { closes = true } else if value.contains("keep-alive") { closes = false }
            default: break
            }
        }
        return nil
    }

    private func parseChunked(from start: Int) -> Outcome {
        var body: [UInt8] = []
        var at = start
        while true {
            guard let lineEnd = Self.find([13, 10], in: buffer, from: at) else { return .incomplete }
            let sizeText = String(decoding: buffer[at..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else {
                return .malformed("bad chunk size '\(sizeText.prefix(20))'")
            }
            at = lineEnd + 2
            if size == 0 {
                // Trailers (none expected) end with an empty line.
                guard let end = Self.find([13, 10, 13, 10], in: buffer, from: at - 2) else { return .incomplete }
                _ = end
                return .complete(Response(status: status, body: body, closes: closes))
            }
            guard buffer.count >= at + size + 2 else { return .incomplete }
            body.append(contentsOf: buffer[at..<(at + size)])
            at += size + 2
        }
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard haystack.count >= needle.count, from <= haystack.count - needle.count else { return nil }
        var i = max(0, from)
        while i <= haystack.count - needle.count {
            if haystack[i] == needle[0] {
                var j = 1
                while j < needle.count && haystack[i + j] == needle[j] { j += 1 }
                if j == needle.count { return i }
            }
            i += 1
        }
        return nil
    }
}

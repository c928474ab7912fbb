import Dispatch
import Foundation
import MLCore
import Synchronization

/// Scores a file the way SageMaker batch transform does (reference §2.3): the input is split
/// into requests of at most `maxPayloadBytes` — at line ends for CSV and JSON Lines
/// (`SplitType=Line`), at record boundaries for RecordIO-protobuf (`SplitType=RecordIO`), not at
/// all for JSON and NPY (`SplitType=None`: the file is one request) — each request goes through
/// the same ``InvocationHandler`` the server uses, and the responses are written in order to
/// one output file. Memory stays bounded by `workers` requests in flight, whatever the file size.
///
/// Responses are joined as `AssembleWith=Line` does for JSON (a newline after each response);
/// CSV, JSON Lines and RecordIO responses are simply concatenated (they already end at a record
/// boundary).
public struct BatchTransform: Sendable {
    public enum SplitType: String, Sendable {
        case line = "Line", recordIO = "RecordIO", none = "None"
    }

    public let handler: any InvocationHandler
    public var contentType: String
    public var accept: String?
    public var maxPayloadBytes: Int
    public var workers: Int

    public init(handler: any InvocationHandler, contentType: String, accept: String?, maxPayloadBytes: Int = 6 << 20, workers: Int = 1) {
        self.handler = handler
        self.contentType = contentType
        self.accept = accept
        self.maxPayloadBytes = max(1, maxPayloadBytes)
        self.workers = max(1, workers)
    }

    /// What one file's transform did.
    public struct Statistics: Sendable, Equatable {
        public var inputBytes = 0
        public var outputBytes = 0
        public var requests = 0

        public init() {}
    }

    /// How `contentType` is split.
    public var splitType: SplitType {
        let essence = (try? MediaType(parsing: contentType))?.essence ?? ""
        // MXNet image RecordIO (the image classifier's batches) splits on the same framing.
        if essence == "application/x-recordio" { return .recordIO }
        return switch RequestFormat(essence: essence) {
        case .csv, .jsonLines, .libsvm: SplitType.line
        case .recordIOProtobuf: SplitType.recordIO
        default: SplitType.none
        }
    }

    /// Transforms `input` into `output` (written atomically: a temporary file renamed at the end).
    /// `progress` receives the input bytes consumed so far and the file's size.
    public func run(input: String, output: String, progress: @Sendable (Int, Int) -> Void = { _, _ in }) throws(ContainerError) -> Statistics {
        let size = (try? FileManager.default.attributesOfItem(atPath: input)[.size] as? Int) ?? 0
        var chunks = try ChunkSource(path: input, split: splitType, limit: maxPayloadBytes)
        let temporary = output + ".partial-\(ProcessInfo.processInfo.processIdentifier)"
        guard FileManager.default.createFile(atPath: temporary, contents: nil), let sink = FileHandle(forWritingAtPath: temporary) else {
            throw .client("cannot create \(temporary)")
        }
        var statistics = Statistics()
        do {
            defer { try? sink.close() }
            while true {
                // Up to `workers` requests at once, answered in parallel, written in order.
                var window: [(bytes: [UInt8], firstByte: Int)] = []
                while window.count < workers, let chunk = try chunks.next() { window.append(chunk) }
                if window.isEmpty { break }
                let responses = answer(window.map(\.bytes))
                for (n, response) in responses.enumerated() {
                    statistics.requests += 1
                    statistics.inputBytes += window[n].bytes.count
                    switch response.status {
                    case 200:
                        try write(response.body, to: sink, path: temporary)
                        if splitType == .none || response.contentType == ResponseFormat.json.rawValue { try write([0x0A], to: sink, path: temporary) }
                        statistics.outputBytes += response.body.count
                    case 204:
                        continue
                    default:
                        let message = String(decoding: response.body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                        throw ContainerError.client("\(input), request \(statistics.requests) (from byte \(window[n].firstByte)): HTTP \(response.status): \(message)")
                    }
                }
                progress(chunks.consumed, size)
            }
        } catch let error as ContainerError {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw .client("\(input): \(error)")
        }
        do {
            if FileManager.default.fileExists(atPath: output) { try FileManager.default.removeItem(atPath: output) }
            try FileManager.default.moveItem(atPath: temporary, toPath: output)
        } catch {
            throw .client("cannot write \(output): \(error.localizedDescription)")
        }
        return statistics
    }

    private func answer(_ bodies: [[UInt8]]) -> [InvocationResponse] {
        let handler = self.handler, contentType = self.contentType, accept = self.accept
        if bodies.count == 1 {
            return [handler.invoke(InvocationRequest(contentType: contentType, accept: accept, body: bodies[0]))]
        }
        let results = Mutex([InvocationResponse?](repeating: nil, count: bodies.count))
        DispatchQueue.concurrentPerform(iterations: bodies.count) { i in
            let response = handler.invoke(InvocationRequest(contentType: contentType, accept: accept, body: bodies[i]))
            results.withLock { $0[i] = response }
        }
        // invariant: concurrentPerform ran every iteration
        return results.withLock { $0.map { $0! } }
    }

    private func write(_ bytes: [UInt8], to sink: FileHandle, path: String) throws(ContainerError) {
        do {
            try sink.write(contentsOf: bytes)
        } catch {
            throw .client("cannot write \(path): \(error.localizedDescription)")
        }
    }
}

/// Reads a file as requests of at most `limit` bytes, split as ``BatchTransform/SplitType`` says.
struct ChunkSource {
    let path: String
    let split: BatchTransform.SplitType
    let limit: Int
    private var handle: FileHandle?
    private var frames: RecordIOFrameReader?
    private var carry: [UInt8] = []
    private var pendingRecord: [UInt8]?
    private var atEnd = false
    /// Input bytes handed out so far.
    private(set) var consumed = 0

    init(path: String, split: BatchTransform.SplitType, limit: Int) throws(ContainerError) {
        self.path = path
        self.split = split
        self.limit = limit
        if split == .recordIO {
            do {
                frames = try RecordIOFrameReader(path: path)
            } catch {
                throw .client("\(error)")
            }
        } else {
            guard let handle = FileHandle(forReadingAtPath: path) else { throw .client("cannot read \(path)") }
            self.handle = handle
        }
    }

    /// The next request body and the input offset it starts at, or nil at the end.
    mutating func next() throws(ContainerError) -> (bytes: [UInt8], firstByte: Int)? {
        let first = consumed
        let bytes: [UInt8]?
        switch split {
        case .none: bytes = try whole()
        case .line: bytes = try lines()
        case .recordIO: bytes = try records()
        }
        guard let bytes else { return nil }
        consumed += bytes.count
        return (bytes, first)
    }

    private mutating func read(upTo count: Int) throws(ContainerError) -> [UInt8] {
        do {
            // invariant: a non-recordIO source always has a handle
            return Array(try handle!.read(upToCount: count) ?? Data())
        } catch {
            throw .client("cannot read \(path): \(error.localizedDescription)")
        }
    }

    /// The whole file as one request (`SplitType=None`), never more than `limit` bytes held: a
    /// larger file is refused as SageMaker's agent would refuse to send it (the request would
    /// be over MaxPayloadInMB), after reading at most one byte past the limit.
    private mutating func whole() throws(ContainerError) -> [UInt8]? {
        guard !atEnd else { return nil }
        atEnd = true
        var all: [UInt8] = []
        while all.count <= limit {
            let part = try read(upTo: min(1 << 20, limit + 1 - all.count))
            if part.isEmpty { break }
            all += part
        }
        if all.count > limit {
            throw .client("\(path) is larger than the \(limit)-byte payload limit, and a JSON or NPY file is sent whole (SplitType=None): split it into smaller files, or raise SAGEMAKER_MAX_PAYLOAD_IN_MB")
        }
        return all.isEmpty ? nil : all
    }

    /// Whole lines, as many as fit in `limit` bytes; a single longer line is an error, as batch
    /// transform would fail on it.
    private mutating func lines() throws(ContainerError) -> [UInt8]? {
        while carry.count < limit && !atEnd {
            let part = try read(upTo: limit - carry.count)
            if part.isEmpty { atEnd = true } else { carry += part }
        }
        if carry.isEmpty { return nil }
        if atEnd && carry.count <= limit {
            defer { carry = [] }
            return carry
        }
        guard let lastNewline = carry[..<min(carry.count, limit)].lastIndex(of: 0x0A) else {
            throw .client("\(path): a line starting at byte \(consumed) is longer than the \(limit >> 20) MB payload limit")
        }
        let chunk = Array(carry[...lastNewline])
        carry.removeFirst(lastNewline + 1)
        return chunk
    }

    /// Whole records, re-framed, as many as fit in `limit` bytes (at least one).
    private mutating func records() throws(ContainerError) -> [UInt8]? {
        var writer = RecordIOFrameWriter(name: path)
        do {
            if let pending = pendingRecord {
                try writer.append(pending)
                pendingRecord = nil
            }
            // invariant: a recordIO source always has a frame reader
            while let payload = try frames!.next() {
                let framed = RecordIOFraming.headerLength + RecordIOFraming.paddedLength(payload.count)
                if writer.records > 0 && writer.bytes.count + framed > limit {
                    pendingRecord = payload
                    break
                }
                try writer.append(payload)
            }
        } catch {
            throw .client("\(error)")
        }
        return writer.records == 0 ? nil : writer.bytes
    }
}

import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads dmlc RecordIO records one at a time from memory, a file, a Pipe-mode FIFO or any file
/// descriptor, reassembling multi-part records (see ``RecordIOFraming``).
///
/// Files and descriptors are read sequentially with `read(2)` into a buffer (1 MiB, grown only as
/// the bytes of a larger record actually arrive), never seeked, so a FIFO that delivers the
/// channel's bytes once works as well as a regular file, and memory stays about one record.
///
/// Checks, each a ``DataError/badRecord(_:_:)`` naming the file, the 1-based record number and
/// the byte offset of the record's first header: a header cut short, a wrong magic number, a
/// payload or its padding cut short, a continuation flag out of sequence (a record must start
/// with 0 or 1 and continue with 2 or 3 — dmlc's own reader does not check this), and a stream
/// that ends inside a multi-part record. The padding bytes' values are not checked (dmlc writes
/// zeros and never reads them).
///
/// Copies of a reader share one input and one position.
public struct RecordIOFrameReader {
    private let input: RecordIOInput

    /// Names the input in errors.
    public var name: String { input.name }
    /// Records returned so far.
    public private(set) var recordsRead = 0
    /// Byte offset of the next record's header (bytes consumed so far).
    public var byteOffset: Int { input.position }
    /// The input's size in bytes when known up front (bytes in memory, a regular file), `nil`
    /// for pipes and FIFOs.
    public var knownSize: Int? { input.knownSize }

    /// Reads records from bytes in memory (a request body, say); `name` stands for them in errors.
    public init(bytes: [UInt8], name: String = "<recordio>") {
        input = RecordIOInput(bytes: bytes, name: name)
    }

    /// Opens `path` — a regular file or a FIFO (opening a FIFO waits for its writer) — for reading.
    public init(path: String) throws(DataError) {
        input = try RecordIOInput(path: path)
    }

    /// Reads from an open descriptor (a pipe, a socket, a file at its current offset).
    /// `closeWhenDone` hands the descriptor over: it is closed when the last copy of the reader goes.
    public init(fileDescriptor: Int32, name: String, closeWhenDone: Bool = false) {
        input = RecordIOInput(descriptor: fileDescriptor, name: name, owned: closeWhenDone, handle: nil)
    }

    /// Reads from a `FileHandle` (`Pipe().fileHandleForReading`, a FIFO opened by the caller, …),
    /// which the reader keeps open as long as it lives and never closes.
    public init(fileHandle: FileHandle, name: String) {
        input = RecordIOInput(descriptor: fileHandle.fileDescriptor, name: name, owned: false, handle: fileHandle)
    }

    /// The next record's payload, or `nil` at the end of the stream.
    public mutating func next() throws(DataError) -> [UInt8]? {
        var payload = [UInt8]()
        guard try nextPayload(into: &payload) != nil else { return nil }
        return payload
    }

    /// Reads the next record's payload into `payload` (replacing its contents, keeping its
    /// capacity) and returns where the record starts, or `nil` at the end of the stream.
    /// The allocation-free form of ``next()``.
    @discardableResult
    public mutating func nextPayload(into payload: inout [UInt8]) throws(DataError) -> RecordLocation? {
        let recordOffset = input.position
        let location = RecordLocation(file: input.name, record: recordsRead + 1, byteOffset: recordOffset)
        payload.removeAll(keepingCapacity: true)
        var parts = 0
        while true {
            let partOffset = input.position
            let available = try input.fill(RecordIOFraming.headerLength, location: location)
            if available == 0 {
                if parts == 0 { return nil }
                throw .badRecord(location, .unfinishedMultipart(parts: parts))
            }
            guard available >= RecordIOFraming.headerLength else {
                throw .badRecord(location, .truncatedHeader(bytes: available))
            }
            let (magic, lrec) = input.header()
            guard magic == RecordIOFraming.magic else { throw .badRecord(location, .badMagic(found: magic)) }
            let flag = Int(lrec >> 29)
            let length = Int(lrec & RecordIOFraming.lengthMask)
            let validFlags = parts == 0 ? 0...1 : 2...3
            guard validFlags.contains(flag) else {
                throw .badRecord(location, .badContinuationFlag(flag: flag, partOffset: partOffset, insideMultipart: parts > 0))
            }
            input.consume(RecordIOFraming.headerLength)
            // Every part is read with its padding, as dmlc's reader does (only the last part of a
            // dmlc-written record has any).
            let padded = RecordIOFraming.paddedLength(length)
            let got = try input.fill(padded, location: location)
            guard got >= padded else {
                throw .badRecord(location, .truncatedPayload(partOffset: partOffset, expected: padded, got: got))
            }
            input.copy(length, to: &payload)
            input.consume(padded)
            parts += 1
            if flag == 0 || flag == 3 { break }
            payload.append(contentsOf: RecordIOFraming.magicBytes)
        }
        recordsRead += 1
        return location
    }
}

/// A byte stream with a look-ahead buffer: bytes in memory, or a descriptor read with `read(2)`.
final class RecordIOInput {
    let name: String
    private let descriptor: Int32?
    private let ownsDescriptor: Bool
    /// Keeps a caller's `FileHandle` (and so its descriptor) alive.
    private let handle: FileHandle?

    private var buffer: UnsafeMutableRawPointer
    private var capacity: Int
    /// Unconsumed bytes are `buffer[start..<end]`.
    private var start = 0
    private var end = 0
    /// Stream offset of `buffer[start]`.
    private(set) var position = 0
    private var atEnd: Bool
    /// Size of a regular file (or of the bytes) when opened; `nil` for pipes.
    let knownSize: Int?

    static let chunk = 1 << 20

    init(bytes: [UInt8], name: String) {
        self.name = name
        descriptor = nil
        ownsDescriptor = false
        handle = nil
        capacity = max(bytes.count, 1)
        let storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        bytes.withUnsafeBytes { raw in
            if let base = raw.baseAddress { storage.copyMemory(from: base, byteCount: raw.count) }
        }
        buffer = storage
        end = bytes.count
        atEnd = true
        knownSize = bytes.count
    }

    convenience init(path: String) throws(DataError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(path: path, reason: ChannelFiles.reason(errno)) }
        var info = stat()
        if fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw .io(path: path, reason: "is a directory, not a data file (ChannelFiles lists a channel's files)")
        }
        self.init(descriptor: fd, name: path, owned: true, handle: nil)
    }

    init(descriptor: Int32, name: String, owned: Bool, handle: FileHandle?) {
        self.name = name
        self.descriptor = descriptor
        ownsDescriptor = owned
        self.handle = handle
        var info = stat()
        knownSize = fstat(descriptor, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG ? Int(info.st_size) : nil
        capacity = Self.chunk
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        atEnd = false
    }

    deinit {
        buffer.deallocate()
        if ownsDescriptor, let descriptor { close(descriptor) }
    }

    var available: Int { end - start }

    /// Makes at least `count` unconsumed bytes available if the stream has them; returns how many
    /// are available (fewer only at the end of the stream).
    func fill(_ count: Int, location: RecordLocation) throws(DataError) -> Int {
        guard available < count, !atEnd, let descriptor else { return available }
        if start > 0 {
            // Compact so the record's bytes are contiguous from the buffer start.
            if available > 0 { buffer.copyMemory(from: buffer + start, byteCount: available) }
            end = available
            start = 0
        }
        while end < count {
            if end == capacity {
                // Grow with the data that actually arrives, not with what a (possibly corrupt)
                // length field claims.
                grow(to: min(max(count, Self.chunk), max(capacity * 2, Self.chunk)))
            }
            let n = read(descriptor, buffer + end, capacity - end)
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(path: name, reason: "\(ChannelFiles.reason(errno)) while reading record \(location.record)")
            }
            if n == 0 {
                atEnd = true
                break
            }
            end += n
        }
        return available
    }

    private func grow(to newCapacity: Int) {
        let grown = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        grown.copyMemory(from: buffer + start, byteCount: available)
        buffer.deallocate()
        buffer = grown
        end -= start
        start = 0
        capacity = newCapacity
    }

    /// The magic and `lrec` words at the read position (8 bytes must be available).
    func header() -> (UInt32, UInt32) {
        let magic = buffer.loadUnaligned(fromByteOffset: start, as: UInt32.self)
        let lrec = buffer.loadUnaligned(fromByteOffset: start + 4, as: UInt32.self)
        return (UInt32(littleEndian: magic), UInt32(littleEndian: lrec))
    }

    /// Appends the next `count` bytes (which must be available) to `payload`.
    func copy(_ count: Int, to payload: inout [UInt8]) {
        payload.append(contentsOf: UnsafeRawBufferPointer(start: buffer + start, count: count))
    }

    func consume(_ count: Int) {
        start += count
        position += count
    }
}

import Foundation
import Testing
@testable import MLCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: Helpers (file-private: other test files define their own)

private let magic: [UInt8] = [0x0A, 0x23, 0xD7, 0xCE]

/// A header, byte by byte: the magic, then `flag << 29 | length` little-endian.
private func header(flag: UInt32 = 0, length: Int) -> [UInt8] {
    let lrec = flag << 29 | UInt32(length)
    return magic + [UInt8(lrec & 0xFF), UInt8(lrec >> 8 & 0xFF), UInt8(lrec >> 16 & 0xFF), UInt8(lrec >> 24)]
}

/// One part: header, payload, zero padding to a multiple of 4.
private func part(flag: UInt32 = 0, _ payload: [UInt8]) -> [UInt8] {
    header(flag: flag, length: payload.count) + payload + [UInt8](repeating: 0, count: (4 - payload.count % 4) % 4)
}

/// dmlc's `RecordIOWriter::WriteRecord`, transcribed loop for loop from dmlc-core
/// `src/recordio.cc`: the oracle for ``RecordIOFrameWriter``.
private func dmlcWriteRecord(_ buf: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    let len = buf.count
    let lowerAlign = (len >> 2) << 2
    let upperAlign = ((len + 3) >> 2) << 2
    var dptr = 0
    var i = 0
    while i < lowerAlign {
        if buf[i] == magic[0] && buf[i + 1] == magic[1] && buf[i + 2] == magic[2] && buf[i + 3] == magic[3] {
            out += header(flag: dptr == 0 ? 1 : 2, length: i - dptr)
            out += buf[dptr..<i]
            dptr = i + 4
        }
        i += 4
    }
    out += header(flag: dptr != 0 ? 3 : 0, length: len - dptr)
    out += buf[dptr..<len]
    out += [UInt8](repeating: 0, count: upperAlign - len)
    return out
}

private func frameError(_ bytes: [UInt8], name: String = "<test>") -> DataError? {
    dataError { () throws(DataError) in try RecordIOFraming.decode(bytes, name: name) }
}

private func at(_ record: Int, _ offset: Int, file: String = "<test>") -> RecordLocation {
    RecordLocation(file: file, record: record, byteOffset: offset)
}

/// Writes `bytes` to the write end `fd` in pieces of `chunk` bytes (so the reader sees partial
/// headers and payloads), then closes it.
private func writeInPieces(_ bytes: [UInt8], to fd: Int32, chunk: Int) {
    var offset = 0
    while offset < bytes.count {
        let n = bytes[offset..<min(bytes.count, offset + chunk)].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n < 0 { if errno == EINTR { continue } else { break } }
        offset += n
    }
    close(fd)
}

// MARK: Writing

@Suite("RecordIO framing")
struct RecordIOFramingTests {
    @Test("whole records: header, payload, padding to 4, for every length mod 4")
    func wholeRecordLayout() throws {
        for length in 0...9 {
            let payload = (0..<length).map { UInt8($0 + 1) }
            let bytes = try RecordIOFraming.encode([payload])
            #expect(bytes == header(length: length) + payload + [UInt8](repeating: 0, count: (4 - length % 4) % 4),
                    "length \(length)")
            #expect(bytes.count == 8 + RecordIOFraming.paddedLength(length))
            #expect(try RecordIOFraming.decode(bytes) == [payload])
        }
    }

    @Test("an aligned magic in the payload splits the record (cflag 1, 2, 3) and drops the magic")
    func writerSplitsAtAlignedMagic() throws {
        let payload: [UInt8] = [1, 2, 3, 4] + magic + [5, 6, 7, 8] + magic + [9]
        var writer = RecordIOFrameWriter()
        try writer.append(payload)
        // Padding comes from the total length (17 → 3 bytes), after the last part only.
        let expected = header(flag: 1, length: 4) + [1, 2, 3, 4]
            + header(flag: 2, length: 4) + [5, 6, 7, 8]
            + header(flag: 3, length: 1) + [9] + [0, 0, 0]
        #expect(writer.bytes == expected)
        #expect(writer.records == 1 && writer.splitRecords == 1)
        #expect(try RecordIOFraming.decode(writer.bytes) == [payload])
    }

    @Test("edge splits: magic first, magic last, back-to-back magics, unaligned magic")
    func writerSplitEdges() throws {
        // Magic at offset 0: an empty first part.
        #expect(try RecordIOFraming.encode([magic + [7]])
                == header(flag: 1, length: 0) + header(flag: 3, length: 1) + [7, 0, 0, 0])
        // Magic as the last aligned word: an empty last part, no padding (length 8).
        #expect(try RecordIOFraming.encode([[1, 2, 3, 4] + magic])
                == header(flag: 1, length: 4) + [1, 2, 3, 4] + header(flag: 3, length: 0))
        // Two magics in a row: an empty middle part.
        #expect(try RecordIOFraming.encode([[1, 2, 3, 4] + magic + magic + [5]])
                == header(flag: 1, length: 4) + [1, 2, 3, 4] + header(flag: 2, length: 0)
                + header(flag: 3, length: 1) + [5, 0, 0, 0])
        // Payload of exactly the magic.
        #expect(try RecordIOFraming.encode([magic]) == header(flag: 1, length: 0) + header(flag: 3, length: 0))
        // Unaligned magics are left alone.
        let unaligned: [UInt8] = [1] + magic + [2, 3, 4]
        #expect(try RecordIOFraming.encode([unaligned]) == header(length: 8) + unaligned)
        for payload in [magic + [7], [1, 2, 3, 4] + magic, [1, 2, 3, 4] + magic + magic + [5], magic, unaligned] {
            #expect(try RecordIOFraming.decode(RecordIOFraming.encode([payload])) == [payload])
        }
    }

    @Test("writer matches the dmlc loop on seeded payloads with magics planted anywhere",
          arguments: [1, 2, 3, 4, 5])
    func writerMatchesDMLCOracle(seed: UInt64) throws {
        var rng = SeededRandom(seed: seed)
        var payloads: [[UInt8]] = []
        for _ in 0..<200 {
            var payload = (0..<rng.int(in: 0...64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            for _ in 0..<rng.int(in: 0...3) where payload.count >= 4 {
                let at = rng.below(payload.count - 3)  // aligned or not
                payload.replaceSubrange(at..<at + 4, with: magic)
            }
            payloads.append(payload)
        }
        let bytes = try RecordIOFraming.encode(payloads)
        #expect(bytes == payloads.flatMap(dmlcWriteRecord))
        #expect(try RecordIOFraming.decode(bytes) == payloads)
    }

    @Test("a payload of 2^29 bytes is refused, naming the record")
    func payloadTooLarge() throws {
        var writer = RecordIOFrameWriter(name: "out.rec")
        try writer.append([1, 2, 3])
        // Never touched: the length is checked before the bytes are read.
        let big = UnsafeMutableRawPointer.allocate(byteCount: 1 << 29, alignment: 16)
        defer { big.deallocate() }
        let error = dataError { () throws(DataError) in
            try writer.append(UnsafeRawBufferPointer(start: big, count: 1 << 29))
        }
        #expect(error == .badRecord(at(2, 12, file: "out.rec"), .payloadTooLarge(bytes: 1 << 29)))
        #expect(writer.records == 1 && writer.bytes.count == 12)
    }

    // MARK: Reading

    @Test("a hand-built multi-part record is reassembled with the magic put back")
    func readsHandBuiltMultipart() throws {
        let bytes = part([9, 9])
            + part(flag: 1, [1, 2, 3, 4]) + part(flag: 2, [5, 6, 7, 8]) + part(flag: 2, []) + part(flag: 3, [10, 11])
            + part([12])
        let records = try RecordIOFraming.decode(bytes)
        #expect(records == [[9, 9], [1, 2, 3, 4] + magic + [5, 6, 7, 8] + magic + magic + [10, 11], [12]])
    }

    @Test("intermediate parts are read with their padding, as dmlc reads them")
    func paddedIntermediatePart() throws {
        // dmlc never writes this (splits are aligned), but its reader skips padding on every part.
        let bytes = part(flag: 1, [1, 2, 3]) + part(flag: 3, [4])
        #expect(try RecordIOFraming.decode(bytes) == [[1, 2, 3] + magic + [4]])
    }

    @Test("padding bytes are skipped whatever their values; an empty stream has no records")
    func paddingValuesIgnored() throws {
        let bytes = header(length: 5) + [1, 2, 3, 4, 5] + [0xFF, 0xEE, 0xDD] + part([6])
        #expect(try RecordIOFraming.decode(bytes) == [[1, 2, 3, 4, 5], [6]])
        #expect(try RecordIOFraming.decode([]).isEmpty)
    }

    @Test("errors name the record (from 1) and its offset, and the broken rule")
    func framingErrors() throws {
        let first = part([1, 2, 3, 4, 5])  // 16 bytes
        // Header cut short.
        #expect(frameError(first + header(length: 4).prefix(5)) == .badRecord(at(2, 16), .truncatedHeader(bytes: 5)))
        // Payload cut short.
        #expect(frameError(first + header(length: 10) + [1, 2, 3, 4, 5, 6])
                == .badRecord(at(2, 16), .truncatedPayload(partOffset: 16, expected: 12, got: 6)))
        // Padding missing.
        #expect(frameError(header(length: 5) + [1, 2, 3, 4, 5])
                == .badRecord(at(1, 0), .truncatedPayload(partOffset: 0, expected: 8, got: 5)))
        // Bad magic.
        var bad = first + part([7])
        bad[16] = 0x0B
        #expect(frameError(bad) == .badRecord(at(2, 16), .badMagic(found: 0xCED7_230B)))
        // Big-endian magic (a writer that forgot the byte order).
        #expect(frameError([0xCE, 0xD7, 0x23, 0x0A, 0, 0, 0, 0]) == .badRecord(at(1, 0), .badMagic(found: 0x0A23_D7CE)))
        // A middle or last part with no first part.
        #expect(frameError(first + part(flag: 2, [1, 2, 3, 4]) + part(flag: 3, [1]))
                == .badRecord(at(2, 16), .badContinuationFlag(flag: 2, partOffset: 16, insideMultipart: false)))
        #expect(frameError(part(flag: 3, [1]))
                == .badRecord(at(1, 0), .badContinuationFlag(flag: 3, partOffset: 0, insideMultipart: false)))
        // A whole record or a new first part inside a multi-part record.
        #expect(frameError(part(flag: 1, [1, 2, 3, 4]) + part([5]))
                == .badRecord(at(1, 0), .badContinuationFlag(flag: 0, partOffset: 12, insideMultipart: true)))
        #expect(frameError(part(flag: 1, [1, 2, 3, 4]) + part(flag: 1, [5]))
                == .badRecord(at(1, 0), .badContinuationFlag(flag: 1, partOffset: 12, insideMultipart: true)))
        // Flags above 3.
        #expect(frameError(part(flag: 5, [1]))
                == .badRecord(at(1, 0), .badContinuationFlag(flag: 5, partOffset: 0, insideMultipart: false)))
        // The stream ends inside a multi-part record.
        #expect(frameError(first + part(flag: 1, [1, 2, 3, 4]) + part(flag: 2, [5, 6, 7, 8]))
                == .badRecord(at(2, 16), .unfinishedMultipart(parts: 2)))
        // Messages say where and what.
        let message = try #require(frameError(first + header(length: 4).prefix(5), name: "train.pbr")).description
        #expect(message.contains("train.pbr: record 2 (byte 16)") && message.contains("truncated"))
    }

    @Test("position and counters advance record by record")
    func readerCounters() throws {
        var reader = RecordIOFrameReader(bytes: part([1]) + part(flag: 1, []) + part(flag: 3, [2]) + part([]), name: "x")
        #expect(reader.recordsRead == 0 && reader.byteOffset == 0)
        #expect(try reader.next() == [1])
        #expect(reader.recordsRead == 1 && reader.byteOffset == 12)
        var payload: [UInt8] = []
        #expect(try reader.nextPayload(into: &payload) == RecordLocation(file: "x", record: 2, byteOffset: 12))
        #expect(payload == magic + [2])
        #expect(try reader.next() == [])
        #expect(try reader.next() == nil)
        #expect(try reader.next() == nil)
        #expect(reader.recordsRead == 3)
    }

    // MARK: Files, pipes, FIFOs

    @Test("files are read sequentially; errors name the path; a directory is refused")
    func readsFile() throws {
        try withTemporaryDirectory { dir in
            let payloads: [[UInt8]] = [[1, 2, 3], magic + [4], [], Array(repeating: 7, count: 1000)]
            let path = dir + "/a.rec"
            try Data(RecordIOFraming.encode(payloads)).write(to: URL(fileURLWithPath: path))
            var reader = try RecordIOFrameReader(path: path)
            var read: [[UInt8]] = []
            while let p = try reader.next() { read.append(p) }
            #expect(read == payloads)

            let cut = dir + "/cut.rec"
            try Data(RecordIOFraming.encode(payloads).dropLast(3)).write(to: URL(fileURLWithPath: cut))
            var cutReader = try RecordIOFrameReader(path: cut)
            let error = dataError { () throws(DataError) in while try cutReader.next() != nil {} }
            // Records at 0, 12 (split: 8 + 12 bytes), 32 (empty), 40.
            #expect(error == .badRecord(at(4, 40, file: cut), .truncatedPayload(partOffset: 40, expected: 1000, got: 997)))

            #expect(dataError { () throws(DataError) in try RecordIOFrameReader(path: dir) }.map {
                if case .io(let p, _) = $0 { p == dir } else { false }
            } == true)
            #expect(dataError { () throws(DataError) in try RecordIOFrameReader(path: dir + "/missing") }.map {
                if case .io(let p, _) = $0 { p == dir + "/missing" } else { false }
            } == true)
        }
    }

    @Test("a pipe delivering bytes in small pieces, with a record larger than the read buffer")
    func readsPipeInPieces() throws {
        signal(SIGPIPE, SIG_IGN)  // a failing reader must not kill the test process
        var rng = SeededRandom(seed: 7)
        let big = (0..<(3 << 20)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let payloads: [[UInt8]] = [[1], big, [1, 2, 3, 4] + magic + [5], []] + (0..<50).map { [UInt8](repeating: UInt8($0), count: $0) }
        let bytes = try RecordIOFraming.encode(payloads)
        let pipe = Pipe()
        let fd = dup(pipe.fileHandleForWriting.fileDescriptor)
        try pipe.fileHandleForWriting.close()
        Thread.detachNewThread { writeInPieces(bytes, to: fd, chunk: 4093) }
        var reader = RecordIOFrameReader(fileHandle: pipe.fileHandleForReading, name: "<pipe>")
        var read: [[UInt8]] = []
        while let p = try reader.next() { read.append(p) }
        #expect(read.count == payloads.count)
        #expect(read == payloads)
        #expect(reader.byteOffset == bytes.count)
    }

    @Test("a named FIFO (Pipe mode), opened by path, written by another thread")
    func readsFIFO() throws {
        signal(SIGPIPE, SIG_IGN)
        try withTemporaryDirectory { dir in
            let path = dir + "/train_0"
            #expect(mkfifo(path, 0o600) == 0)
            let payloads: [[UInt8]] = (0..<300).map { i in (0..<(i % 37)).map { UInt8(truncatingIfNeeded: $0 * i) } } + [magic]
            let bytes = try RecordIOFraming.encode(payloads)
            Thread.detachNewThread {
                let fd = open(path, O_WRONLY)  // blocks until the reader opens its end
                if fd >= 0 { writeInPieces(bytes, to: fd, chunk: 13) }
            }
            var reader = try RecordIOFrameReader(path: path)
            var read: [[UInt8]] = []
            while let p = try reader.next() { read.append(p) }
            #expect(read == payloads)
        }
    }

    @Test("a descriptor handed over is read to the end")
    func readsDescriptor() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let bytes = try RecordIOFraming.encode([[1, 2], [3]])
        let readEnd = fds[0], writeEnd = fds[1]
        Thread.detachNewThread { writeInPieces(bytes, to: writeEnd, chunk: 3) }
        var reader = RecordIOFrameReader(fileDescriptor: readEnd, name: "fd", closeWhenDone: true)
        #expect(try reader.next() == [1, 2])
        #expect(try reader.next() == [3])
        #expect(try reader.next() == nil)
    }
}

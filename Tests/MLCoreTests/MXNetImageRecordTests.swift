import Foundation
import Testing
@testable import MLCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MXNet image RecordIO: Fixtures/images/images.rec was packed by make_image_fixtures.py exactly as
// mxnet.recordio.pack does (struct '<IfQQ', a label vector when flag > 0) and framed as dmlc's
// RecordIOWriter frames (record 3 is split into three parts around two aligned magic numbers).

/// images.json: what each record of images.rec holds.
private struct RecordDescription: Decodable {
    var labels: [Float]
    var flag: Int
    var id: UInt64
    var id2: UInt64
    var pixels: String
    var parts: Int
}

private func descriptions() throws -> [RecordDescription] {
    try JSONDecoder().decode([RecordDescription].self, from: Data(contentsOf: URL(fileURLWithPath: try imageFixture("images.json"))))
}

/// A payload's bytes as Python's struct.pack('<IfQQ', flag, label, id, id2) writes them.
private func pythonHeader(flag: UInt32, label: Float, id: UInt64, id2: UInt64) -> [UInt8] {
    func bytes<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    return bytes(flag) + bytes(label.bitPattern) + bytes(id) + bytes(id2)
}

private func writeInPieces(_ bytes: [UInt8], to fd: Int32, chunk: Int) {
    var offset = 0
    while offset < bytes.count {
        let n = bytes[offset..<min(bytes.count, offset + chunk)].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n < 0 { if errno == EINTR { continue } else { break } }
        offset += n
    }
    close(fd)
}

@Suite("MXNet image RecordIO")
struct MXNetImageRecordTests {
    @Test("images.rec: labels, flags, ids and decoded pixels of every record, multi-part included")
    func readsFixture() throws {
        let path = try imageFixture("images.rec")
        let expected = try descriptions()
        #expect(expected.map(\.parts) == [1, 1, 3, 1], "record 3 is split by the dmlc writer")
        var reader = try MXNetImageRecordReader(path: path)
        var n = 0
        while let (record, location) = try reader.nextRecord() {
            let want = expected[n]
            n += 1
            #expect(location.record == n && location.file == path)
            #expect(record.labels == want.labels, "record \(n)")
            #expect(record.storesLabelVector == (want.flag > 0), "record \(n)")
            #expect(record.id == want.id && record.id2 == want.id2, "record \(n)")
            let stem = (want.pixels as NSString).deletingPathExtension
            let image = try record.decodedImage(channels: 3, source: location.description)
            expectSameImage(image, try expectedImage(stem + ".rgb.npy"), "record \(n) (\(want.pixels))")
            expectSameImage(try record.decodedImage(channels: 1, source: location.description),
                            try expectedImage(stem + ".l.npy"), "record \(n) as gray")
        }
        #expect(n == 4 && reader.recordsRead == 4)
    }

    @Test("re-encoding the records gives images.rec byte for byte (MXNet's pack, dmlc's framing)")
    func encodesFixtureBytes() throws {
        let bytes = try fixtureBytes("images.rec")
        let records = try MXNetImageRecordReader.decode(bytes, name: "images.rec")
        #expect(try MXNetImageRecordReader.encode(records) == bytes)
        var writer = RecordIOFrameWriter()
        for record in records { try writer.append(record.payload()) }
        #expect(writer.splitRecords == 1)
    }

    @Test("payload layout: '<IfQQ' header, then labels when flag > 0, then the image")
    func payloadLayout() throws {
        let image: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0]
        let single = MXNetImageRecord(labels: [3], id: 5, id2: 6, image: image)
        #expect(!single.storesLabelVector)
        #expect(single.payload() == pythonHeader(flag: 0, label: 3, id: 5, id2: 6) + image)
        let multi = MXNetImageRecord(labels: [1, 0, 1], id: 1, image: image)
        #expect(multi.storesLabelVector)
        let floats = [Float(1), 0, 1].flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
        #expect(multi.payload() == pythonHeader(flag: 3, label: 0, id: 1, id2: 0) + floats + image)
        // A one-element label vector (MXNet's pack of np.array([5.0])) keeps flag 1.
        let vector = MXNetImageRecord(labels: [5], image: image, storesLabelVector: true)
        #expect(Array(vector.payload().prefix(8)) == Array(pythonHeader(flag: 1, label: 0, id: 0, id2: 0).prefix(8)))
        for record in [single, multi, vector] {
            #expect(try MXNetImageRecord(payload: record.payload()) == record)
            #expect(try MXNetImageRecord.parse(payload: MXNetImageRecord.encode(labels: record.labels, id: record.id, id2: record.id2,
                                                                              image: image, storesLabelVector: record.storesLabelVector)) == record)
        }
        // The header's label is ignored when flag > 0, as MXNet's unpack ignores it.
        let ignored = pythonHeader(flag: 1, label: 99, id: 0, id2: 0) + withUnsafeBytes(of: Float(7).bitPattern.littleEndian) { Array($0) } + image
        #expect(try MXNetImageRecord(payload: ignored).labels == [7])
    }

    @Test("bad payloads: a short header, a flag past the payload, no image bytes — each naming file and record")
    func badPayloads() throws {
        let image: [UInt8] = [0x89, 0x50]
        let good = MXNetImageRecord(labels: [1], image: image).payload()
        let cases: [([UInt8], RecordIOProblem)] = [
            (Array(good.prefix(10)), .imageRecordTooShort(bytes: 10)),
            ([], .imageRecordTooShort(bytes: 0)),
            (pythonHeader(flag: 3, label: 0, id: 0, id2: 0) + [0, 0, 0, 0], .imageRecordLabelsExceedPayload(flag: 3, bytes: 4)),
            (pythonHeader(flag: UInt32.max, label: 0, id: 0, id2: 0) + image, .imageRecordLabelsExceedPayload(flag: UInt32.max, bytes: 2)),
            (pythonHeader(flag: 0, label: 1, id: 0, id2: 0), .imageRecordWithoutImage(flag: 0)),
            (pythonHeader(flag: 2, label: 0, id: 0, id2: 0) + [UInt8](repeating: 0, count: 8), .imageRecordWithoutImage(flag: 2)),
        ]
        for (payload, problem) in cases {
            let stream = try RecordIOFraming.encode([good, payload, good])
            var reader = MXNetImageRecordReader(bytes: stream, name: "x.rec")
            #expect(try reader.next() != nil)
            let error = dataError { () throws(DataError) in try reader.next() }
            #expect(error == .badRecord(RecordLocation(file: "x.rec", record: 2, byteOffset: 8 + good.count + 2), problem))
            #expect(error?.description.hasPrefix("x.rec: record 2 (byte \(8 + good.count + 2)): ") == true, "\(error?.description ?? "")")
        }
        let message = RecordIOProblem.imageRecordLabelsExceedPayload(flag: 3, bytes: 4).description
        #expect(message == "the image record header's flag says 3 float32 labels (12 bytes) follow it, but only 4 bytes do; the record is corrupt")
    }

    @Test("an image that fails to decode is named by its record")
    func badImageNamesRecord() throws {
        let records = [MXNetImageRecord(labels: [0], image: try fixtureBytes("gray8.png")),
                       MXNetImageRecord(labels: [1], image: Array("not an image".utf8))]
        var reader = MXNetImageRecordReader(bytes: try MXNetImageRecordReader.encode(records), name: "train.rec")
        _ = try reader.nextRecord()
        let (record, location) = try #require(try reader.nextRecord())
        let error = dataError { () throws(DataError) in try record.decodedImage(source: location.description) }
        let offset = 8 + RecordIOFraming.paddedLength(records[0].payload().count)
        #expect(location == RecordLocation(file: "train.rec", record: 2, byteOffset: offset))
        #expect(error?.description.hasPrefix("train.rec: record 2 (byte \(offset)): is not a PNG or JPEG image (starts with 6E 6F 74 20 61 6E 20 69") == true,
                "\(error?.description ?? "")")
        // The framing's own errors keep their location too.
        var truncated = MXNetImageRecordReader(bytes: Array(try MXNetImageRecordReader.encode(records).dropLast(5)), name: "cut.rec")
        _ = try truncated.next()
        guard case .badRecord(let at, .truncatedPayload)? = dataError({ () throws(DataError) in try truncated.next() }) else {
            Issue.record("a cut record is not a truncated payload")
            return
        }
        #expect(at.record == 2)
    }

    @Test("Pipe mode: records stream from a FIFO written by another thread, one at a time")
    func readsFIFO() throws {
        signal(SIGPIPE, SIG_IGN)
        let fixture = try fixtureBytes("images.rec")
        let expected = try MXNetImageRecordReader.decode(fixture)
        try withTemporaryDirectory { dir in
            let path = dir + "/train_0"
            #expect(mkfifo(path, 0o600) == 0)
            let stream = [UInt8]((0..<25).flatMap { _ in fixture })   // 100 records, one epoch
            Thread.detachNewThread {
                let fd = open(path, O_WRONLY)  // blocks until the reader opens its end
                if fd >= 0 { writeInPieces(stream, to: fd, chunk: 777) }
            }
            var reader = try MXNetImageRecordReader(path: path)
            var count = 0
            while let record = try reader.next() {
                #expect(record == expected[count % 4])
                count += 1
            }
            #expect(count == 100)
        }
    }

    @Test("a Pipe's FileHandle and a descriptor are read to the end")
    func readsHandles() throws {
        let bytes = try fixtureBytes("images.rec")
        let pipe = Pipe()
        let fd = dup(pipe.fileHandleForWriting.fileDescriptor)
        try pipe.fileHandleForWriting.close()
        Thread.detachNewThread { writeInPieces(bytes, to: fd, chunk: 100) }
        var reader = MXNetImageRecordReader(fileHandle: pipe.fileHandleForReading, name: "<pipe>")
        var ids: [UInt64] = []
        while let record = try reader.next() { ids.append(record.id) }
        #expect(ids == [0, 1, 7, 9])

        var fds: [Int32] = [0, 0]
        #expect(Glibc.pipe(&fds) == 0)
        let readEnd = fds[0], writeEnd = fds[1]
        Thread.detachNewThread { writeInPieces(bytes, to: writeEnd, chunk: 3) }
        var fromDescriptor = MXNetImageRecordReader(fileDescriptor: readEnd, name: "fd", closeWhenDone: true)
        var n = 0
        while try fromDescriptor.next() != nil { n += 1 }
        #expect(n == 4 && fromDescriptor.name == "fd")
    }
}

import Foundation
import MLCore

private let imageFixtures = "Tests/MLCoreTests/Fixtures/images/"

/// Every PNG and JPEG fixture: the decoder's seeds, and the images inside the record seeds.
private func imageSeeds() throws -> [(name: String, bytes: [UInt8])] {
    let names = try FileManager.default.contentsOfDirectory(atPath: repositoryRoot + "/" + imageFixtures)
        .filter { $0.hasSuffix(".png") || $0.hasSuffix(".jpg") }.sorted()
    return try names.map { ($0, try fixture(imageFixtures + $0)) }
}

/// Images: training channels (files, `.lst`, MXNet `.rec`) and inference bodies share these.
let imageTargets: [FuzzTarget] = [
    FuzzTarget(
        name: "image",
        summary: "PNG (libpng) and JPEG (libjpeg-turbo) decoding with ImageDecoder: header, decode to 1 or 3 channels (byte 0), resize",
        maxLength: 16_384,
        run: { input in
            guard let mode = input.first else { return }
            let body = Array(input.dropFirst())
            _ = try? ImageDecoder.header(of: body, source: "<fuzz>")
            guard let image = try? ImageDecoder.decode(body, source: "<fuzz>", channels: mode & 1 == 0 ? 3 : 1) else { return }
            _ = try? image.resized(width: 5, height: 3)
        },
        seeds: { try imageSeeds().map { ($0.name, [0] + $0.bytes) } }
    ),
    FuzzTarget(
        name: "mxnet-record",
        summary: "MXNet image RecordIO (.rec): IRHeader, label vectors, the image inside, via MXNetImageRecordReader and MXNetImageRecord.parse",
        maxLength: 16_384,
        run: { input in
            var reader = MXNetImageRecordReader(bytes: input)
            while let record = try? reader.next() {
                _ = try? record.decodedImage(channels: 3, source: "<fuzz>")
            }
            // The payload alone, as if framing had delivered it.
            if let record = try? MXNetImageRecord.parse(payload: input) {
                _ = try? record.decodedImage(channels: 1, source: "<fuzz>")
            }
        },
        seeds: {
            let images = try imageSeeds().filter { $0.bytes.count < 1000 }.prefix(4)
            let records = images.enumerated().map { i, image in
                MXNetImageRecord(labels: i % 2 == 0 ? [Float(i)] : [Float(i), 1, 2], id: UInt64(i), image: image.bytes)
            }
            return [
                ("images.rec", try fixture(imageFixtures + "images.rec")),
                ("built.rec", try MXNetImageRecordReader.encode(Array(records))),
                ("bare-payload", records[0].payload()),
            ]
        }
    ),
    FuzzTarget(
        name: "image-list",
        summary: "image .lst files (index, labels, path; tab-separated) through ImageList",
        maxLength: 4096,
        run: { input in
            _ = try? ImageList(bytes: input, name: "<fuzz>.lst")
        },
        seeds: {
            let lines = try fixture("data/shapes/train.lst").split(separator: 0x0A).prefix(5)
            return [
                ("shapes", Array(lines.joined(separator: [0x0A])) + [0x0A]),
                ("multi-label", bytes("0\t1\t0\t1\ta/b.png\n1\t0.5\t1\t0\tc d.jpg\r\n")),
                ("bad", bytes("x\t1\n\n2\t\tpath\n")),
            ]
        }
    ),
]

import Foundation
import MLCore

/// Training data: the channel readers of MLCore/Data. Readers that only take paths read a
/// scratch file (in /dev/shm when there is one).
let dataTargets: [FuzzTarget] = [
    FuzzTarget(
        name: "csv",
        summary: "CSV training files through CSVReader (chunked, 1-2 threads); byte 0 picks label_size, delimiter, chunk size, threads, batches or readAll",
        maxLength: 16_384,
        run: { input in
            guard let mode = input.first else { return }
            let delimiters: [UInt8] = [0x2C, 0x09, 0x20, 0x3B]
            // The smallest chunk (4 KiB) makes a 16 KiB input span several chunks and threads.
            let options = CSVOptions(labelSize: Int(mode & 3), delimiter: delimiters[Int(mode >> 2 & 3)],
                                     threads: 1 + Int(mode >> 4 & 1), chunkBytes: mode & 0x20 == 0 ? 1 << 12 : 16 << 20)
            let path = Scratch.write(input.dropFirst(), to: "input.csv")
            guard var reader = try? CSVReader(path: path, options: options) else { return }
            // Bit 6: the whole file at once (readAll's growable output) or batch by batch.
            if mode & 0x40 == 0 {
                while (try? reader.nextBatch()) != nil {}
            } else {
                _ = try? reader.readAll()
            }
        },
        seeds: {
            let lines = try fixture("data/breast-cancer/train.csv").split(separator: 0x0A, maxSplits: 4).prefix(4)
            let csv = Array(lines.joined(separator: [0x0A])) + [0x0A]
            return [
                ("breast-cancer", [0x01] + csv),
                ("unlabelled-tabs", [0x04] + bytes("1\t2\t3\n4\t5\t6\r\n")),
                ("two-labels", [0x12] + bytes("1,0,2.5,-3e4\n0,1,.5,nan\n")),
                ("bom-crlf", [0x01] + [0xEF, 0xBB, 0xBF] + bytes("1,2\r\n3,4\r\n")),
                ("header-row", [0x01] + bytes("label,a,b\n1,2,3\n")),
                ("read-all", [0x41] + csv),
                ("ragged", [0x01] + bytes("1,2,3\n1,2\n")),
            ]
        }
    ),
    FuzzTarget(
        name: "npy",
        summary: "NPY arrays: NPYHeader, NPYReader.decode / decodeConcatenated (Float, Double) and the file reader in batches",
        maxLength: 4096,
        run: { input in
            _ = try? NPYHeader(bytes: input)
            _ = try? NPYReader<Float>.decode(input)
            _ = try? NPYReader<Double>.decode(input)
            _ = try? NPYReader<Float>.decodeConcatenated(input)
            let path = Scratch.write(input, to: "input.npy")
            guard var reader = try? NPYReader<Float>(path: path, batchRows: 3) else { return }
            while (try? reader.nextMatrix()) != nil {}
            _ = try? reader.readRows(0..<min(reader.rows, 2))
        },
        seeds: {
            let names = ["be_f4_3x4", "be_i8_3", "f2_2", "f4_3x4", "f4_3x4_v2", "f4_3x4_v3", "f4_scalar", "f8_0x3", "f8_5",
                         "f8_fortran_3x2", "i4_2x2x3", "i8_4x2", "u1_2x1x2x3"]
            return try names.map { ($0, try fixture("Tests/MLCoreTests/Fixtures/npy/\($0).npy")) }
        }
    ),
    FuzzTarget(
        name: "libsvm",
        summary: "LibSVM / SVMlight text through LibSVMReader; byte 0 picks the index base (0, 1, auto), a fixed feature count and the batch size",
        maxLength: 8192,
        run: { input in
            guard let mode = input.first else { return }
            let bases: [LibSVMReader.IndexBase] = [.zero, .one, .auto, .auto]
            let dimension = mode & 0x04 == 0 ? nil : Int(mode >> 3 & 7) * 3
            let path = Scratch.write(input.dropFirst(), to: "input.libsvm")
            guard var reader = try? LibSVMReader(path: path, indexBase: bases[Int(mode & 3)], featureDimension: dimension,
                                                 batchRows: mode & 0x40 == 0 ? 2 : 4096) else { return }
            while (try? reader.nextBatch()) != nil {}
        },
        seeds: {
            [
                ("one-based", [0x01] + bytes("1 1:0.5 3:2\n0 2:1e3 4:-1\n")),
                ("zero-based-fixed", [0x04 | 0x08] + bytes("1 0:1 2:2\n-1 1:3\n")),
                ("auto-comments", [0x02] + bytes("# comment\n2 qid:1 1:1 7:0.25 # tail\n\n3 2:nan\n")),
                ("weights", [0x01] + bytes("1:0.5 1:1\n0 3:4\r\n")),
                ("unsorted", [0x41] + bytes("1 5:1 2:2\n")),
            ]
        }
    ),
    FuzzTarget(
        name: "recordio",
        summary: "dmlc RecordIO framing (RecordIOFraming.decode, multi-part records), in memory and from a file",
        maxLength: 4096,
        run: { input in
            _ = try? RecordIOFraming.decode(input)
            let path = Scratch.write(input, to: "input.rec")
            guard var reader = try? RecordIOFrameReader(path: path) else { return }
            var payload: [UInt8] = []
            while (try? reader.nextPayload(into: &payload)) != nil {}
        },
        seeds: {
            var split = RecordIOFrameWriter()
            try split.append([1, 2, 3, 4] + RecordIOFraming.magicBytes + [5, 6, 7, 8] + RecordIOFraming.magicBytes + [9])
            try split.append([])
            return [
                ("records", try RecordIOFraming.encode([[1, 2, 3], [], Array(repeating: 7, count: 9)])),
                ("multi-part", split.bytes),
                ("truncated", Array(try RecordIOFraming.encode([[1, 2, 3, 4, 5]]).dropLast(2))),
            ]
        }
    ),
    FuzzTarget(
        name: "recordio-protobuf",
        summary: "RecordIO-protobuf (SageMaker Record messages): RecordIOProtobufReader batches and records, Record decoding of a bare payload",
        maxLength: 8192,
        run: { input in
            _ = try? RecordIOProtobufReader.decode(input)
            _ = try? RecordIOProtobufReader.decodeRecords(input)
            var reader = RecordIOProtobufReader(bytes: input, batchRows: 2)
            while (try? reader.nextBatch()) != nil {}
            // The payload alone, as if framing had delivered it.
            _ = try? RecordIOProtobufRecord(serializedBytes: input, location: RecordLocation(file: "<fuzz>", record: 1, byteOffset: 0))
        },
        seeds: {
            let names = ["dense_f32_labels", "dense_f32_nolabels", "dense_f64_labels", "dense_i32_labels", "sparse_f32_labels", "sparse_f64_nolabels"]
            var seeds = try names.map { ($0, try fixture("Tests/MLCoreTests/Fixtures/recordio/\($0).pbr")) }
            // One Record payload without framing, for the bare decoder.
            let record = try RecordIOFraming.decode(try fixture("Tests/MLCoreTests/Fixtures/recordio/sparse_f32_labels.pbr"))[0]
            seeds.append(("bare-record", record))
            return seeds
        }
    ),
]

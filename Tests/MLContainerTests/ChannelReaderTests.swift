import Foundation
import MLTestSupport
import MLCore
import Testing
@testable import MLContainer

/// An `/opt/ml` tree with one channel of the given format and mode.
private func reader(_ tree: FakeOptML, name: String = "train", contentType: String?, mode: InputMode = .file,
                    wrapper: String = "None", accepted: [ChannelFormat] = ChannelFormat.allCases) throws(ContainerError) -> ChannelReader {
    let channel = ChannelConfiguration(name: name, contentType: try contentType.map { t throws(ContainerError) in try MediaType(parsing: t) },
                                       inputMode: mode, distribution: "FullyReplicated", recordWrapper: wrapper)
    return try ChannelReader(channel: channel, environment: TrainingEnvironment(root: tree.root, environment: [:]), accepted: accepted,
                             defaultContentType: .recordIOProtobuf, defaultLabelSize: 1, threads: 2)
}

private func write(_ text: String, _ path: String) throws {
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
}


@Suite("ChannelReader")
struct ChannelReaderTests {
    @Test("a CSV channel of several files: every file in order, label first")
    func csvFiles() throws {
        let tree = try FakeOptML()
        defer { tree.remove() }
        try write("1,2,3\n0,4,5\n", tree.root + "/input/data/train/a.csv")
        try write("1,6,7\n", tree.root + "/input/data/train/b/c.csv")
        let (batch, stats) = try reader(tree, contentType: "text/csv").readAll()
        #expect(batch.labelVector == [1, 0, 1])
        guard case .dense(let x) = batch.features else { Issue.record("dense expected"); return }
        #expect(x.elements == [2, 3, 4, 5, 6, 7])
        #expect(stats.rows == 3 && stats.bytes == 18)
    }

    @Test("an NPY channel: the label is the first column; several files are stacked")
    func npyFiles() throws {
        let tree = try FakeOptML()
        defer { tree.remove() }
        let dir = tree.root + "/input/data/train/"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try NPYWriter.write(try Matrix<Float>(rows: 2, columns: 3, elements: [1, 2, 3, 0, 4, 5]), to: dir + "a.npy")
        try NPYWriter.write(try Matrix<Double>(rows: 1, columns: 3, elements: [1, 6, 7]), to: dir + "b.npy")
        let (batch, _) = try reader(tree, contentType: "application/x-npy").readAll()
        #expect(batch.labelVector == [1, 0, 1])
        let expected = try Matrix<Float>(rows: 3, columns: 2, elements: [2, 3, 4, 5, 6, 7])
        #expect(batch.features == .dense(expected))
        // label_size=0: every column a feature.
        let (unlabelled, _) = try reader(tree, contentType: "application/x-npy;label_size=0").readAll()
        #expect(unlabelled.labels == nil && unlabelled.features.columns == 3)
    }

    @Test("NPY files with different widths are an error naming the file")
    func npyRagged() throws {
        let tree = try FakeOptML()
        defer { tree.remove() }
        let dir = tree.root + "/input/data/train/"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try NPYWriter.write(try Matrix<Float>(rows: 1, columns: 3, elements: [1, 2, 3]), to: dir + "a.npy")
        try NPYWriter.write(try Matrix<Float>(rows: 1, columns: 4, elements: [1, 2, 3, 4]), to: dir + "b.npy")
        #expect { _ = try reader(tree, contentType: "application/x-npy").readAll() } throws: { error in
            (error as? ContainerError)?.description.contains("file 2") == true
        }
    }

    @Test("content types the algorithm does not read, bad label_size and a RecordIO wrapper around CSV are ClientErrors",
          arguments: [("text/libsvm", "None", "is not one this algorithm reads"), ("image/png", "None", "is not one this algorithm reads"),
                      ("text/csv;label_size=x", "None", "must be a whole number"), ("text/csv", "RecordIO", "RecordWrapperType RecordIO"),
                      ("application/x-recordio-protobuf;label_size=1", "None", "label_size applies to")])
    func refuses(_ contentType: String, _ wrapper: String, _ expected: String) throws {
        let tree = try FakeOptML()
        defer { tree.remove() }
        #expect { _ = try reader(tree, contentType: contentType, wrapper: wrapper, accepted: [.csv, .npy, .recordIOProtobuf]) } throws: { error in
            (error as? ContainerError)?.description.contains(expected) == true
        }
    }

    @Test("a bad cell is a ClientError naming the channel, the file, the line and the column")
    func badCell() throws {
        let tree = try FakeOptML()
        defer { tree.remove() }
        try write("1,2,3\n0,x,5\n", tree.root + "/input/data/train/a.csv")
        #expect { _ = try reader(tree, contentType: "text/csv").readAll() } throws: { error in
            let text = (error as? ContainerError)?.description ?? ""
            return text.hasPrefix("ClientError: channel 'train': ") && text.contains("a.csv:2:2")
        }
    }

    @Test("a sample reads the first rows of every file")
    func sample() throws {
        let tree = try FakeOptML()
        defer { tree.remove() }
        try write((0..<50).map { "1,\($0),0\n" }.joined(), tree.root + "/input/data/train/a.csv")
        try write("0,100,0\n", tree.root + "/input/data/train/b.csv")
        let batch = try #require(try reader(tree, contentType: "text/csv").sample(rows: 5))
        #expect(batch.rows == 6 && batch.labelVector == [1, 1, 1, 1, 1, 0])
        let pipe = try reader(tree, contentType: "text/csv", mode: .pipe)
        #expect(try pipe.sample(rows: 5) == nil)
    }

    @Test("Pipe mode: CSV from a real FIFO that a writer process creates late and fills")
    func pipeCSV() throws {
        let tree = try FakeOptML()
        defer { tree.remove() }
        let fifo = tree.root + "/input/data/train_0"
        let writer = try shell("sleep 0.3; mkfifo '\(fifo)'; printf '1,2,3\\n0,4,5\\n' > '\(fifo)'")
        let (batch, _) = try reader(tree, contentType: "text/csv", mode: .pipe).readAll()
        writer.waitUntilExit()
        let expected = try Matrix<Float>(rows: 2, columns: 2, elements: [2, 3, 4, 5])
        #expect(batch.labelVector == [1, 0] && batch.features == .dense(expected))
    }

    @Test("Pipe mode: NPY objects concatenated in the FIFO are all read")
    func pipeNPY() throws {
        let tree = try FakeOptML()
        defer { tree.remove() }
        let a = tree.root + "/a.npy", b = tree.root + "/b.npy"
        try NPYWriter.write(try Matrix<Float>(rows: 2, columns: 3, elements: [1, 2, 3, 0, 4, 5]), to: a)
        try NPYWriter.write(try Matrix<Float>(rows: 1, columns: 3, elements: [1, 6, 7]), to: b)
        let fifo = tree.root + "/input/data/train_0"
        let writer = try shell("mkfifo '\(fifo)'; cat '\(a)' '\(b)' > '\(fifo)'")
        let (batch, stats) = try reader(tree, contentType: "application/x-npy", mode: .pipe).readAll()
        writer.waitUntilExit()
        #expect(batch.labelVector == [1, 0, 1] && stats.rows == 3 && stats.bytes > 0)
    }
}


/// `data/<set>/<file>` in the repository.
private func bundledData(_ set: String, _ file: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("data/\(set)/\(file)").path
}

@Suite("ChannelReader: RecordIO-protobuf")
struct ChannelReaderRecordIOTests {
    /// The bundled breast-cancer train set as the SageMaker SDK wrote it, in a channel.
    private func treeWithSDKFile(mode: InputMode = .file) throws -> FakeOptML {
        let tree = try FakeOptML()
        let source = bundledData("breast-cancer", "train.pbr")
        if mode == .file {
            try FileManager.default.copyItem(atPath: source, toPath: tree.root + "/input/data/train/part-0.pbr")
        }
        return tree
    }

    @Test("the SDK's file (write_numpy_to_dense_tensor) reads as the same rows as the CSV; no ContentType means RecordIO")
    func sdkFileMatchesCSV() throws {
        let tree = try treeWithSDKFile()
        defer { tree.remove() }
        let (batch, stats) = try reader(tree, contentType: nil).readAll()
        let csv = try CSVReader.readAll(files: [bundledData("breast-cancer", "train.csv")], options: CSVOptions())
        #expect(batch.rows == 455 && batch.features.columns == 30)
        let size = try FileManager.default.attributesOfItem(atPath: bundledData("breast-cancer", "train.pbr"))[.size] as? Int
        #expect(stats.rows == 455 && stats.bytes == size)
        #expect(batch.labelVector == csv.labelVector)
        guard case .dense(let x) = batch.features, case .dense(let y) = csv.features else { Issue.record("dense expected"); return }
        // The SDK rounds NumPy's float64 to float32, CSV parsing rounds the decimal text: at most one ulp apart.
        let worst = zip(x.elements, y.elements).map { abs($0 - $1) / max(abs($1), 1e-30) }.max() ?? 0
        #expect(worst <= 1.2e-7, "largest relative difference \(worst)")
        // The explicit content type, with parameters, reads the same.
        let (explicit, _) = try reader(tree, contentType: "application/x-recordio-protobuf; charset=binary").readAll()
        #expect(explicit == batch)
    }

    @Test("sparse records read as sparse rows, with feature_dim from the shape")
    func sparse() throws {
        let tree = try FakeOptML()
        defer { tree.remove() }
        let m = try SparseMatrix<Float>(rows: 3, columns: 1000, rowOffsets: [0, 2, 2, 3], columnIndices: [3, 999, 7], values: [1.5, -2, 4])
        try RecordIOProtobufWriter.write(Batch(features: .sparse(m), labels: Matrix(rows: 3, columns: 1, elements: [1, 0, 1])),
                                         to: tree.root + "/input/data/train/sparse.pbr")
        let (batch, _) = try reader(tree, contentType: "application/x-recordio-protobuf").readAll()
        #expect(batch.features == .sparse(m) && batch.labelVector == [1, 0, 1])
    }

    @Test("Pipe mode: the records streamed through train_0 by a writer process")
    func pipe() throws {
        let tree = try FakeOptML()
        defer { tree.remove() }
        let fifo = tree.root + "/input/data/train_0"
        let writer = try shell("mkfifo '\(fifo)'; cat '\(bundledData("breast-cancer", "train.pbr"))' > '\(fifo)'")
        let (piped, stats) = try reader(tree, contentType: nil, mode: .pipe).readAll()
        writer.waitUntilExit()
        let file = try RecordIOProtobufReader.readAll(path: bundledData("breast-cancer", "train.pbr"))
        #expect(piped == file && stats.rows == 455 && stats.bytes == 76440)
    }

    @Test("a truncated file is a ClientError naming the file and the record")
    func truncated() throws {
        let tree = try FakeOptML()
        defer { tree.remove() }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: bundledData("breast-cancer", "train.pbr")))
        let path = tree.root + "/input/data/train/cut.pbr"
        try bytes.prefix(bytes.count - 10).write(to: URL(fileURLWithPath: path))
        #expect {
            _ = try reader(tree, contentType: nil).readAll()
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix("ClientError") && text.contains("cut.pbr") && text.contains("record 455")
        }
    }

    @Test("a RecordIO wrapper around RecordIO-protobuf is accepted; a sample reads the first rows")
    func wrapperAndSample() throws {
        let tree = try treeWithSDKFile()
        defer { tree.remove() }
        let batch = try #require(try reader(tree, contentType: nil, wrapper: "RecordIO").sample(rows: 7))
        #expect(batch.rows == 7 && batch.features.columns == 30)
    }
}

@Suite("PipeChannel")
struct PipeChannelTests {
    @Test("one FIFO per pass: _0, then _1 appearing later, each read to EOF")
    func passes() throws {
        let tree = try FakeOptML()
        defer { tree.remove() }
        let data = tree.root + "/input/data"
        let writer = try shell("""
            mkfifo '\(data)/train_0'; printf 'pass zero' > '\(data)/train_0'
            sleep 0.3; mkfifo '\(data)/train_1'; printf 'pass one' > '\(data)/train_1'
            """)
        let pipe = PipeChannel(name: "train", directory: data)
        #expect(String(decoding: try pipe.readAll(epoch: 0), as: UTF8.self) == "pass zero")
        #expect(String(decoding: try pipe.readAll(epoch: 1), as: UTF8.self) == "pass one")
        writer.waitUntilExit()
        #expect(writer.terminationStatus == 0)
    }

    @Test("a FIFO that never appears is a ClientError after the timeout; cancellation stops the wait")
    func timeout() throws {
        let tree = try FakeOptML()
        defer { tree.remove() }
        let pipe = PipeChannel(name: "train", directory: tree.root + "/input/data", appearanceTimeout: .milliseconds(100))
        #expect { _ = try pipe.readAll(epoch: 0) } throws: { error in
            (error as? ContainerError)?.description.contains("did not appear within") == true
        }
        let flag = CancellationFlag()
        flag.cancel()
        let patient = PipeChannel(name: "train", directory: tree.root + "/input/data")
        #expect { _ = try patient.waitForFIFO(epoch: 0, cancellation: flag) } throws: { error in
            (error as? ContainerError)?.description.contains("stopped while waiting") == true
        }
    }
}

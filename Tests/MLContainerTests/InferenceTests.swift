import Foundation
import MLAlgorithms
import MLCore
import Testing
@testable import MLContainer

/// A linear learner with dyadic weights, so every path (BLAS, sparse loop) sums exactly and the
/// responses can be compared byte for byte.
private func model(_ type: PredictorType, features: Int = 3) throws -> LinearModel {
    let outputs = type == .multiclassClassifier ? 3 : 1
    let layout = LinearParameterLayout(features: features, outputs: outputs)
    let parameters = (0..<layout.count).map { Float(($0 * 7) % 9) * 0.125 - 0.5 }
    return try LinearModel(predictorType: type, layout: layout, parameters: parameters, scaler: LinearScaler(features: features))
}

private func handler(_ type: PredictorType, defaultAccept: String? = nil) throws -> ModelInvocations<LinearLearnerInference> {
    try ModelInvocations(model: LinearLearnerInference(model: model(type)), defaultAccept: defaultAccept)
}

private func invoke(_ h: ModelInvocations<LinearLearnerInference>, _ contentType: String?, _ body: [UInt8], accept: String? = nil) -> InvocationResponse {
    h.invoke(InvocationRequest(contentType: contentType, accept: accept, body: body))
}

private func text(_ r: InvocationResponse) -> String { String(decoding: r.body, as: UTF8.self) }

/// The rows every format below encodes.
private let rows: [[Float]] = [[1, 2, 3], [0, -1, 0.5], [4, 0, 0]]

private func npy(_ rows: [[Float]]) -> [UInt8] {
    var bytes = NPYWriter.header(for: Float.self, shape: [rows.count, rows[0].count])
    for v in rows.joined() { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
    return bytes
}

private func sparseRecordIO(_ rows: [[Float]]) throws -> [UInt8] {
    var offsets = [0], columns: [Int32] = [], values: [Float] = []
    for row in rows {
        for (j, v) in row.enumerated() where v != 0 { columns.append(Int32(j)); values.append(v) }
        offsets.append(columns.count)
    }
    let m = try SparseMatrix(rows: rows.count, columns: rows[0].count, rowOffsets: offsets, columnIndices: columns, values: values)
    return try RecordIOProtobufWriter.encode(Batch(features: .sparse(m)))
}

/// The same rows in every request format the linear learner reads.
private func requests() throws -> [(String, [UInt8])] {
    let csv = rows.map { $0.map { "\($0)" }.joined(separator: ",") }.joined(separator: "\n") + "\n"
    let dense = "{\"instances\": [" + rows.map { "{\"features\": [\($0.map { "\($0)" }.joined(separator: ", "))]}" }.joined(separator: ", ") + "]}"
    let tensor = "{\"instances\": [" + rows.map { row in
        let nz = row.indices.filter { row[$0] != 0 }
        return "{\"data\": {\"features\": {\"keys\": \(nz), \"shape\": [3], \"values\": [\(nz.map { "\(row[$0])" }.joined(separator: ", "))]}}}"
    }.joined(separator: ", ") + "]}"
    let lines = rows.map { "{\"features\": [\($0.map { "\($0)" }.joined(separator: ", "))]}" }.joined(separator: "\n")
    let denseRecords = try RecordIOProtobufWriter.encode(Batch(features: .dense(Matrix(rows: 3, columns: 3, elements: Array(rows.joined())))))
    return [("text/csv", Array(csv.utf8)), ("application/json", Array(dense.utf8)), ("application/json", Array(tensor.utf8)),
            ("application/jsonlines", Array(lines.utf8)), ("application/x-recordio-protobuf", denseRecords),
            ("application/x-recordio-protobuf", try sparseRecordIO(rows)), ("application/x-npy", npy(rows))]
}

@Suite("Inference: linear learner content types × accept")
struct LinearLearnerInferenceTests {
    @Test("JSON responses match LinearModel.predict for each predictor type", arguments: PredictorType.allCases)
    func jsonMatchesLibrary(type: PredictorType) throws {
        let m = try model(type)
        let reference = try m.predict(Matrix(rows: 3, columns: 3, elements: Array(rows.joined())))
        let objects = reference.map { p -> String in
            let score = type == .multiclassClassifier ? "[" + p.score.map { "\($0)" }.joined(separator: ", ") + "]" : "\(p.score[0])"
            return p.predictedLabel.map { "{\"score\": \(score), \"predicted_label\": \(Int($0))}" } ?? "{\"score\": \(score)}"
        }
        let h = try handler(type)
        for (contentType, body) in try requests() {
            let r = invoke(h, contentType, body, accept: "application/json")
            #expect(r.status == 200 && r.contentType == "application/json", "\(contentType): \(text(r))")
            #expect(text(r) == "{\"predictions\": [" + objects.joined(separator: ", ") + "]}", "\(contentType)")
            let lines = invoke(h, contentType, body, accept: "application/jsonlines")
            #expect(text(lines) == objects.map { $0 + "\n" }.joined(), "\(contentType)")
        }
    }

    @Test("every request format gives the same bytes for every Accept, sparse included", arguments: PredictorType.allCases)
    func formatsAgree(type: PredictorType) throws {
        let h = try handler(type)
        for accept in ResponseFormat.allCases {
            let responses = try requests().map { invoke(h, $0.0, $0.1, accept: accept.rawValue) }
            #expect(responses.allSatisfy { $0.status == 200 && $0.contentType == accept.rawValue }, "\(responses.map(text))")
            #expect(Set(responses.map(\.body)).count == 1, "\(accept): \(responses.map(text))")
        }
    }

    @Test("CSV and RecordIO-protobuf responses: fields in order; score and predicted_label as float32 tensors in label")
    func csvAndRecordIO() throws {
        let m = try model(.multiclassClassifier)
        let reference = try m.predict(Matrix(rows: 3, columns: 3, elements: Array(rows.joined())))
        let h = try handler(.multiclassClassifier)
        let csv = try requests()[0]
        let r = invoke(h, csv.0, csv.1, accept: "text/csv")
        #expect(text(r) == reference.map { p in (p.score.map { "\($0)" } + ["\(Int(p.predictedLabel ?? -1))"]).joined(separator: ",") + "\n" }.joined())
        let records = try RecordIOProtobufReader.decodeRecords(invoke(h, csv.0, csv.1, accept: "application/x-recordio-protobuf").body)
        #expect(records.count == 3)
        for (record, p) in zip(records, reference) {
            #expect(record.features.isEmpty)
            #expect(record.label["score"] == .dense(p.score) && record.label["predicted_label"] == .dense([p.predictedLabel ?? -1]))
        }
        let regression = invoke(try handler(.regressor), csv.0, csv.1, accept: "application/x-recordio-protobuf")
        #expect(try RecordIOProtobufReader.decodeRecords(regression.body).allSatisfy { $0.label.keys.sorted() == ["score"] })
    }

    @Test("Accept: empty and */* mean the default (application/json, or SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT); lists and q-values; header parameters")
    func acceptNegotiation() throws {
        let body = Array("1,2,3\n".utf8)
        let h = try handler(.binaryClassifier)
        for accept in [nil, "", "*/*", "application/*", "text/html, */*;q=0.1"] {
            #expect(invoke(h, "text/csv", body, accept: accept).contentType == "application/json", "\(accept ?? "nil")")
        }
        #expect(invoke(h, "text/csv", body, accept: "text/csv;q=0.5, application/jsonlines").contentType == "application/jsonlines")
        #expect(invoke(h, "text/csv", body, accept: "TEXT/CSV; charset=utf-8").contentType == "text/csv")
        #expect(invoke(h, "text/csv", body, accept: "text/*").contentType == "text/csv")
        let csvDefault = try handler(.binaryClassifier, defaultAccept: "text/csv")
        #expect(invoke(csvDefault, "text/csv", body, accept: "*/*").contentType == "text/csv")
        #expect(throws: ContainerError.self) { try handler(.binaryClassifier, defaultAccept: "image/png") }
    }

    @Test("content-type parameters: label_size drops leading columns, charset is ignored; a BOM and CRLF are accepted")
    func contentTypeParameters() throws {
        let h = try handler(.binaryClassifier)
        let plain = invoke(h, "text/csv", Array("1,2,3\n".utf8))
        #expect(invoke(h, "text/csv; label_size=1", Array("9,1,2,3\r\n".utf8)).body == plain.body)
        #expect(invoke(h, "Text/CSV; charset=utf-8", [0xEF, 0xBB, 0xBF] + Array("1,2,3".utf8)).body == plain.body)
        #expect(invoke(h, "text/csv", Array("\n1, 2 ,3\n\n".utf8)).body == plain.body)
    }
}

@Suite("Inference: errors are responses")
struct InferenceErrorTests {
    @Test("status and message for each bad request", arguments: [
        (nil, "1,2,3", nil, 415, "no Content-Type"),
        ("image/png", "1,2,3", nil, 415, "not supported"),
        ("text/libsvm", "1 0:1", nil, 415, "not supported"),
        ("text/csv", "1,2,3", "image/png", 406, "accepted: application/json"),
        ("text/csv", "1,2", nil, 400, "row 1 has 2 columns but the model takes 3"),
        ("text/csv", "1,2,3\n4,5,6,7", nil, 400, "row 2 has 4 columns but the model takes 3"),
        ("text/csv", "1,x,3", nil, 400, "row 1, column 2: 'x' is not a finite number"),
        ("text/csv", "1,nan,3", nil, 400, "row 1, column 2: 'nan' is not a finite number"),
        ("text/csv", "1,,3", nil, 400, "row 1, column 2 is empty"),
        ("text/csv; label_size=x", "1,2,3", nil, 415, "label_size='x'"),
        ("application/json", "{\"instances\": [{\"features\": [1, 2]}]}", nil, 400, "instance 1 has 2 features but the model takes 3"),
        ("application/json", "{\"instances\": [{\"features\": [1, 2, \"a\"]}]}", nil, 400, "instance 1, feature 3"),
        ("application/json", "{\"instances\": [{\"data\": {\"features\": {\"keys\": [5], \"values\": [1]}}}]}", nil, 400, "key 5"),
        ("application/json", "{\"instances\": [{\"data\": {\"features\": {\"keys\": [0], \"shape\": [4], \"values\": [1]}}}]}", nil, 400, "shape is [4] but the model takes 3"),
        ("application/json", "{\"instances\": [", nil, 400, "not valid JSON"),
        ("application/json", "{\"rows\": []}", nil, 400, "no \"instances\""),
        ("application/jsonlines", "{\"features\": [1, 2, 3]}\n{\"features\": [1]}", nil, 400, "line 2 has 1 features"),
        ("application/x-recordio-protobuf", "garbage!", nil, 400, "RecordIO-protobuf body is invalid"),
        ("application/x-npy", "\u{93}NUMPY", nil, 400, "NPY body is invalid"),
    ] as [(String?, String, String?, Int, String)])
    func badRequests(contentType: String?, body: String, accept: String?, status: Int, message: String) throws {
        let r = invoke(try handler(.binaryClassifier), contentType, Array(body.utf8), accept: accept)
        #expect(r.status == status, "\(text(r))")
        #expect(text(r).contains(message), "\(text(r))")
        #expect(r.contentType?.hasPrefix("text/plain") == true)
    }

    @Test("an empty body, or one of blank lines, is 204 with no content")
    func empty() throws {
        let h = try handler(.binaryClassifier)
        for body in ["", "\n\n", " \r\n"] {
            let r = invoke(h, "text/csv", Array(body.utf8))
            #expect(r.status == 204 && r.body.isEmpty, "\(body.debugDescription)")
        }
        #expect(invoke(h, "application/json", Array("{\"instances\": []}".utf8)).status == 204)
    }

    @Test("records of the wrong width are refused with both counts")
    func recordIOWidth() throws {
        let records = try RecordIOProtobufWriter.encode(Batch(features: .dense(Matrix(rows: 1, columns: 2, elements: [1, 2]))))
        let r = invoke(try handler(.binaryClassifier), "application/x-recordio-protobuf", records)
        #expect(r.status == 400 && text(r).contains("2 features but the model takes 3"), "\(text(r))")
        let wide = npy([[1, 2, 3, 4]])
        #expect(invoke(try handler(.binaryClassifier), "application/x-npy", wide).status == 400)
    }
}

@Suite("Inference: the model directory")
struct InferenceHandlersTests {
    @Test("loads what training saved; an unknown algorithm or a missing model is a ClientError")
    func load() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("model-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let m = try model(.binaryClassifier)
        try m.save(to: directory)
        let h = try InferenceHandlers.load(algorithm: "linear-learner", modelDirectory: directory)
        let r = h.invoke(InvocationRequest(contentType: "text/csv", accept: nil, body: Array("1,2,3\n".utf8)))
        let p = try m.predict(Matrix(rows: 1, columns: 3, elements: [1, 2, 3]))[0]
        #expect(text(r) == "{\"predictions\": [{\"score\": \(p.score[0]), \"predicted_label\": \(Int(p.predictedLabel ?? -1))}]}")
        #expect(throws: ContainerError.self) { try InferenceHandlers.load(algorithm: "kmeans", modelDirectory: directory) }
        #expect(throws: ContainerError.self) { try InferenceHandlers.load(algorithm: "linear-learner", modelDirectory: directory + "/nope") }
    }
}

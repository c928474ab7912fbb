import Foundation
import MLCore
import Testing
@testable import MLAlgorithms

/// The committed PyTorch fixtures (scripts/generate_cnn_fixtures.py).
func cnnFixture(_ name: String) throws -> Safetensors {
    let url = try #require(Bundle.module.resourceURL).appendingPathComponent("Fixtures/cnn/\(name).safetensors")
    return try Safetensors.read(path: url.path)
}

extension Safetensors {
    /// A tensor's values as Float (float32, or int64 converted), failing the test if absent.
    func floats(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [Float] {
        let tensor = try #require(tensors[name], "fixture tensor \(name) is missing", sourceLocation: sourceLocation)
        if let v = tensor.values(as: Float.self) { return v }
        if tensor.dtype == .i64 {
            return tensor.bytes.withUnsafeBytes { raw in
                (0..<tensor.elementCount).map { Float(raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
            }
        }
        Issue.record("fixture tensor \(name) is \(tensor.dtype)", sourceLocation: sourceLocation)
        return []
    }

    func shape(_ name: String) -> [Int] { tensors[name]?.shape ?? [] }

    /// The tensors whose names start with `prefix`, renamed without it.
    func prefixed(_ prefix: String) -> Safetensors {
        var out: [String: Tensor] = [:]
        for (k, v) in tensors where k.hasPrefix(prefix) { out[String(k.dropFirst(prefix.count))] = v }
        return Safetensors(tensors: out)
    }
}

/// `|a − b| ≤ atol + rtol·max(|a|, |b|)` element-wise, shapes first; reports the worst element.
func expectClose(_ actual: [Float], _ expected: [Float], atol: Float, rtol: Float, _ what: String,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    precondition(atol >= 0 && rtol >= 0, "tolerances are never negative")
    guard actual.count == expected.count else {
        Issue.record("\(what): \(actual.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
        return
    }
    var worst = -1, worstExcess: Float = 0
    for i in actual.indices {
        let a = actual[i], b = expected[i]
        let excess = abs(a - b) - (atol + rtol * max(abs(a), abs(b)))
        if !(excess <= 0), worst < 0 || !(excess <= worstExcess) { worst = i; worstExcess = excess }
    }
    if worst >= 0 {
        Issue.record("\(what): element \(worst) is \(actual[worst]), expected \(expected[worst]) (atol \(atol), rtol \(rtol))",
                     sourceLocation: sourceLocation)
    }
}

/// The repository's bundled scikit-learn digits (data/digits/*.csv: label, then 64 pixels 0…16)
/// as 1×8×8 images scaled to [0, 1].
func digitsImages(_ channel: String) throws -> ImageDataset {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let text = try String(contentsOf: root.appendingPathComponent("data/digits/\(channel).csv"), encoding: .utf8)
    var images: [Float] = [], labels: [Float] = []
    for line in text.split(separator: "\n") where !line.isEmpty {
        let fields = line.split(separator: ",").compactMap { Float($0) }
        try #require(fields.count == 65)
        labels.append(fields[0])
        images += fields[1...].map { $0 / 16 }
    }
    return try ImageDataset(shape: FeatureShape(channels: 1, height: 8, width: 8), images: images, targets: labels)
}

/// Runs `body` on a thread of its own and awaits it. Swift Testing runs test functions on the
/// cooperative pool (one thread per core); a training run that holds a pool thread for minutes
/// can starve the tests that serve HTTP on the same pool, so long runs go here instead.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.stackSize = 8 << 20
        thread.start()
    }
}

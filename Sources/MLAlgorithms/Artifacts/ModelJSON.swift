import Foundation
import MLCore

/// Reading and writing the `model.json` beside every algorithm's `model.safetensors`: sorted
/// keys (the same bytes every time), written atomically.
enum ModelJSON {
    static func write(_ object: [String: Any], to path: String) throws(ArtifactError) {
        do {
            var data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
            data.append(0x0A)
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw .io(path: path, reason: error.localizedDescription)
        }
    }

    /// The file's top-level object, or `nil` when it is valid JSON of another shape (each
    /// algorithm's loader says what it expected).
    static func read(_ path: String) throws(ArtifactError) -> [String: Any]? {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw .io(path: path, reason: error.localizedDescription)
        }
        return object as? [String: Any]
    }

    /// A function that returns the named F32 tensor of `shape`, or an error naming what is wrong.
    static func tensorReader(_ file: Safetensors, path: String) -> (String, [Int]) throws(ArtifactError) -> [Float] {
        { (name: String, shape: [Int]) throws(ArtifactError) -> [Float] in
            guard let t = file.tensors[name] else { throw .tensor(path: path, name: name, reason: "missing") }
            guard t.shape == shape, let values = t.values(as: Float.self) else {
                throw .tensor(path: path, name: name, reason: "expected F32 of shape \(shape), found \(t.dtype.rawValue) \(t.shape)")
            }
            return values
        }
    }
}


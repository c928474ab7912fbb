import Foundation
import MLCore

/// Reading and writing the `model.json` beside a `model.safetensors`: sorted keys (the same
/// bytes every time), written atomically.
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

    static func read(_ path: String) throws(ArtifactError) -> [String: Any] {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw .io(path: path, reason: error.localizedDescription)
        }
        guard let json = object as? [String: Any] else { throw .invalid(path: path, reason: "not a JSON object") }
        return json
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


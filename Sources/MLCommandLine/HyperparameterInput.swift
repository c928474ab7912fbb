import Foundation

/// One `-p NAME=VALUE` argument.
public struct HyperparameterAssignment: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    /// Splits at the first `=`; the name must be non-empty (the value may be empty or contain `=`).
    public static func parse(_ argument: String) throws(CommandLineError) -> HyperparameterAssignment {
        guard let equals = argument.firstIndex(of: "=") else {
            throw .invalidArgument("'\(argument)' is not NAME=VALUE (for example -p epochs=10)")
        }
        let name = argument[..<equals].trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty else {
            throw .invalidArgument("'\(argument)' has no name before '=' (expected NAME=VALUE, for example -p epochs=10)")
        }
        return HyperparameterAssignment(name: name, value: String(argument[argument.index(after: equals)...]))
    }
}

/// The string map the algorithms parse, as SageMaker hands it over in `hyperparameters.json`.
enum HyperparameterInput {
    /// The hyperparameters of `jsonFile` (if any), then `assignments` in order: on the same name
    /// an assignment wins over the file, and a later assignment over an earlier one.
    static func strings(jsonFile: String?, assignments: [HyperparameterAssignment]) throws(CommandLineError) -> [String: String] {
        var strings = try jsonFile.map { path throws(CommandLineError) in try readJSON(path) } ?? [:]
        for a in assignments { strings[a.name] = a.value }
        return strings
    }

    /// A JSON object of names to values. SageMaker writes every value as a string; numbers and
    /// booleans are accepted too (as their JSON text), anything else is an error naming the key.
    static func readJSON(_ path: String) throws(CommandLineError) -> [String: String] {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw .file(path: path, reason: "is a directory, not a JSON file")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .file(path: path, reason: CommandLineError.reason(error))
        }
        do {
            return try JSONDecoder().decode([String: JSONScalar].self, from: data).mapValues(\.text)
        } catch DecodingError.typeMismatch(_, let context) where !context.codingPath.isEmpty {
            let key = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw .file(path: path, reason: "the value of '\(key)' must be a string, number or boolean")
        } catch {
            throw .file(path: path, reason: "expected a JSON object mapping hyperparameter names to string values, "
                        + "as SageMaker's hyperparameters.json (e.g. {\"epochs\": \"10\"})")
        }
    }

    /// A JSON string, number or boolean, kept as text.
    struct JSONScalar: Decodable {
        var text: String

        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let s = try? c.decode(String.self) {
                text = s
            } else if let b = try? c.decode(Bool.self) {
                text = b ? "true" : "false"
            } else if let i = try? c.decode(Int.self) {
                text = String(i)
            } else if let d = try? c.decode(Double.self) {
                text = String(d)
            } else {
                throw DecodingError.typeMismatch(String.self, .init(codingPath: c.codingPath, debugDescription: "not a scalar"))
            }
        }
    }
}

import Foundation

/// A MIME type with parameters, as a channel's `ContentType` or a request's `Content-Type`
/// carries it: `text/csv;label_size=0`, `application/x-recordio; label-format=class-id`.
/// Type, subtype and parameter names are case-insensitive (stored lower-cased); parameter
/// values keep their case, with surrounding quotes removed.
public struct MediaType: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// `text/csv` (lower-cased, no parameters).
    public let essence: String
    public let parameters: [String: String]

    public init(parsing text: String) throws(ContainerError) {
        let parts = text.split(separator: ";", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        let essence = parts[0].lowercased()
        let pieces = essence.split(separator: "/", omittingEmptySubsequences: false)
        guard pieces.count == 2, pieces.allSatisfy({ !$0.isEmpty && $0.allSatisfy(Self.isTokenCharacter) }) else {
            throw .client("content type '\(text)' is not a MIME type such as text/csv or application/x-recordio-protobuf")
        }
        var parameters: [String: String] = [:]
        for part in parts.dropFirst() where !part.isEmpty {
            guard let eq = part.firstIndex(of: "=") else {
                throw .client("content type '\(text)': parameter '\(part)' is not name=value")
            }
            let name = part[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
            var value = part[part.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            guard !name.isEmpty else { throw .client("content type '\(text)': a parameter has no name") }
            parameters[name] = value
        }
        self.essence = essence
        self.parameters = parameters
    }

    /// SageMaker XGBoost's shorthand content types (`csv`, `libsvm`, `recordio-protobuf`,
    /// `parquet`, the SDK's examples use them) as MIME types; anything else unchanged.
    public static func expandingShorthand(_ text: String) -> String {
        let parts = text.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)
        let head = parts[0].trimmingCharacters(in: .whitespaces).lowercased()
        let full: String? = switch head {
        case "csv": "text/csv"
        case "libsvm": "text/libsvm"
        case "recordio-protobuf": "application/x-recordio-protobuf"
        case "parquet": "application/x-parquet"
        default: nil
        }
        guard let full else { return text }
        return parts.count > 1 ? full + ";" + parts[1] : full
    }

    public var description: String {
        ([essence] + parameters.keys.sorted().map { "\($0)=\(parameters[$0] ?? "")" }).joined(separator: ";")
    }

    private static func isTokenCharacter(_ c: Character) -> Bool {
        c.isASCII && (c.isLetter || c.isNumber || "!#$&^_.+-".contains(c))
    }
}

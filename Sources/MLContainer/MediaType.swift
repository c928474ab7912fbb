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

    public var description: String {
        ([essence] + parameters.keys.sorted().map { "\($0)=\(parameters[$0] ?? "")" }).joined(separator: ";")
    }

    private static func isTokenCharacter(_ c: Character) -> Bool {
        c.isASCII && (c.isLetter || c.isNumber || "!#$&^_.+-".contains(c))
    }
}

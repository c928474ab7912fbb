import Foundation

/// Why an invocation could not be answered with predictions: an HTTP status and a message
/// that says what and where (reference §2.2). Thrown inside the inference pipeline and turned
/// into an ``InvocationResponse`` at its edge.
public struct InvocationFailure: Error, Equatable, Sendable, CustomStringConvertible {
    public var status: Int
    public var message: String

    public init(_ status: Int, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { "\(status): \(message)" }

    public var response: InvocationResponse { .error(status, message) }
}

/// A request body's format, from its `Content-Type`.
public enum RequestFormat: String, Sendable, CaseIterable {
    case csv = "text/csv"
    case json = "application/json"
    case jsonLines = "application/jsonlines"
    case recordIOProtobuf = "application/x-recordio-protobuf"
    case npy = "application/x-npy"
    case libsvm = "text/libsvm"

    /// The format and the content type's parameters; an unknown or missing content type is a 415
    /// listing what `supported` reads.
    public static func parse(contentType: String?, supported: [RequestFormat]) throws(InvocationFailure) -> (RequestFormat, MediaType) {
        let list = supported.map(\.rawValue).joined(separator: ", ")
        guard let contentType, !contentType.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw InvocationFailure(415, "the request has no Content-Type; send one of: \(list)")
        }
        let media: MediaType
        do {
            media = try MediaType(parsing: contentType)
        } catch {
            throw InvocationFailure(415, "Content-Type '\(contentType)' is not a MIME type; send one of: \(list)")
        }
        guard let format = Self(essence: media.essence), supported.contains(format) else {
            throw InvocationFailure(415, "Content-Type '\(contentType)' is not supported; send one of: \(list)")
        }
        return (format, media)
    }

    /// The format a MIME essence names, aliases included.
    public init?(essence: String) {
        switch essence {
        case "text/csv": self = .csv
        case "application/json": self = .json
        case "application/jsonlines", "application/json-lines", "application/x-jsonlines", "application/jsonl": self = .jsonLines
        case "application/x-recordio-protobuf": self = .recordIOProtobuf
        case "application/x-npy": self = .npy
        case "text/libsvm", "text/x-libsvm": self = .libsvm
        default: return nil
        }
    }
}

/// A response's format, from the request's `Accept`.
public enum ResponseFormat: String, Sendable, CaseIterable {
    case json = "application/json"
    case jsonLines = "application/jsonlines"
    case csv = "text/csv"
    case recordIOProtobuf = "application/x-recordio-protobuf"

    /// The response format for `accept` (reference §2.2): empty or `*/*` means `fallback`
    /// (`SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT`, else the algorithm's default). A list is tried
    /// in order of its `q` values (then as written); `type/*` takes the first supported format
    /// of that type. Nothing supported is a 406 listing what is.
    public static func negotiate(accept: String?, fallback: ResponseFormat, supported: [ResponseFormat] = allCases) throws(InvocationFailure) -> ResponseFormat {
        guard let accept, !accept.trimmingCharacters(in: .whitespaces).isEmpty else { return fallback }
        var candidates: [(essence: String, q: Double, order: Int)] = []
        for (order, item) in accept.split(separator: ",").enumerated() {
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let first = parts.first, !first.isEmpty else { continue }
            var q = 1.0
            for parameter in parts.dropFirst() where parameter.lowercased().hasPrefix("q=") {
                q = Double(parameter.dropFirst(2)) ?? 1
            }
            if q > 0 { candidates.append((first.lowercased(), q, order)) }
        }
        candidates.sort { $0.q != $1.q ? $0.q > $1.q : $0.order < $1.order }
        for candidate in candidates {
            if candidate.essence == "*/*" || candidate.essence == "*" { return fallback }
            if candidate.essence.hasSuffix("/*") {
                let type = candidate.essence.dropLast(1)
                if fallback.rawValue.hasPrefix(type) { return fallback }
                if let match = supported.first(where: { $0.rawValue.hasPrefix(type) }) { return match }
                continue
            }
            if let format = Self(essence: candidate.essence), supported.contains(format) { return format }
        }
        throw InvocationFailure(406, "Accept '\(accept)' names no supported response type; accepted: "
                                     + supported.map(\.rawValue).joined(separator: ", "))
    }

    /// The format a MIME essence names, aliases included.
    public init?(essence: String) {
        switch essence {
        case "application/json": self = .json
        case "application/jsonlines", "application/json-lines", "application/x-jsonlines", "application/jsonl": self = .jsonLines
        case "text/csv": self = .csv
        case "application/x-recordio-protobuf": self = .recordIOProtobuf
        default: return nil
        }
    }
}

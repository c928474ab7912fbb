import Foundation

/// A problem with what `mlc` was asked to do that the algorithm and data libraries do not
/// describe themselves: arguments, the hyperparameters file, the model directory.
public enum CommandLineError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An argument that parses but makes no sense (`-p epochs` without `=`).
    case invalidArgument(String)
    /// A file `mlc` reads itself (not a data channel) that is missing or malformed.
    case file(path: String, reason: String)
    /// The model directory cannot be created or is not a directory.
    case modelDirectory(path: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidArgument(message):
            message
        case let .file(path, reason):
            "\(path): \(reason)"
        case let .modelDirectory(path, reason):
            "model directory \(path): \(reason)"
        }
    }

    /// The operating system's words for a Foundation file error (`No such file or directory`)
    /// rather than Foundation's generic sentence.
    static func reason(_ error: any Error) -> String {
        let ns = error as NSError
        for candidate in [ns, ns.userInfo[NSUnderlyingErrorKey] as? NSError].compactMap({ $0 })
        where candidate.domain == NSPOSIXErrorDomain {
            if let message = strerror(Int32(candidate.code)) { return String(cString: message) }
        }
        if ns.domain == NSCocoaErrorDomain {
            switch ns.code {
            case NSFileReadNoSuchFileError, NSFileNoSuchFileError: return "No such file or directory"
            case NSFileReadNoPermissionError, NSFileWriteNoPermissionError: return "Permission denied"
            default: break
            }
        }
        return ns.localizedDescription
    }
}

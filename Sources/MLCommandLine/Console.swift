#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Where a command's output goes: the process's stdout and stderr, or (in tests) closures that
/// capture it.
///
/// Every call receives complete text, usually one line with its `\n`; writers must not buffer
/// it (stdout lines are scraped by SageMaker's metric regexes as they appear). Calls can come
/// from a training worker thread, one at a time and in order.
public struct Console: Sendable {
    /// Results: the header line, metric lines, the summary.
    public var standardOutput: @Sendable (String) -> Void
    /// Errors, the progress bar and interrupt notices.
    public var standardError: @Sendable (String) -> Void
    /// Whether stderr is a terminal (the progress bar is drawn only then).
    public var errorIsTerminal: Bool

    public init(standardOutput: @escaping @Sendable (String) -> Void,
                standardError: @escaping @Sendable (String) -> Void,
                errorIsTerminal: Bool = false) {
        self.standardOutput = standardOutput
        self.standardError = standardError
        self.errorIsTerminal = errorIsTerminal
    }

    /// The process's file descriptors 1 and 2, written with `write(2)` (no buffering, no traps on
    /// a closed pipe); the progress bar only when `isatty(2)`.
    public static func process() -> Console {
        Console(standardOutput: { FileDescriptorWriter.standardOutput.write($0) },
                standardError: { FileDescriptorWriter.standardError.write($0) },
                errorIsTerminal: isatty(2) == 1)
    }

    /// Writes `line` and a newline to stdout.
    func out(_ line: String) { standardOutput(line + "\n") }

    /// Writes `line` and a newline to stderr.
    func err(_ line: String) { standardError(line + "\n") }
}

/// Whole-text writes to a file descriptor, serialized so lines from different threads never
/// interleave.
final class FileDescriptorWriter: Sendable {
    static let standardOutput = FileDescriptorWriter(descriptor: 1)
    static let standardError = FileDescriptorWriter(descriptor: 2)

    private let descriptor: Int32
    private let lock = Mutex(())

    init(descriptor: Int32) { self.descriptor = descriptor }

    /// Writes every byte of `text`, retrying after signals; other failures (a closed pipe) drop
    /// the text: there is nowhere left to report them.
    func write(_ text: String) {
        var bytes = Array(text.utf8)
        lock.withLock { _ in
            bytes.withUnsafeMutableBytes { buffer in
                guard let base = buffer.baseAddress else { return }
                var done = 0
                while done < buffer.count {
                    #if canImport(Darwin)
                    let n = Darwin.write(descriptor, base + done, buffer.count - done)
                    #elseif canImport(Glibc)
                    let n = Glibc.write(descriptor, base + done, buffer.count - done)
                    #else
                    let n = Musl.write(descriptor, base + done, buffer.count - done)
                    #endif
                    if n < 0 {
                        if errno == EINTR { continue }
                        return
                    }
                    done += n
                }
            }
        }
    }
}

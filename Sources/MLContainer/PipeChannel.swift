#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import MLCore

/// A Pipe-mode channel (reference §1.6): SageMaker streams the channel's objects through a FIFO
/// per pass, `<data>/<channel>_0`, then `<channel>_1`, … . Each FIFO is created when SageMaker is
/// ready to feed that pass, so the reader waits for it to appear; opening it blocks until
/// SageMaker opens the writing end, and reading ends at EOF.
public struct PipeChannel: Sendable {
    public let name: String
    /// The directory holding the FIFOs (`/opt/ml/input/data`).
    public let directory: String
    /// How long to wait for a FIFO to appear before giving up with a ClientError.
    public var appearanceTimeout: Duration
    public var pollInterval: Duration = .milliseconds(20)

    public init(name: String, directory: String, appearanceTimeout: Duration = .seconds(600)) {
        self.name = name
        self.directory = directory
        self.appearanceTimeout = appearanceTimeout
    }

    /// The FIFO of pass `epoch`.
    public func path(epoch: Int) -> String { directory + "/\(name)_\(epoch)" }

    /// Waits until the FIFO of pass `epoch` exists and returns its path. Stops early (with a
    /// ClientError saying so) when `cancellation` is set.
    public func waitForFIFO(epoch: Int, cancellation: CancellationFlag? = nil) throws(ContainerError) -> String {
        let path = self.path(epoch: epoch)
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: appearanceTimeout)
        var info = stat()
        while stat(path, &info) != 0 {
            if cancellation?.isCancelled == true { throw .client("channel '\(name)': stopped while waiting for \(path)") }
            guard clock.now < deadline else {
                throw .client("channel '\(name)' is in Pipe mode but \(path) did not appear within \(appearanceTimeout) "
                              + "(is TrainingInputMode right for this channel?)")
            }
            Thread.sleep(forTimeInterval: Double(pollInterval.components.attoseconds) / 1e18 + Double(pollInterval.components.seconds))
        }
        return path
    }

    /// Every byte of pass `epoch`: waits for its FIFO, opens it and reads to EOF.
    public func readAll(epoch: Int, cancellation: CancellationFlag? = nil) throws(ContainerError) -> [UInt8] {
        let path = try waitForFIFO(epoch: epoch, cancellation: cancellation)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .client("channel '\(name)': cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                throw .client("channel '\(name)': reading \(path) failed: \(String(cString: strerror(errno)))")
            }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return bytes
    }
}

import Dispatch
import Foundation
import MLContainer
import MLServing
import Synchronization

/// Answers with what it received: `content-type=…`, `accept=…`, `length=…` lines; 204 for an
/// empty body, as real handlers do.
struct EchoHandler: InvocationHandler {
    var algorithm: String { "echo" }

    func invoke(_ request: InvocationRequest) -> InvocationResponse {
        guard !request.body.isEmpty else { return .noContent }
        let text = "content-type=\(request.contentType ?? "-")\naccept=\(request.accept ?? "-")\nlength=\(request.body.count)\n"
        return InvocationResponse(status: 200, contentType: "text/plain", body: Array(text.utf8))
    }
}

/// Signals ``started`` when a request arrives, then takes `delay` to answer (a request in
/// flight when the server is told to shut down).
struct SlowHandler: InvocationHandler {
    var algorithm: String { "slow" }
    let delay: Double
    let started: DispatchSemaphore
    /// Signalled once the delay is over, just before the response is returned.
    var finished: DispatchSemaphore? = nil

    func invoke(_ request: InvocationRequest) -> InvocationResponse {
        started.signal()
        Thread.sleep(forTimeInterval: delay)
        finished?.signal()
        return InvocationResponse(status: 200, contentType: "text/plain", body: Array("done".utf8))
    }
}

/// Answers with a fixed status (an invalid one checks the server does not trap).
struct StatusHandler: InvocationHandler {
    var algorithm: String { "status" }
    let status: Int

    func invoke(_ request: InvocationRequest) -> InvocationResponse {
        InvocationResponse(status: status, contentType: nil, body: [])
    }
}

/// A server under test on 127.0.0.1, running in a task.
struct RunningServer {
    let server: InferenceServer
    let port: Int
    let task: Task<ContainerError?, Never>

    /// Starts `loader`'s model behind a server on a free port (or the configuration's) and waits
    /// until it listens; with `waitUntilReady`, until `/ping` answers 200 too.
    static func start(_ configuration: ServingConfiguration = ServingConfiguration(port: 0), waitUntilReady: Bool = true,
                      offloadThreshold: Int = 64 << 10,
                      loader: @escaping @Sendable () throws -> any InvocationHandler = { EchoHandler() }) async throws -> RunningServer {
        let server = InferenceServer(configuration: configuration, algorithm: "test", host: "127.0.0.1", handlesSignals: false,
                                     offloadThreshold: offloadThreshold, gracefulShutdownLimit: .seconds(10), loader: loader)
        let task = Task { () -> ContainerError? in
            do throws(ContainerError) {
                try await server.run()
                return nil
            } catch {
                return error
            }
        }
        guard let port = await server.listeningPort() else {
            throw HTTPTestError(description: "the server did not start: \(String(describing: await task.value))")
        }
        let running = RunningServer(server: server, port: port, task: task)
        if waitUntilReady {
            for _ in 0..<500 where !server.isReady { try await Task.sleep(for: .milliseconds(10)) }
        }
        return running
    }

    /// Shuts the server down gracefully; the error ``InferenceServer/run()`` threw, if any.
    @discardableResult
    func stop() async -> ContainerError? {
        await server.shutdown()
        return await task.value
    }
}

/// Sleeps `delay` per request and records the most requests it ever ran at once.
final class ConcurrencyProbe: InvocationHandler, Sendable {
    var algorithm: String { "probe" }
    let delay: Double
    private let counts = Mutex((now: 0, most: 0))

    init(delay: Double) { self.delay = delay }

    var most: Int { counts.withLock { $0.most } }

    func invoke(_ request: InvocationRequest) -> InvocationResponse {
        counts.withLock { $0.now += 1; $0.most = max($0.most, $0.now) }
        Thread.sleep(forTimeInterval: delay)
        counts.withLock { $0.now -= 1 }
        return InvocationResponse(status: 200, contentType: "text/plain", body: Array("done".utf8))
    }
}

/// A value shared by tasks, behind a lock.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    func withLock<R>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }

    var value: Value { mutex.withLock { $0 } }
}

/// A one-shot gate a loader waits on (a slow model load the test ends when it wants).
final class Gate: Sendable {
    private let semaphore = DispatchSemaphore(value: 0)

    func open() { semaphore.signal() }

    func wait() { semaphore.wait() }
}

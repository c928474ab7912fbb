import Dispatch
import Hummingbird
import HummingbirdCore
import Logging
import MLContainer
// Hummingbird runs its server as a swift-service-lifecycle Service and takes its graceful
// shutdown (SIGTERM: stop accepting, finish in-flight requests) from a ServiceGroup.
import ServiceLifecycle
import Synchronization

/// The inference container's HTTP server (reference §2.2): `GET /ping`, `POST /invocations`,
/// `GET /execution-parameters`, in front of one ``InvocationHandler``.
///
/// Life cycle:
/// 1. ``run()`` binds the port and logs one line naming the algorithm and the port; `/ping`
///    answers 503 from then on.
/// 2. The model loads once, on a Dispatch thread (never on an event loop, so a slow load does not
///    delay `/ping`); when it is in place `/ping` answers 200 and `/invocations` is served.
/// 3. If loading fails, the server shuts down and ``run()`` throws the loader's error: the
///    container exits non-zero at once, with the reason in its log, rather than answering 503
///    until SageMaker gives up on the health check minutes later.
/// 4. SIGTERM or SIGINT (when ``handlesSignals``), or ``shutdown()``: the listening socket
///    closes, idle connections close, in-flight requests finish and are answered, then ``run()``
///    returns. Requests still running after ``gracefulShutdownLimit`` are cancelled, so the
///    process ends before SageMaker's SIGKILL 30 s after SIGTERM.
///
/// No line is logged per request: at tens of thousands of requests a second the log would cost
/// more than the predictions.
public final class InferenceServer: Sendable {
    /// Port, payload limit and the batch transform parameters.
    public let configuration: ServingConfiguration
    /// The algorithm's name, for the startup line.
    public let algorithm: String
    /// The address to bind: `0.0.0.0` in a container, `127.0.0.1` in tests.
    public let host: String
    /// Whether SIGTERM and SIGINT start the graceful shutdown (the `mlc serve` process: yes;
    /// tests in a shared process: no, they call ``shutdown()``).
    public let handlesSignals: Bool
    /// Bodies at least this large are predicted on a Dispatch thread instead of the Swift
    /// concurrency thread that read them (see ``InferenceResponder``).
    public let offloadThreshold: Int
    /// How long in-flight requests may run after a shutdown starts before they are cancelled.
    public let gracefulShutdownLimit: Duration

    let logger: Logger
    let loader: @Sendable () throws -> any InvocationHandler
    let model = ModelSlot()
    private let state = Mutex(State())

    private struct State {
        var group: ServiceGroup?
        var shutdownRequested = false
        var port: Int?
        var stopped = false
        var portWaiters: [CheckedContinuation<Int?, Never>] = []
        var loadError: ContainerError?
    }

    /// - Parameters:
    ///   - configuration: from ``ServingConfiguration/init(environment:workers:)``; port 0 binds
    ///     a free port (tests read it from ``listeningPort()``).
    ///   - algorithm: the algorithm's name, for the log.
    ///   - host: the address to bind.
    ///   - handlesSignals: whether SIGTERM/SIGINT shut the server down gracefully.
    ///   - offloadThreshold: body size in bytes from which `invoke` runs on a Dispatch thread.
    ///   - gracefulShutdownLimit: the longest a graceful shutdown waits for in-flight requests.
    ///   - logger: the startup line, the model-ready line, and the HTTP layer's warnings.
    ///   - loader: loads the model; runs once, off the event loops, after the port is bound. A
    ///     thrown ``ContainerError`` is rethrown by ``run()`` as is; any other error becomes an
    ///     `AlgorithmError`.
    public init(configuration: ServingConfiguration, algorithm: String, host: String = "0.0.0.0",
                handlesSignals: Bool = true, offloadThreshold: Int = 64 << 10,
                gracefulShutdownLimit: Duration = .seconds(25),
                logger: Logger = Logger(label: "mlc.serve"),
                loader: @escaping @Sendable () throws -> any InvocationHandler) {
        self.configuration = configuration
        self.algorithm = algorithm
        self.host = host
        self.handlesSignals = handlesSignals
        self.offloadThreshold = max(0, offloadThreshold)
        self.gracefulShutdownLimit = gracefulShutdownLimit
        self.logger = logger
        self.loader = loader
    }

    /// Whether the model is loaded (`/ping` answers 200).
    public var isReady: Bool { model.handler != nil }

    /// Serves until a graceful shutdown completes. Call once.
    ///
    /// - Throws: a ClientError when the port cannot be bound, or the loader's error when the
    ///   model does not load (the server has stopped by then).
    public func run() async throws(ContainerError) {
        // Hummingbird announces itself at info level; the server's own startup line replaces it.
        var httpLogger = logger
        httpLogger.logLevel = max(logger.logLevel, .warning)
        let responder = InferenceResponder(configuration: configuration, model: model, offloadThreshold: offloadThreshold)
        let port = configuration.port
        let application = Application(
            responder: responder,
            server: .http1(configuration: HTTP1Channel.Configuration(additionalChannelHandlers: [ParseErrorCloser()])),
            configuration: ApplicationConfiguration(address: .hostname(host, port: port)),
            onServerRunning: { [self] channel in self.listening(port: channel.localAddress?.port ?? port) },
            logger: httpLogger)
        var groupConfiguration = ServiceGroupConfiguration(
            services: [application], gracefulShutdownSignals: handlesSignals ? [.sigterm, .sigint] : [], logger: httpLogger)
        groupConfiguration.maximumGracefulShutdownDuration = gracefulShutdownLimit
        let group = ServiceGroup(configuration: groupConfiguration)
        let stopAtOnce = state.withLock { state in
            state.group = group
            return state.shutdownRequested
        }
        if stopAtOnce { await group.triggerGracefulShutdown() }

        var failure: (any Error)?
        do {
            try await group.run()
        } catch {
            failure = error
        }
        let (waiters, loadError) = state.withLock { state in
            state.stopped = true
            defer { state.portWaiters = [] }
            return (state.portWaiters, state.loadError)
        }
        for waiter in waiters { waiter.resume(returning: nil) }
        if let loadError { throw loadError }
        if let failure {
            throw .client("cannot serve on \(host):\(port): \(failure) (is the port in use? set SAGEMAKER_BIND_TO_PORT or --port)")
        }
    }

    /// Starts the graceful shutdown, as SIGTERM does; ``run()`` returns when it completes.
    /// Before ``run()`` starts, it makes ``run()`` stop at once.
    public func shutdown() async {
        let group = state.withLock { state in
            state.shutdownRequested = true
            return state.group
        }
        await group?.triggerGracefulShutdown()
    }

    /// Waits until the server listens and returns the bound port (the free port the system chose
    /// when the configuration's port is 0); nil when the server stopped without listening.
    public func listeningPort() async -> Int? {
        await withCheckedContinuation { continuation in
            let known: Int?? = state.withLock { state in
                if let port = state.port { return .some(port) }
                if state.stopped { return .some(nil) }
                state.portWaiters.append(continuation)
                return .none
            }
            if let known { continuation.resume(returning: known) }
        }
    }

    /// The socket is bound: announce it, wake ``listeningPort()``, and load the model on a
    /// Dispatch thread — this runs before Hummingbird accepts its first connection, so it must
    /// not wait for the load.
    private func listening(port: Int) {
        let waiters = state.withLock { state in
            state.port = port
            defer { state.portWaiters = [] }
            return state.portWaiters
        }
        for waiter in waiters { waiter.resume(returning: port) }
        logger.info("serving \(algorithm) on \(host):\(port) (/ping answers 503 until the model is loaded)")
        DispatchQueue.global(qos: .userInitiated).async { [self] in
            let start = ContinuousClock.now
            do {
                let handler = try loader()
                model.install(handler)
                logger.info("\(algorithm) model loaded in \(ContinuousClock.now - start); /ping answers 200")
            } catch {
                let reason = (error as? ContainerError) ?? .algorithm("could not load the \(algorithm) model: \(error)")
                let group = state.withLock { state in
                    state.loadError = reason
                    return state.group
                }
                Task { await group?.triggerGracefulShutdown() }
            }
        }
    }
}

import ArgumentParser
import Dispatch
import Foundation
import MLContainer
import MLCore
import MLServing
import Synchronization

/// `mlc serve`: the SageMaker inference container (`docker run <image> serve`): the model from
/// `<root>/model`, `GET /ping`, `POST /invocations` and `GET /execution-parameters` on port 8080
/// (docs/cli.md).
public struct ServeCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a trained model over HTTP as a SageMaker inference container.",
        discussion: """
            The model is read from <root>/model (SM_MODEL_DIR overrides it); the root is --root, \
            else SAGEMAKER_BASE_DIR, else /opt/ml. The algorithm is --algorithm, else \
            MLC_ALGORITHM (what a container image sets). The port is --port, else \
            SAGEMAKER_BIND_TO_PORT, else 8080. GET /ping answers 503 while the model loads and \
            200 once it is loaded. SIGTERM or SIGINT stop accepting connections, finish the \
            requests in flight and exit 0 (within 25 s). Exit status 1: the configuration is \
            wrong, the port is taken or the model does not load (the reason, ClientError: or \
            AlgorithmError:, is printed).
            """)

    @Option(help: "The algorithm (default: the MLC_ALGORITHM environment variable).")
    public var algorithm: ContainerAlgorithm?

    @Option(help: ArgumentHelp("The SageMaker root directory (default: SAGEMAKER_BASE_DIR, else /opt/ml).", valueName: "path"))
    public var root: String?

    @Option(help: "The port (default: SAGEMAKER_BIND_TO_PORT, else 8080; 0 picks a free port and logs it).")
    public var port: Int?

    @Option(help: "The address to listen on.")
    public var host = "0.0.0.0"

    @Option(help: "Worker threads for large requests (default: the cores the container may use).")
    public var workers: Int?

    public init() {}

    public func validate() throws {
        if let port, !(0...65535).contains(port) { throw ValidationError("--port must be in 0...65535, got \(port)") }
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1, got \(workers)") }
    }
}

/// Runs a parsed ``ServeCommand``: checks what can be checked before binding the port, then
/// serves until shutdown.
struct ServeRun {
    let command: ServeCommand
    let console: Console
    /// Whether SIGTERM/SIGINT shut the server down (the executable), or only the process's end
    /// does (tests that call ``MLC/run(arguments:console:cancellation:)``).
    let handlesSignals: Bool
    var environment = ProcessInfo.processInfo.environment

    func run() -> Int32 {
        do throws(ContainerError) {
            let server = try makeServer()
            try Self.serve(server)
            return 0
        } catch {
            console.err(error.failureReason)
            return MLC.failure
        }
    }

    /// The server, after the checks that need no model: the algorithm, the environment, the
    /// model directory. They fail at once with the reason, before the port is bound.
    func makeServer() throws(ContainerError) -> InferenceServer {
        let name = command.algorithm?.rawValue ?? environment["MLC_ALGORITHM"] ?? ""
        guard ContainerAlgorithm(rawValue: name) != nil else {
            let known = ContainerAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")
            throw .client("no known algorithm chosen (--algorithm or MLC_ALGORITHM = '\(name)'); known: \(known)")
        }
        let workers = command.workers ?? ComputeContext.defaultThreadCount(environment: environment)
        var configuration = try ServingConfiguration(environment: environment, workers: workers)
        if let port = command.port { configuration.port = port }
        let modelDirectory = TrainingEnvironment(root: command.root, environment: environment).modelDirectory
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: modelDirectory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .client("the model directory \(modelDirectory) does not exist: SageMaker extracts model.tar.gz there; "
                          + "point --root, SAGEMAKER_BASE_DIR or SM_MODEL_DIR at the directory that holds the model")
        }
        let defaultAccept = configuration.defaultAccept
        return InferenceServer(configuration: configuration, algorithm: name, host: command.host, handlesSignals: handlesSignals) {
            try InferenceHandlers.load(algorithm: name, modelDirectory: modelDirectory, workers: workers, defaultAccept: defaultAccept)
        }
    }

    /// Runs the server on Swift concurrency's pool and waits for it on this (synchronous) thread.
    static func serve(_ server: InferenceServer) throws(ContainerError) {
        let outcome = ServeOutcome()
        let finished = DispatchSemaphore(value: 0)
        Task {
            do throws(ContainerError) {
                try await server.run()
            } catch {
                outcome.error.withLock { $0 = error }
            }
            finished.signal()
        }
        finished.wait()
        if let error = outcome.error.withLock({ $0 }) { throw error }
    }
}

/// How ``ServeRun/serve(_:)``'s server task ended, handed back to the waiting thread.
private final class ServeOutcome: Sendable {
    let error = Mutex<ContainerError?>(nil)
}

import MLAlgorithms
import ArgumentParser
import Dispatch
import MLCore
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `mlc`'s root command: only the subcommand list and help (``MLC`` dispatches).
public struct MLCCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "mlc",
        abstract: "Train and serve MLCore's algorithms from the command line.",
        discussion: "See docs/cli.md.",
        subcommands: [FitCommand.self, TrainCommand.self, ValidateCommand.self, ServeCommand.self, PredictCommand.self])

    public init() {}
}

/// The `mlc` program: parse, run, report, and return the exit status. Tests call
/// ``run(arguments:console:cancellation:)`` with captured output; the executable calls ``main()``.
public enum MLC {
    /// Exit status of an error (bad arguments, hyperparameters or data, a failed write, a bug).
    public static let failure: Int32 = 1
    /// Exit status after SIGINT/SIGTERM stopped training (128 + SIGINT, as shells report it).
    public static let interrupted: Int32 = 130

    /// Runs `mlc` with `arguments` (without the program name). Never traps on bad input: every
    /// error is one `error: …` message on `console.standardError` and status 1. `handlesSignals`:
    /// whether `mlc serve` shuts down on SIGTERM/SIGINT (the executable; not tests sharing a process).
    public static func run(arguments: [String], console: Console, cancellation: CancellationFlag = CancellationFlag(),
                           handlesSignals: Bool = false) -> Int32 {
        let command: any ParsableCommand
        do {
            command = try MLCCommand.parseAsRoot(arguments)
        } catch {
            return report(parseError: error, console: console)
        }
        do {
            switch command {
            case let fit as FitCommand:
                return try FitRun(command: fit, console: console, cancellation: cancellation).run().rawValue
            case let train as TrainCommand:
                return TrainRun(command: train, console: console, cancellation: cancellation).run()
            case let validate as ValidateCommand:
                return ValidateRun(command: validate, console: console).run()
            case let serve as ServeCommand:
                return ServeRun(command: serve, console: console, handlesSignals: handlesSignals).run()
            case let predict as PredictCommand:
                return PredictRun(command: predict, console: console).run()
            case is MLCCommand:
                // `mlc` alone: what it can do.
                console.standardError(MLCCommand.helpMessage() + "\n")
                return failure
            default:
                // `--help`, `help <command>`: ArgumentParser's own commands, which end by throwing
                // the help text as a clean exit.
                var other = command
                do {
                    try other.run()
                } catch {
                    return report(parseError: error, console: console)
                }
                return 0
            }
        } catch {
            console.err("error: " + describe(error))
            return failure
        }
    }

    /// The executable's entry point: real stdout/stderr, SIGINT/SIGTERM stop training (or shut
    /// the server down gracefully), exits.
    public static func main() -> Never {
        let console = Console.process()
        let cancellation = CancellationFlag()
        let arguments = Array(CommandLine.arguments.dropFirst())
        // `serve` takes SIGTERM/SIGINT through the server's graceful shutdown instead: training's
        // handler would announce a mini-batch and exit 130 on the second signal.
        let signals = arguments.first == "serve" ? nil : SignalCancellation(flag: cancellation, console: console)
        let status = run(arguments: arguments, console: console, cancellation: cancellation, handlesSignals: true)
        withExtendedLifetime(signals) {}
        exit(status)
    }

    /// Help (`--help`, status 0) on stdout; an argument error as `error: …` plus the usage on
    /// stderr, status 1.
    static func report(parseError error: any Error, console: Console) -> Int32 {
        let code = MLCCommand.exitCode(for: error)
        if code == .success {
            console.standardOutput(MLCCommand.fullMessage(for: error) + "\n")
            return 0
        }
        var message = MLCCommand.fullMessage(for: error)
        if message.hasPrefix("Error: ") { message = "error: " + message.dropFirst("Error: ".count) }
        else if !message.hasPrefix("error: ") { message = "error: " + message }
        console.standardError(message + "\n")
        return failure
    }

    /// The message of an error: the user-facing description of the library's errors, the type as
    /// well for anything unexpected.
    static func describe(_ error: any Error) -> String {
        switch error {
        case let e as CommandLineError: e.description
        case let e as HyperparameterError: e.description
        case let e as LinearLearnerError: e.description
        case let e as DataError: e.description
        case let e as ArtifactError: e.description
        default: "internal error (\(type(of: error))): \(error)"
        }
    }
}

/// Turns SIGINT and SIGTERM into ``CancellationFlag/cancel()``: the trainer stops at its next
/// mini-batch and `mlc` exits 130 without saving. A second signal exits at once.
final class SignalCancellation {
    private let sources: [any DispatchSourceSignal]

    init(flag: CancellationFlag, console: Console) {
        let received = SignalCount()
        sources = [SIGINT, SIGTERM].map { number in
            // The default action would kill the process before the source sees the signal.
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if received.increment() == 1 {
                    flag.cancel()
                    let erase = console.errorIsTerminal ? "\r\u{1B}[2K" : ""
                    console.standardError("\(erase)\(number == SIGINT ? "interrupt" : "SIGTERM") received: stopping after "
                                          + "the current mini-batch (send it again to quit at once)\n")
                } else {
                    console.standardError("\nquitting\n")
                    _exit(MLC.interrupted)
                }
            }
            source.resume()
            return source
        }
    }

    deinit { for s in sources { s.cancel() } }
}

/// Signals received so far.
private final class SignalCount: Sendable {
    private let count = Mutex(0)

    func increment() -> Int { count.withLock { $0 += 1; return $0 } }
}

import ArgumentParser
import Foundation
import Logging
import MLBenchKit

/// `mlbench <suite> [--threads N] [--repeat N] [--warmup N] [--peers] [--json]`, `mlbench list`.
/// Everything but argument handling lives in MLBenchKit (docs/mlbench.md).
struct MLBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mlbench",
        abstract: "Measure MLCore against the machine's limits and peer libraries.",
        discussion: "Suites: "
            + BenchmarkRegistry.suites.map { "\($0.name) (\($0.summary))" }.joined(separator: "; ")
            + ". Results go to stdout (a table, or one JSON object per line with --json); progress"
            + " and errors go to stderr. Exit status 1 when a peer failed. See docs/mlbench.md.")

    @Argument(help: "The suite to run, or `list`.")
    var suite: String

    @Option(help: "Threads for every implementation (OpenBLAS and/or workers). Default: min(cores, cgroup CPU quota), or MLCORE_THREADS.")
    var threads: Int?

    @Option(name: .customLong("repeat"), help: "Timed runs per workload and implementation (1...1000).")
    var repeatCount: Int = BenchmarkOptions.defaultRepeat

    @Option(help: "Untimed runs before the timed ones (0...100).")
    var warmup: Int = BenchmarkOptions.defaultWarmup

    @Flag(help: "Also run each workload's peer (Benchmarks/peers/) on the same data and threads.")
    var peers = false

    @Flag(help: "Print one JSON object per line instead of tables (the machine header goes to stderr).")
    var json = false

    @Option(name: .customLong("data-dir"), help: "Where generated inputs and compiled peers go.")
    var dataDirectory: String = ".mlbench-data"

    @Flag(name: .shortAndLong, help: "Log progress to stderr.")
    var verbose = false

    var options: BenchmarkOptions {
        BenchmarkOptions(
            threads: threads, repeat: repeatCount, warmup: warmup, peers: peers, json: json,
            dataDirectory: URL(fileURLWithPath: dataDirectory))
    }

    func validate() throws {
        do {
            try options.validate()
            if suite != "list" { _ = try BenchmarkRegistry.suite(named: suite) }
        } catch {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        if suite == "list" {
            write(BenchmarkRegistry.suites.map { "\($0.name)\t\($0.summary)\n" }.joined(), to: .standardOutput)
            return
        }
        let level: Logger.Level = verbose ? .info : .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "mlbench")
        let options = self.options
        let machine = MachineInfo.detect()
        let header = BenchmarkReport.header(machine: machine, options: options)
        write(header + "\n", to: json ? .standardError : .standardOutput)

        let report: BenchmarkReport
        do {
            report = try BenchmarkReport.run(
                try BenchmarkRegistry.suite(named: suite), options: options, machine: machine, logger: logger)
        } catch {
            write("error: \(error)\n", to: .standardError)
            throw ExitCode.failure
        }
        write(json ? report.jsonLines : report.table, to: .standardOutput)
        for failure in report.peerFailures { write("error: \(failure)\n", to: .standardError) }
        if !report.peerFailures.isEmpty { throw ExitCode.failure }
    }
}

/// Unbuffered, so stdout and stderr lines come out in the order they were written.
func write(_ text: String, to handle: FileHandle) {
    handle.write(Data(text.utf8))
}

MLBenchCommand.main()

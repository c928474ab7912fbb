// mlfuzz: libFuzzer harness for every parser of untrusted input (docs/reliability.md, "Fuzzing").
//
//   MLFUZZ_TARGET=<name> mlfuzz [libFuzzer flags] CORPUS…   fuzz one target
//   mlfuzz --list                                            targets, one per line: name, max_len, what
//   mlfuzz --write-seeds DIR                                 seed corpora into DIR/<name>/
//
// scripts/fuzz.sh builds it (MLCORE_FUZZ=1, -sanitize=fuzzer,address, scratch path .build-fuzz)
// and runs it. SwiftPM renames an executable's `main` and aliases `main` to it, so libFuzzer's own
// `main` cannot be the entry point: this file is, and hands over to LLVMFuzzerRunDriver.
import CLibFuzzer
import Foundation

/// The target chosen by MLFUZZ_TARGET, set before the driver starts and never changed after.
nonisolated(unsafe) var selectedTarget: FuzzTarget?

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    selectedTarget?.run(input)
    return 0
}

func writeSeeds(to directory: String) throws {
    for target in allTargets {
        let folder = directory + "/" + target.name
        try? FileManager.default.removeItem(atPath: folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let seeds = try target.seeds()
        for seed in seeds {
            precondition(seed.bytes.count <= target.maxLength, "\(target.name)/\(seed.name) is longer than max_len")
            try Data(seed.bytes).write(to: URL(fileURLWithPath: folder + "/" + seed.name))
        }
        print("\(target.name): \(seeds.count) seeds")
    }
}

let arguments = CommandLine.arguments
if arguments.count >= 2 && arguments[1] == "--list" {
    for target in allTargets { print("\(target.name) \(target.maxLength) \(target.summary)") }
    exit(0)
}
if arguments.count == 3 && arguments[1] == "--write-seeds" {
    do {
        try writeSeeds(to: arguments[2])
        exit(0)
    } catch {
        FileHandle.standardError.write(Data("mlfuzz: \(error)\n".utf8))
        exit(1)
    }
}
let name = ProcessInfo.processInfo.environment["MLFUZZ_TARGET"] ?? ""
guard let target = allTargets.first(where: { $0.name == name }) else {
    FileHandle.standardError.write(Data("mlfuzz: set MLFUZZ_TARGET to one of: \(allTargets.map(\.name).joined(separator: ", "))\n".utf8))
    exit(2)
}
selectedTarget = target
atexit { Scratch.remove() }
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { fuzzOneInput($0, $1) })

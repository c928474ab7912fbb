import Foundation
import MLTestSupport
import Testing

// container/Dockerfile, checked statically (no Docker engine is needed or used) and against the
// `mlc` built next to this test bundle: every shared library it loads must be in the image.

/// A Dockerfile's instructions, as far as these tests need them: continuation lines joined,
/// comments dropped, instructions grouped by stage.
struct DockerfileModel {
    struct Instruction {
        /// Upper-cased: `RUN`, `COPY`, …
        var keyword: String
        /// Everything after the keyword, continuations joined with a space.
        var arguments: String
    }

    struct Stage {
        /// The image after `FROM` (flags such as `--platform` dropped).
        var base: String
        /// The name after `AS`, lower-cased.
        var name: String?
        var instructions: [Instruction] = []

        func all(_ keyword: String) -> [Instruction] { instructions.filter { $0.keyword == keyword } }
    }

    /// Instructions before the first `FROM` (global `ARG`s).
    var preamble: [Instruction] = []
    var stages: [Stage] = []

    init(_ text: String) {
        var logical: [String] = []
        var pending: String?
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            // Comment lines are removed, also inside a continued instruction (as Docker does).
            if line.hasPrefix("#") || (line.isEmpty && pending != nil) { continue }
            if line.hasSuffix("\\") {
                pending = (pending.map { $0 + " " } ?? "") + line.dropLast().trimmingCharacters(in: .whitespaces)
                continue
            }
            let whole = (pending.map { $0 + " " } ?? "") + line
            pending = nil
            if !whole.trimmingCharacters(in: .whitespaces).isEmpty { logical.append(whole) }
        }
        if let pending { logical.append(pending) }

        for line in logical {
            let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            let instruction = Instruction(keyword: parts[0].uppercased(),
                                          arguments: parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : "")
            if instruction.keyword == "FROM" {
                let words = instruction.arguments.split(separator: " ").map(String.init).filter { !$0.hasPrefix("--") }
                let name = words.count >= 3 && words[1].lowercased() == "as" ? words[2].lowercased() : nil
                stages.append(Stage(base: words.first ?? "", name: name))
            } else if stages.isEmpty {
                preamble.append(instruction)
            } else {
                stages[stages.count - 1].instructions.append(instruction)
            }
        }
    }

    var finalStage: Stage? { stages.last }

    /// `NAME=value` or `NAME value` pairs of `ENV` instructions.
    static func environment(_ stage: Stage) -> [String: String] {
        var result: [String: String] = [:]
        for env in stage.all("ENV") {
            let words = env.arguments.split(separator: " ").map(String.init)
            if let first = words.first, !first.contains("=") {
                result[first] = words.dropFirst().joined(separator: " ")
            } else {
                for word in words {
                    let pair = word.split(separator: "=", maxSplits: 1).map(String.init)
                    if pair.count == 2 { result[pair[0]] = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
                }
            }
        }
        return result
    }

    /// `ARG NAME[=default]` of a stage: name → default (nil when none).
    static func arguments(_ instructions: [Instruction]) -> [String: String?] {
        var result: [String: String?] = [:]
        for arg in instructions where arg.keyword == "ARG" {
            let pair = arg.arguments.split(separator: "=", maxSplits: 1).map(String.init)
            result[pair[0]] = pair.count == 2 ? pair[1] : nil
        }
        return result
    }

    /// The packages every `apt-get install` (or `apt install`) of a stage installs.
    static func aptPackages(_ stage: Stage) -> Set<String> {
        var packages: Set<String> = []
        for run in stage.all("RUN") {
            // Split the shell line into simple commands.
            var commands = [run.arguments]
            for separator in ["&&", "||", ";", "|"] {
                commands = commands.flatMap { $0.components(separatedBy: separator) }
            }
            for command in commands {
                let words = command.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
                guard words.contains(where: { $0 == "apt-get" || $0 == "apt" }),
                      let install = words.firstIndex(of: "install") else { continue }
                for word in words[(install + 1)...] where !word.hasPrefix("-") {
                    // `name=version` pins a version; `name:arch` names an architecture.
                    packages.insert(String(word.split(separator: "=")[0].split(separator: ":")[0]))
                }
            }
        }
        return packages
    }

    /// Where a stage's `COPY` puts a file called `name`, and the `--from` stage it copies it from.
    static func copyDestination(of name: String, in stage: Stage) -> (path: String, from: String?)? {
        for copy in stage.all("COPY") {
            let words = copy.arguments.split(separator: " ").map(String.init)
            let from = words.first { $0.hasPrefix("--from=") }.map { String($0.dropFirst("--from=".count)).lowercased() }
            let paths = words.filter { !$0.hasPrefix("--") }
            guard paths.count >= 2, let destination = paths.last,
                  paths.dropLast().contains(where: { ($0 as NSString).lastPathComponent == name }) else { continue }
            return (destination.hasSuffix("/") ? destination + name : destination, from)
        }
        return nil
    }
}

/// One shared library of `ldd`'s output.
struct LinkedLibrary: Equatable {
    var name: String
    /// Where the dynamic loader found it; nil when `ldd` says "not found".
    var path: String?

    /// The libraries `ldd` lists, except the vDSO and the dynamic loader itself.
    static func parse(ldd output: String) -> [LinkedLibrary] {
        output.split(separator: "\n").compactMap { raw in
            let line = raw.trimmingCharacters(in: .whitespaces)
            let sides = line.components(separatedBy: " => ")
            let name = sides[0].split(separator: " ").first.map(String.init) ?? ""
            let base = (name as NSString).lastPathComponent
            if name.isEmpty || base.hasPrefix("linux-vdso") || base.hasPrefix("linux-gate") || base.hasPrefix("ld-linux") { return nil }
            if sides.count < 2 {
                // `statically linked`, or a bare path (only the loader is listed that way).
                return name.hasPrefix("/") ? LinkedLibrary(name: base, path: name) : nil
            }
            let target = sides[1].trimmingCharacters(in: .whitespaces)
            if target.hasPrefix("not found") { return LinkedLibrary(name: name, path: nil) }
            return LinkedLibrary(name: name, path: target.split(separator: " ").first.map(String.init))
        }
    }
}

/// Where a library comes from: the Swift toolchain, or a Debian package.
struct LibraryOrigins: Sendable {
    /// For a library in a Swift toolchain's runtime directory: whether the toolchain's
    /// `swift_static` directory has its static archive. nil: not a toolchain library.
    var staticArchiveExists: @Sendable (String) -> Bool?
    /// The Debian package that installs a library (by its path), nil when none does.
    var package: @Sendable (String) -> String?
}

/// Every way the final stage of `dockerfile` fails to provide what `ldd` lists: a toolchain
/// library that `--static-swift-stdlib` cannot link statically, a library no package installs,
/// a package the final stage's `apt-get install` does not name. Empty when the image is complete.
func runtimeLibraryProblems(dockerfile: String, ldd: String, origins: LibraryOrigins) -> [String] {
    let model = DockerfileModel(dockerfile)
    guard let final = model.finalStage else { return ["container/Dockerfile has no FROM"] }
    let installed = DockerfileModel.aptPackages(final)
    var problems: [String] = []
    for library in LinkedLibrary.parse(ldd: ldd) {
        guard let path = library.path else {
            problems.append("\(library.name): ldd says 'not found'")
            continue
        }
        if let hasArchive = origins.staticArchiveExists(path) {
            if !hasArchive {
                problems.append("\(library.name) (\(path)) is a Swift toolchain library without a static archive in swift_static: --static-swift-stdlib does not cover it")
            }
            continue
        }
        guard let package = origins.package(path) else {
            problems.append("\(library.name) (\(path)) belongs to no Debian package (dpkg -S): the image cannot install it")
            continue
        }
        if !installed.contains(package) {
            problems.append("\(library.name) (\(path)) comes from package \(package), which the final stage of container/Dockerfile does not apt-get install (it installs: \(installed.sorted().joined(separator: " ")))")
        }
    }
    return problems
}

/// The real origins on this machine: the toolchain's directory layout and `dpkg -S`.
func systemLibraryOrigins() -> LibraryOrigins {
    LibraryOrigins(
        staticArchiveExists: { path in
            // A toolchain's runtime libraries are <toolchain>/usr/lib/swift/<os>/lib*.so, its
            // static ones <toolchain>/usr/lib/swift_static/<os>/lib*.a — wherever `swift` lives.
            let real = URL(fileURLWithPath: path).resolvingSymlinksInPath()
            let directory = real.deletingLastPathComponent()
            guard directory.deletingLastPathComponent().lastPathComponent == "swift",
                  directory.deletingLastPathComponent().deletingLastPathComponent().lastPathComponent == "lib" else { return nil }
            let staticDirectory = directory.deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("swift_static").appendingPathComponent(directory.lastPathComponent)
            let stem = real.lastPathComponent.components(separatedBy: ".so").first ?? real.lastPathComponent
            return FileManager.default.fileExists(atPath: staticDirectory.appendingPathComponent(stem + ".a").path)
        },
        package: { path in
            // ldd prints the path the loader used: often a symlink (Debian's alternatives:
            // libopenblas.so.0 → /etc/alternatives → openblas-pthread/…), and with merged /usr,
            // dpkg knows some files under /lib and others under /usr/lib. Try them all.
            let real = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
            var candidates: [String] = []
            for candidate in [path, real, realPath(path)] {
                candidates.append(candidate)
                if candidate.hasPrefix("/usr/lib/") { candidates.append(String(candidate.dropFirst(4))) }
                else if candidate.hasPrefix("/lib") { candidates.append("/usr" + candidate) }
            }
            for candidate in candidates {
                guard let output = try? runTool("dpkg", ["-S", candidate]), output.status == 0,
                      let first = output.stdout.split(separator: "\n").first(where: { !$0.hasPrefix("diversion") }),
                      let colon = first.range(of: ": ") else { continue }
                // `libc6:amd64: /lib/x86_64-linux-gnu/libc.so.6` (several packages are comma-separated).
                let owner = first[..<colon.lowerBound].split(separator: ",")[0].trimmingCharacters(in: .whitespaces)
                return String(owner.split(separator: ":")[0])
            }
            return nil
        })
}


/// container/Dockerfile's text.
func containerDockerfile() throws -> String {
    try String(contentsOf: repositoryRoot.appendingPathComponent("container/Dockerfile"), encoding: .utf8)
}

/// `text` without the whole word `word` (a package name in an `apt-get install` line).
func removingWord(_ word: String, from text: String) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
        line.split(separator: " ", omittingEmptySubsequences: false).filter { $0 != word }.joined(separator: " ")
    }.joined(separator: "\n")
}

@Suite("ContainerImage")
struct ContainerImageTests {
    @Test("the final stage is debian bookworm, runs mlc by exec-form ENTRYPOINT, sets MLC_ALGORITHM from ALGORITHM")
    func finalStage() throws {
        let model = DockerfileModel(try containerDockerfile())
        #expect(model.stages.count >= 2, "a multi-stage build")
        let final = try #require(model.finalStage)
        #expect(final.base.hasPrefix("debian:bookworm"), "final stage FROM \(final.base)")

        // ENTRYPOINT ["/usr/local/bin/mlc"]: exec form (a JSON array), naming where COPY puts mlc.
        let entrypoints = final.all("ENTRYPOINT")
        #expect(entrypoints.count == 1)
        let json = try #require(entrypoints.last?.arguments)
        let entrypoint = try JSONDecoder().decode([String].self, from: Data(json.utf8))
        let copied = try #require(DockerfileModel.copyDestination(of: "mlc", in: final), "no COPY of mlc in the final stage")
        #expect(entrypoint == [copied.path], "ENTRYPOINT \(entrypoint), mlc copied to \(copied.path)")
        #expect(copied.path == "/usr/local/bin/mlc")
        #expect(final.all("CMD").isEmpty, "SageMaker's train/serve argument replaces CMD anyway")

        // The algorithm: ARG ALGORITHM (declared in the final stage, or ENV could not see it).
        let arguments = DockerfileModel.arguments(final.instructions)
        #expect(arguments["ALGORITHM"] == .some("linear-learner"), "ARG ALGORITHM=linear-learner in the final stage")
        let environment = DockerfileModel.environment(final)
        #expect(["${ALGORITHM}", "$ALGORITHM"].contains(environment["MLC_ALGORITHM"] ?? ""),
                "ENV MLC_ALGORITHM=\(environment["MLC_ALGORITHM"] ?? "(unset)")")
        #expect(final.all("USER").isEmpty, "SageMaker runs the container as root")
    }

    @Test("the build stage installs the system libraries' -dev packages, builds mlc with --static-swift-stdlib on the bookworm Swift image, and the final stage copies it from there")
    func buildStage() throws {
        let model = DockerfileModel(try containerDockerfile())
        let final = try #require(model.finalStage)
        let from = try #require(DockerfileModel.copyDestination(of: "mlc", in: final)?.from, "COPY --from=<build stage>")
        let build = try #require(model.stages.dropLast().first { $0.name == from }, "no stage named \(from)")
        #expect(build.base.hasPrefix("swift:") && build.base.hasSuffix("-bookworm"), "build stage FROM \(build.base)")
        let builds = build.all("RUN").filter { $0.arguments.contains("swift build") }
        #expect(builds.contains { $0.arguments.contains("--static-swift-stdlib") && $0.arguments.contains("--product mlc") && $0.arguments.contains("-c release") })
        #expect(DockerfileModel.aptPackages(build).isSuperset(of: ["libopenblas-dev", "liblapacke-dev", "libpng-dev", "libturbojpeg0-dev", "pkg-config"]))
        // SWIFT_VERSION, used by FROM, is declared before the first FROM.
        if build.base.contains("${SWIFT_VERSION}") {
            #expect(DockerfileModel.arguments(model.preamble)["SWIFT_VERSION"] != nil)
        }
    }

    @Test("the parser: continuations, comments inside them, stages, apt packages, ENV forms")
    func parser() throws {
        let text = """
            # syntax=docker/dockerfile:1
            ARG V=1
            FROM swift:6.3.1-bookworm AS Build
            RUN apt-get update \\
                # a comment inside a continuation
                && apt-get install -y --no-install-recommends a b=1.0 \\
                   c:amd64 && rm -rf /x
            FROM debian:bookworm-slim
            ARG ALGORITHM
            ENV A=1 B="two"
            ENV C three
            COPY --from=build /staging/mlc /usr/local/bin/
            ENTRYPOINT ["/usr/local/bin/mlc"]
            """
        let model = DockerfileModel(text)
        #expect(model.preamble.map(\.keyword) == ["ARG"])
        #expect(model.stages.map(\.base) == ["swift:6.3.1-bookworm", "debian:bookworm-slim"])
        #expect(model.stages[0].name == "build")
        #expect(DockerfileModel.aptPackages(model.stages[0]) == ["a", "b", "c"])
        let final = try #require(model.finalStage)
        #expect(DockerfileModel.environment(final) == ["A": "1", "B": "two", "C": "three"])
        #expect(DockerfileModel.arguments(final.instructions)["ALGORITHM"] == .some(nil))
        #expect(DockerfileModel.copyDestination(of: "mlc", in: final)?.path == "/usr/local/bin/mlc")
        #expect(DockerfileModel.copyDestination(of: "mlc", in: final)?.from == "build")
    }

    /// ldd output of a dynamically linked mlc (the test build), abridged.
    static let sampleLDD = """
        \tlinux-vdso.so.1 (0x00007ffd)
        \tlibopenblas.so.0 => /lib/x86_64-linux-gnu/libopenblas.so.0 (0x00007f50)
        \tliblapacke.so.3 => /lib/x86_64-linux-gnu/liblapacke.so.3 (0x00007f50)
        \tlibswiftCore.so => /opt/swift/usr/lib/swift/linux/libswiftCore.so (0x00007f50)
        \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f50)
        \t/lib64/ld-linux-x86-64.so.2 (0x00007f50)
        \tlibgfortran.so.5 => /lib/x86_64-linux-gnu/libgfortran.so.5 (0x00007f50)
        """

    static let sampleOrigins = LibraryOrigins(
        staticArchiveExists: { $0.hasPrefix("/opt/swift/") ? true : nil },
        package: { path in
            ["libopenblas.so.0": "libopenblas0-pthread", "liblapacke.so.3": "liblapacke",
             "libc.so.6": "libc6", "libgfortran.so.5": "libgfortran5"][(path as NSString).lastPathComponent]
        })

    @Test("the checker passes the Dockerfile and fails, naming library and package, when a package is missing")
    func checkerFailsWithoutAPackage() throws {
        #expect(LinkedLibrary.parse(ldd: Self.sampleLDD).map(\.name)
                == ["libopenblas.so.0", "liblapacke.so.3", "libswiftCore.so", "libc.so.6", "libgfortran.so.5"])
        let dockerfile = try containerDockerfile()
        #expect(runtimeLibraryProblems(dockerfile: dockerfile, ldd: Self.sampleLDD, origins: Self.sampleOrigins) == [])

        let withoutLapacke = removingWord("liblapacke", from: dockerfile)
        #expect(withoutLapacke != dockerfile)
        let problems = runtimeLibraryProblems(dockerfile: withoutLapacke, ldd: Self.sampleLDD, origins: Self.sampleOrigins)
        #expect(problems.count == 1)
        #expect(problems.first.map { $0.hasPrefix("liblapacke.so.3 (/lib/x86_64-linux-gnu/liblapacke.so.3) comes from package liblapacke,") } == true,
                "\(problems)")

        // A toolchain library without a static archive, a library of no package, a missing one.
        let strict = LibraryOrigins(staticArchiveExists: { $0.hasPrefix("/opt/swift/") ? false : nil },
                                    package: { $0.hasSuffix("libgfortran.so.5") ? nil : Self.sampleOrigins.package($0) })
        let more = runtimeLibraryProblems(dockerfile: dockerfile, ldd: Self.sampleLDD + "\n\tlibnope.so.1 => not found", origins: strict)
        #expect(more.count == 3, "\(more)")
        #expect(more.contains { $0.hasPrefix("libswiftCore.so") && $0.contains("swift_static") })
        #expect(more.contains { $0.hasPrefix("libgfortran.so.5") && $0.contains("no Debian package") })
        #expect(more.contains { $0.hasPrefix("libnope.so.1") && $0.contains("not found") })
    }

    #if os(Linux)
    @Test("every shared library the built mlc loads is linked statically or installed by the final stage's apt-get")
    func builtBinaryLibraries() throws {
        let mlc = URL(fileURLWithPath: try builtProduct("mlc"))
        let ldd = try runTool("ldd", [mlc.path])
        #expect(ldd.status == 0, "ldd \(mlc.path): \(ldd.stderr)")
        let libraries = LinkedLibrary.parse(ldd: ldd.stdout)
        #expect(libraries.contains { $0.name.hasPrefix("libopenblas") }, "ldd \(mlc.path) lists no OpenBLAS:\n\(ldd.stdout)")
        #expect(try runTool("dpkg", ["--version"]).status == 0, "this check needs dpkg (a Debian system)")

        let dockerfile = try containerDockerfile()
        // dpkg -S once per library (it is slow), then from the table.
        let system = systemLibraryOrigins()
        let owners = Dictionary(libraries.compactMap(\.path).map { ($0, system.package($0)) }, uniquingKeysWith: { a, _ in a })
        let origins = LibraryOrigins(staticArchiveExists: system.staticArchiveExists, package: { owners[$0] ?? system.package($0) })
        let problems = runtimeLibraryProblems(dockerfile: dockerfile, ldd: ldd.stdout, origins: origins)
        #expect(problems.isEmpty, "\(mlc.path):\n\(problems.joined(separator: "\n"))")

        // Not vacuous: dropping any one package the libraries need makes the check fail, naming it.
        let needed = Set(libraries.compactMap { $0.path }.filter { origins.staticArchiveExists($0) == nil }.compactMap(origins.package))
        #expect(needed.isSuperset(of: ["libopenblas0-pthread", "liblapacke", "libpng16-16", "libturbojpeg0", "zlib1g", "libc6"]), "\(needed.sorted())")
        for package in needed.sorted() {
            let without = removingWord(package, from: dockerfile)
            let failures = runtimeLibraryProblems(dockerfile: without, ldd: ldd.stdout, origins: origins)
            #expect(!failures.isEmpty && failures.allSatisfy { $0.contains("package \(package),") }, "without \(package): \(failures)")
        }
    }
    #endif
}

// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "MLCore",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "MLCore", targets: ["MLCore"]),
        .library(name: "MLAlgorithms", targets: ["MLAlgorithms"]),
        .executable(name: "mlbench", targets: ["mlbench"]),
        .executable(name: "mlc", targets: ["mlc"]),
    ],
    traits: [
        .trait(
            name: "MPI",
            description: "Training across processes and hosts on Open MPI (MLCluster; needs libopenmpi-dev). "
                + "Without it (--disable-default-traits) everything else builds and `mlc train` runs in one process."
        ),
        .default(enabledTraits: ["MPI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        // Already in the graph through hummingbird; named for the channel handler that closes
        // connections after a parse error (MLServing/ParseErrorCloser.swift).
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.3.0"),
    ],
    targets: [
        // OpenBLAS + LAPACKE. A module map and a one-line shim header; nothing else.
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev", "pkg-config"])]
        ),
        // libpng, for its simplified API (errors are returned, never longjmp'd). Module map + shim.
        .systemLibrary(
            name: "CPNG",
            pkgConfig: "libpng",
            providers: [.apt(["libpng-dev"])]
        ),
        // libjpeg-turbo's TurboJPEG API (v2, Debian 12's 2.1.5). Module map + shim.
        .systemLibrary(
            name: "CTurboJPEG",
            pkgConfig: "libturbojpeg",
            providers: [.apt(["libturbojpeg0-dev"])]
        ),
        // Open MPI's C API. A module map and a shim header that turns the predefined handles
        // (macros) into static inline functions; nothing else. Only MLCluster imports it.
        .systemLibrary(
            name: "CMPI",
            pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]
        ),
        // Numbers, parallelism, data, metrics. No algorithm knowledge.
        .target(
            name: "MLCore",
            dependencies: [
                "CBLAS",
                "CPNG",
                "CTurboJPEG",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            // The schema record.pb.swift is generated from (scripts/generate-protobuf.sh).
            exclude: ["Data/RecordIO/record.proto"]
        ),
        // Compiler intrinsics Swift cannot spell (a prefetch hint), as static inline C.
        .target(name: "CIntrinsics"),
        // Our own compute kernels in C (direct convolution): explicit SIMD per instruction set
        // (portable, AVX2 + FMA, AVX-512) chosen at run time, which Swift cannot express. A small
        // API of plain pointers and sizes; see docs/neural-networks.md "Direct convolution".
        .target(name: "CKernels"),
        // The algorithms, written against MLCore. No files, HTTP or container names.
        .target(name: "MLAlgorithms", dependencies: ["MLCore", "CIntrinsics", "CKernels"]),
        // The SageMaker container contract: /opt/ml layout, configuration files, channels,
        // checkpoints, failure file; inference request decoding and response encoding. No HTTP.
        .target(name: "MLContainer", dependencies: ["MLCore", "MLAlgorithms"]),
        // The inference container's HTTP server (/ping, /invocations, /execution-parameters) on
        // hummingbird, in front of MLContainer's invocation handling.
        .target(
            name: "MLServing",
            dependencies: [
                "MLCore", "MLContainer",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        // mlbench's suites and harness, as a library so tests can drive them.
        .target(
            name: "MLBenchKit",
            dependencies: ["MLCore", "MLAlgorithms", .product(name: "Logging", package: "swift-log")]
        ),
        .executableTarget(
            name: "mlbench",
            dependencies: [
                "MLBenchKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Ranks in separate processes and hosts: MPICommunicator and MPIWorkerGroup over Open MPI,
        // and the multi-host launch plan (which host runs mpirun, with which arguments). The only
        // target that imports CMPI; built only with the MPI trait.
        // Its sources are under `#if MPI` and CMPI is a conditional dependency, so without the
        // trait it is empty and Open MPI is never looked for.
        .target(name: "MLCluster", dependencies: ["MLCore", .target(name: "CMPI", condition: .when(traits: ["MPI"]))]),
        // Runs every collective of MPICommunicator under mpirun and prints the results, for
        // MLClusterTests to compare with InProcessCommunicator's bit for bit. Not shipped; without
        // the trait it only says it was built without MPI.
        .executableTarget(name: "mpicheck", dependencies: ["MLCore", .target(name: "MLCluster", condition: .when(traits: ["MPI"]))]),
        // `mlc`'s commands, as a library so tests can drive them with captured output.
        .target(
            name: "MLCommandLine",
            dependencies: [
                "MLCore", "MLAlgorithms", "MLContainer", "MLServing",
                .target(name: "MLCluster", condition: .when(traits: ["MPI"])),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "mlc", dependencies: ["MLCommandLine"]),
        .testTarget(name: "MLCoreTests", dependencies: ["MLCore"], resources: [.copy("Fixtures")]),
        .testTarget(name: "MLAlgorithmsTests", dependencies: ["MLAlgorithms"], resources: [.copy("Fixtures")]),
        .testTarget(name: "MLBenchKitTests", dependencies: ["MLBenchKit"]),
        // Helpers several test targets share (running child processes).
        .target(name: "MLTestSupport", path: "Tests/MLTestSupport"),
        .testTarget(name: "MLContainerTests", dependencies: ["MLContainer", "MLTestSupport"]),
        .testTarget(name: "MLServingTests", dependencies: ["MLServing", "MLContainer", "MLTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "MLCommandLineTests", dependencies: ["MLCommandLine", "MLContainer", "MLAlgorithms", "MLCore", "MLTestSupport"]),
        // Real `mpirun -np 2…4` runs of mpicheck and `mlc train`. Its sources are all under
        // `#if MPI`: without the trait the target compiles to nothing.
        .testTarget(
            name: "MLClusterTests",
            dependencies: [
                "MLCore", "MLTestSupport",
                .target(name: "MLCluster", condition: .when(traits: ["MPI"])),
                .target(name: "mpicheck", condition: .when(traits: ["MPI"])),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// Fuzz targets (libFuzzer + AddressSanitizer), declared only when MLCORE_FUZZ=1 so that ordinary
// builds never see them; scripts/fuzz.sh builds them in their own scratch path (.build-fuzz).
if Context.environment["MLCORE_FUZZ"] == "1" {
    package.targets += [
        .target(name: "CLibFuzzer", path: "Fuzz/Sources/CLibFuzzer"),
        .executableTarget(
            name: "mlfuzz",
            dependencies: ["CLibFuzzer", "MLCore", "MLAlgorithms", "MLContainer"],
            path: "Fuzz/Sources/mlfuzz"
        ),
    ]
}

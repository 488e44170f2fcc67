// swift-tools-version: 6.1
import PackageDescription

let strictSettings: [SwiftSetting] = [
  .enableUpcomingFeature("ExistentialAny"),
  .enableUpcomingFeature("MemberImportVisibility"),
]

/// This manifest's directory: the linker does not run in it.
let packageDirectory = String(#filePath.dropLast("Package.swift".count))

/// The release `weft` binary is linked by lld with the functions every request runs
/// (gateway and worker, listed by scripts/profile-hot-functions.sh) side by side: a request
/// handled after a sleep then finds them in fewer cache lines and pages. Only the executable
/// carries this flag, so the library products stay usable as dependencies.
let hotFunctionsFirst = LinkerSetting.unsafeFlags(
  [
    "-use-ld=lld",
    "-Xlinker", "--symbol-ordering-file=\(packageDirectory)Sources/weft/hot-functions.order",
    // Names the list has and this build has not (the code changed since it was made).
    "-Xlinker", "--no-warn-symbol-ordering",
  ],
  .when(platforms: [.linux], configuration: .release))

/// What every module that talks ZeroMQ on behalf of Weft builds on.
let meshDependencies: [Target.Dependency] = [
  "ZeroMQ", "WeftProtocol",
  .product(name: "SwiftProtobuf", package: "swift-protobuf"),
  .product(name: "DequeModule", package: "swift-collections"),
  .product(name: "Logging", package: "swift-log"),
]

let package = Package(
  name: "weft",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "weft", targets: ["weft"]),
    .executable(name: "weft-bench", targets: ["weft-bench"]),
    .library(name: "WeftClient", targets: ["WeftClient"]),
    .library(name: "WeftWorker", targets: ["WeftWorker"]),
    .library(name: "WeftGateway", targets: ["WeftGateway"]),
    .library(name: "WeftRecommender", targets: ["WeftRecommender"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
    .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
    .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
    .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    .package(url: "https://github.com/apple/swift-http-types.git", from: "1.5.1"),
    .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
  ],
  targets: [
    // C libraries, behind one Swift module each.
    .systemLibrary(
      name: "CZeroMQ",
      providers: [.apt(["libzmq3-dev"])]
    ),

    .systemLibrary(
      name: "COpenBLAS",
      pkgConfig: "openblas",
      providers: [.apt(["libopenblas-dev"])]
    ),

    .systemLibrary(
      name: "CTurboJPEG",
      pkgConfig: "libturbojpeg",
      providers: [.apt(["libturbojpeg0-dev"])]
    ),

    .systemLibrary(
      name: "CPNG",
      pkgConfig: "libpng",
      providers: [.apt(["libpng-dev"])]
    ),

    .systemLibrary(
      name: "CSoxr",
      pkgConfig: "soxr",
      providers: [.apt(["libsoxr-dev"])]
    ),

    .systemLibrary(
      name: "CSQLite",
      pkgConfig: "sqlite3",
      providers: [.apt(["libsqlite3-dev"])]
    ),

    .systemLibrary(
      name: "CPostgres",
      pkgConfig: "libpq",
      providers: [.apt(["libpq-dev"])]
    ),

    // Small dense kernels in C, where OpenBLAS is a poor fit or AVX2 must be chosen at run time.
    .target(name: "CWeftKernels"),

    // Transport: sockets, frames, poller. Knows nothing of Weft.
    .target(name: "ZeroMQ", dependencies: ["CZeroMQ"], swiftSettings: strictSettings),

    // Call layer: generated messages, framing, status codes. Never imports ZeroMQ.
    .target(
      name: "WeftProtocol",
      dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
      exclude: ["Generated/protos.sha256"],
      swiftSettings: strictSettings
    ),

    // Models: the Model protocol and the built-in models. Never imports ZeroMQ.
    .target(
      name: "WeftModels",
      dependencies: [
        "WeftProtocol", "COpenBLAS", "CWeftKernels", "CTurboJPEG", "CPNG", "CSoxr",
        .product(name: "SwiftProtobuf", package: "swift-protobuf")],
      swiftSettings: strictSettings),

    .target(
      name: "WeftGateway",
      dependencies: meshDependencies + [
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "Histogram", package: "hdrhistogram-swift"),
        .product(name: "Metrics", package: "swift-metrics"),
      ],
      swiftSettings: strictSettings
    ),
    .target(
      name: "WeftWorker",
      dependencies: meshDependencies + [
        "WeftModels", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ],
      swiftSettings: strictSettings
    ),
    // Profiles, personalisation and their stores (SQLite, PostgreSQL); served through the worker runtime.
    .target(
      name: "WeftRecommender",
      dependencies: [
        "WeftProtocol", "WeftModels", "CSQLite", "CPostgres", "COpenBLAS", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "Metrics", package: "swift-metrics"),
      ],
      swiftSettings: strictSettings
    ),
    .target(
      name: "WeftClient",
      dependencies: meshDependencies,
      swiftSettings: strictSettings
    ),
    // The config file's schema: every key once, read into the libraries' configurations.
    .target(
      name: "WeftConfiguration",
      dependencies: [
        "ZeroMQ", "WeftProtocol", "WeftGateway", "WeftWorker", "WeftModels", "WeftRecommender",
        .product(name: "Yams", package: "Yams"),
      ],
      swiftSettings: strictSettings
    ),
    // GNU additions to posix_spawn, pipe and malloc that Swift's Glibc module does not import.
    .target(name: "CWeftSpawn"),
    // Child processes: starting them, their readiness lines, watching the parent.
    .target(
      name: "WeftProcess",
      dependencies: [
        "WeftProtocol", "CWeftSpawn", .product(name: "Logging", package: "swift-log"),
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      swiftSettings: strictSettings
    ),
    // Test hosts (network namespaces) and servers (PostgreSQL) on one machine, for tests and benchmarks.
    .target(name: "WeftNetworkLab", dependencies: ["WeftProcess"], swiftSettings: strictSettings),
    // The HTTP side of a gateway: metrics, health and the Open Inference Protocol.
    .target(
      name: "WeftHTTP",
      dependencies: [
        "WeftProtocol", "WeftClient", "WeftGateway", "WeftRecommender",
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "HTTPTypes", package: "swift-http-types"),
        .product(name: "Prometheus", package: "swift-prometheus"),
        .product(name: "Metrics", package: "swift-metrics"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ],
      swiftSettings: strictSettings
    ),
    .executableTarget(
      name: "weft",
      dependencies: [
        "ZeroMQ", "WeftProtocol", "WeftGateway", "WeftWorker", "WeftModels", "WeftClient", "WeftRecommender", "WeftProcess",
        "WeftConfiguration", "WeftHTTP",
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "UnixSignals", package: "swift-service-lifecycle"),
      ],
      exclude: ["hot-functions.order"],
      swiftSettings: strictSettings,
      linkerSettings: [hotFunctionsFirst]
    ),

    // Every benchmark, apart from the product: `weft-bench` starts the `weft` built beside it.
    .executableTarget(
      name: "weft-bench",
      dependencies: [
        "ZeroMQ", "WeftProtocol", "WeftGateway", "WeftModels", "WeftClient", "WeftRecommender", "WeftProcess",
        "WeftNetworkLab",
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      swiftSettings: strictSettings
    ),

    .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ"], swiftSettings: strictSettings),
    .testTarget(
      name: "WeftProtocolTests",
      dependencies: ["WeftProtocol", "WeftProcess", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
      swiftSettings: strictSettings),
    .testTarget(
      name: "WeftGatewayTests",
      dependencies: [
        "WeftGateway", "WeftProtocol", "ZeroMQ", .product(name: "Logging", package: "swift-log"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: strictSettings),
    .testTarget(
      name: "WeftModelsTests",
      dependencies: ["WeftModels", "WeftProtocol", "CWeftKernels", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
      exclude: ["Fixtures"], swiftSettings: strictSettings),
    .testTarget(
      name: "WeftRecommenderTests", dependencies: ["WeftRecommender", "WeftProtocol", "WeftNetworkLab"],
      swiftSettings: strictSettings),
    .testTarget(
      name: "WeftConfigurationTests",
      dependencies: ["WeftConfiguration", "WeftGateway", "WeftModels", "WeftProtocol", "WeftRecommender", "WeftWorker"],
      swiftSettings: strictSettings),
    .testTarget(name: "WeftHTTPTests", dependencies: ["WeftHTTP"], swiftSettings: strictSettings),
    .testTarget(
      name: "WeftWorkerTests", dependencies: ["WeftWorker", "WeftModels", "WeftProtocol"],
      swiftSettings: strictSettings),
    .testTarget(
      name: "IntegrationTests",
      dependencies: [
        "ZeroMQ", "WeftProtocol", "WeftClient", "WeftModels", "WeftNetworkLab", "WeftProcess",
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      // The Open Inference Protocol's Python clients, run by InferenceProtocolTests.
      exclude: ["Python"],
      swiftSettings: strictSettings
    ),
  ]
)

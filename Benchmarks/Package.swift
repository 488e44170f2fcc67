// swift-tools-version: 6.0
// The gRPC peer of `weft-bench mesh --grpc`: a grpc-swift-2 unary echo server and load
// client, kept out of the main package (and CI) because its release build takes minutes.
// Build: `swift build -c release --package-path Benchmarks`.
import PackageDescription

let package = Package(
  name: "WeftBenchmarkPeers",
  platforms: [.macOS(.v15)],
  dependencies: [
    .package(url: "https://github.com/grpc/grpc-swift-2.git", exact: "2.4.3"),
    .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", exact: "2.9.2"),
    .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
  ],
  targets: [
    .executableTarget(
      name: "grpc-echo",
      dependencies: [
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      swiftSettings: [.swiftLanguageMode(.v6)]
    )
  ]
)

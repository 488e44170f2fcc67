import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2

/// `grpc-echo serve` and `grpc-echo load`: the gRPC side of `weft-bench mesh --grpc`.
///
/// The method is `weft.bench.Echo/Echo`, unary, bytes in and out as sent (no protobuf
/// message: the bytes are the message), so the figures are gRPC's framing, HTTP/2 and
/// grpc-swift-2's call path, not a codec.
@main
struct GRPCEcho: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "grpc-echo", abstract: "A grpc-swift-2 unary echo server and its load client.",
    subcommands: [Serve.self, Load.self])
}

/// The echo method every side names.
let echoMethod = MethodDescriptor(fullyQualifiedService: "weft.bench.Echo", method: "Echo")

/// Bytes as they are: the message is its own encoding.
struct RawBytes: MessageSerializer, MessageDeserializer {
  func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
  func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
    serializedMessageBytes.withUnsafeBytes { Array($0) }
  }
}

/// The echo service: each request's bytes back.
struct EchoService: RegistrableRPCService {
  func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
    router.registerHandler(forMethod: echoMethod, deserializer: RawBytes(), serializer: RawBytes()) { request, _ in
      let message = try await ServerRequest(stream: request).message
      return StreamingServerResponse(single: ServerResponse(message: message))
    }
  }
}

struct Serve: AsyncParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Serves echo on loopback; prints `grpc-echo listening port=PORT` once it does.")

  @Option(help: "Port (0: any free one).")
  var port = 0

  func run() async throws {
    let server = GRPCServer(
      transport: .http2NIOPosix(address: .ipv4(host: "127.0.0.1", port: port), transportSecurity: .plaintext),
      services: [EchoService()])
    try await withThrowingDiscardingTaskGroup { group in
      group.addTask { try await server.serve() }
      if let address = try await server.listeningAddress?.ipv4 {
        // Written straight to the descriptor: a pipe buffers `print`, and the reader waits for the line.
        FileHandle.standardOutput.write(Data("grpc-echo listening port=\(address.port)\n".utf8))
      }
    }
  }
}

struct Load: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Latency (one call at a time) and throughput (many in flight) of echo calls; prints one JSON line.")

  @Option(help: "The server's port on 127.0.0.1.")
  var port: Int
  @Option(help: "Bytes per message.")
  var size = 64
  @Option(help: "Calls one at a time, for latency.")
  var latencySamples = 2_000
  @Option(help: "Calls for throughput.")
  var calls = 20_000
  @Option(help: "Calls kept in flight for throughput.")
  var inFlight = 64

  func run() async throws {
    let message = [UInt8](repeating: 0x5a, count: size)
    let (latencies, rate) = try await withGRPCClient(
      transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
    ) { client in
      @Sendable func echo() async throws {
        let reply = try await client.unary(
          request: ClientRequest(message: message), descriptor: echoMethod, serializer: RawBytes(), deserializer: RawBytes(),
          options: .defaults) { try $0.message }
        guard reply.count == message.count else { throw ValidationError("echo returned \(reply.count) bytes") }
      }
      for _ in 0..<200 { try await echo() }  // warm up
      var latencies: [Double] = []
      for _ in 0..<latencySamples {
        let start = ContinuousClock.now
        try await echo()
        latencies.append(Self.microseconds(ContinuousClock.now - start))
      }
      let start = ContinuousClock.now
      try await withThrowingTaskGroup(of: Void.self) { group in
        for lane in 0..<inFlight {
          group.addTask { for _ in stride(from: lane, to: calls, by: inFlight) { try await echo() } }
        }
        try await group.waitForAll()
      }
      return (latencies.sorted(), Double(calls) / (Self.microseconds(ContinuousClock.now - start) / 1e6))
    }
    let p50 = latencies[latencies.count / 2]
    let p99 = latencies[min(latencies.count - 1, latencies.count * 99 / 100)]
    print(#"{"p50_us":\#(p50),"p99_us":\#(p99),"calls_per_s":\#(rate)}"#)
  }

  static func microseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
  }
}

import Foundation
import Testing
import WeftClient
import WeftProtocol
import ZeroMQ

/// What a packet capture of the client port shows: a call's payload in plaintext without
/// CURVE, and nowhere with it (tcpdump from Debian, which set-up installs; CI runs as root).
@Suite(.serialized) struct WireCaptureTests {
  private static let payload = "weft-capture-\(UUID().uuidString)"

  @Test func aPayloadCrossesLoopbackInPlaintextWithoutCurveAndNotWithIt() async throws {
    let plain = try await TestMesh()
    try await plain.startWorker(name: "echo", ["--model", "echo"])
    let seenPlain = try await capture(port: Self.port(of: plain.frontend)) {
      _ = try await plain.client.call("echo", "echo", body: [Data(Self.payload.utf8)])
    }
    #expect(seenPlain.contains(Self.payload), "without CURVE the capture should show the payload")

    let keys = try await SecurityTests.Keys()
    let secure = try await TestMesh(gatewayArguments: ["--config", keys.config], curve: try keys.credentials("clients", "alice"))
    try await secure.startWorker(
      name: "wally", ["--model", "echo", "--gateway-key", keys.path("gw/gateway.key"), "--key", keys.path("workers/wally.secret")])
    let seenSecure = try await capture(port: Self.port(of: secure.frontend)) {
      let reply = try await secure.client.call("echo", "echo", body: [Data(Self.payload.utf8)])
      #expect(reply.body == [Data(Self.payload.utf8)])
    }
    #expect(seenSecure.utf8.count > 500, "the capture saw no traffic at all")
    #expect(!seenSecure.contains(Self.payload), "with CURVE the payload must not cross in plaintext")
  }

  private static func port(of endpoint: String) -> String { String(endpoint.split(separator: ":").last ?? "") }

  /// The bytes tcpdump captured on loopback for `port` while `traffic` ran, as Latin-1 text.
  private func capture(port: String, _ traffic: () async throws -> Void) async throws -> String {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("weft-capture-\(UUID().uuidString).pcap")
    defer { try? FileManager.default.removeItem(at: file) }
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tcpdump") else {
      throw TestFailure("tcpdump is missing: scripts/setup.sh installs it")
    }
    let dump = try MeshProcess(
      ["-i", "lo", "--immediate-mode", "-U", "-s", "0", "-w", file.path, "tcp", "port", port], executable: "/usr/bin/tcpdump")
    guard await dump.waitForLog(containing: "listening on") else { throw TestFailure("tcpdump did not start: \(dump.log)") }
    try await traffic()
    // tcpdump takes each packet as it comes (--immediate-mode, not in blocks) and writes it
    // at once (-U), but SIGINT drops what it has not handled yet: wait until the file has
    // not grown for 100 ms (clients' heartbeats come every 200 ms), at most a second.
    let quietSince = ContinuousClock.now
    var (size, grewAt) = (0, quietSince)
    while ContinuousClock.now - grewAt < .milliseconds(100) && ContinuousClock.now - quietSince < .seconds(1) {
      let now = ((try? FileManager.default.attributesOfItem(atPath: file.path))?[.size] as? NSNumber)?.intValue ?? 0
      if now != size { (size, grewAt) = (now, ContinuousClock.now) }
      try await Task.sleep(for: .milliseconds(10))
    }
    dump.signal(SIGINT)
    _ = await dump.waitForExit(timeout: .seconds(5))
    let bytes = (try? Data(contentsOf: file)) ?? Data()
    return String(decoding: bytes.map { $0 < 0x80 ? $0 : 0x3f }, as: UTF8.self)
  }
}

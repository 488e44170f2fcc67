import Foundation
import SwiftProtobuf
import Testing
import WeftClient
import WeftProtocol
import ZeroMQ

/// CURVE on both ports of a real gateway process, with keys made by `weft keys generate`
/// and one key directory per role.
@Suite(.serialized) struct SecurityTests {
  /// Keys for a gateway, a client, an admin, a worker and a stranger, in a temporary
  /// directory removed when the value goes.
  final class Keys {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("weft-keys-\(UUID().uuidString)")
    var config: String { root.appendingPathComponent("mesh.yaml").path }

    init() async throws {
      for (directory, name) in [("gw", "gateway"), ("clients", "alice"), ("clients", "carol"), ("admins", "bob"), ("workers", "wally"), ("strangers", "eve")] {
        let made = try await MeshProcess.run(["keys", "generate", "--out", root.appendingPathComponent(directory).path, "--name", name])
        guard made.status == 0 else { throw TestFailure("weft keys generate failed: \(made.stderr)") }
      }
      let secret = root.appendingPathComponent("gw/gateway.secret").path
      #expect(try FileManager.default.attributesOfItem(atPath: secret)[.posixPermissions] as? Int == 0o600)
      try """
        gateway:
          curve:
            secret_key: \(secret)
            clients: \(root.appendingPathComponent("clients").path)
            workers: \(root.appendingPathComponent("workers").path)
            admins: \(root.appendingPathComponent("admins").path)
        """.write(toFile: config, atomically: true, encoding: .utf8)
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    /// Credentials of the key `directory/name.secret` for this gateway.
    func credentials(_ directory: String, _ name: String) throws -> CurveClientCredentials {
      func text(_ relative: String) throws -> String {
        try String(contentsOfFile: path(relative), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
      }
      return CurveClientCredentials(serverKey: try text("gw/gateway.key"), keys: try CurveKeyPair(secretKey: try text("\(directory)/\(name).secret")))
    }
  }

  @Test func onlyListedKeysGetInAndOnlyAdminsChangeRoutes() async throws {
    let keys = try await Keys()
    let mesh = try await TestMesh(gatewayArguments: ["--config", keys.config], curve: try keys.credentials("admins", "bob"))
    // A worker without a key never gets past the handshake; one with a worker key registers.
    let plain = try MeshProcess(["worker", "--model", "echo", "--gateway", mesh.backend, "--name", "plain"])
    _ = try await plain.waitForLine(prefix: "worker ready")
    try await mesh.startWorker(
      name: "wally", ["--model", "echo", "--gateway-key", keys.path("gw/gateway.key"), "--key", keys.path("workers/wally.secret")])
    let workers = try await mesh.client.meshStatus().services.flatMap { $0.versions.flatMap(\.workers) }
    #expect(workers.map(\.name) == ["wally"])
    #expect(workers.map(\.keyName) == ["wally"])  // the key's name, as `weft status` shows it

    let alice = try WeftClient(gateways: [mesh.frontend], curve: try keys.credentials("clients", "alice"))
    defer { alice.close() }
    #expect(try await alice.call("echo", "echo", body: [Data("hi".utf8)]).body == [Data("hi".utf8)])
    do {
      try await alice.setRoute(RoutePolicy(service: "echo", split: [("1", 1)]))
      Issue.record("a client key changed routes")
    } catch let error as WeftError {
      #expect(error.code == .permissionDenied && error.message.contains("weft.mesh/route.set needs an admin key"), "\(error)")
    }
    #expect(try await mesh.client.setRoute(RoutePolicy(service: "echo", split: [("1", 1)])).routes.count == 1)
    // Requests read from a pack are the pack's sender's: alice's packed route.set is refused too.
    #expect(try Self.packedCallStatus("weft.mesh", "route.set", to: mesh.frontend, as: try keys.credentials("clients", "alice")) == .permissionDenied)

    // A stranger's key, a worker's key on the client port, and no key at all: no reply ever
    // comes, and the gateway goes on serving the others.
    for credentials in [try keys.credentials("strangers", "eve"), try keys.credentials("workers", "wally"), nil] {
      let outsider = try WeftClient(gateways: [mesh.frontend], curve: credentials)
      defer { outsider.close() }
      await #expect(throws: WeftError.self) { try await outsider.call("echo", "echo", options: CallOptions(timeout: .milliseconds(300))) }
    }
    #expect(try await alice.call("echo", "echo").header.workerID == "wally")

    // The Python client (blocking and asyncio) through the same gateway.
    try ClientLibraryTests.requirePython()
    let python = ClientLibraryTests.repository.appendingPathComponent("clients/python")
    let result = try await MeshProcess.run(
      ["-m", "unittest", "discover", "-s", python.appendingPathComponent("tests").path, "-p", "curve_*.py", "-v"],
      executable: ClientLibraryTests.python,
      environment: ["PYTHONPATH": python.path, "WEFT_GATEWAY": mesh.frontend, "WEFT_CURVE_KEYS": keys.root.path], timeout: .seconds(60))
    #expect(result.status == 0 && result.stderr.contains("Ran 3 tests") && result.stderr.contains("OK"), "\(result.stderr)")

    // The C client.
    let example = try await ClientLibraryTests.cExample()
    let curveFlags = ["-g", mesh.frontend, "-c", keys.path("gw/gateway.key"), keys.path("clients/carol.secret")]
    let echoed = try await MeshProcess.run(curveFlags + ["echo", "over-curve"], executable: example)
    #expect(echoed.status == 0 && echoed.stdout.contains(#""status":"OK""#) && echoed.stdout.contains("over-curve"), "\(echoed.stdout)")
    let denied = try await MeshProcess.run(curveFlags + ["call", "weft.mesh", "route.set"], executable: example)
    #expect(denied.stdout.contains(#""status":"PERMISSION_DENIED""#), "\(denied.stdout)")

    // Revoked: alice's key leaves its directory; after SIGHUP her open connection is refused too.
    try FileManager.default.removeItem(atPath: keys.path("clients/alice.key"))
    mesh.gateway.signal(SIGHUP)
    let deadline = ContinuousClock.now + .seconds(5)
    var refusal: WeftError?
    while refusal == nil && ContinuousClock.now < deadline {
      do {
        _ = try await alice.call("echo", "echo", options: CallOptions(timeout: .seconds(1)))
        try await Task.sleep(for: .milliseconds(20))
      } catch let error as WeftError {
        refusal = error
      }
    }
    #expect(refusal?.code == .unauthenticated, "\(String(describing: refusal))")
    #expect(try await mesh.client.call("echo", "echo").header.workerID == "wally")
  }

  /// The status of a call with no body sent packed (`WFP`) from a bare CURVE DEALER.
  static func packedCallStatus(_ service: String, _ method: String, to endpoint: String, as credentials: CurveClientCredentials) throws -> StatusCode? {
    let context = try Context()
    let socket = try Socket(context: context, type: .dealer)
    socket.linger = 0
    try socket.makeCurveClient(credentials)
    try socket.connect(endpoint)
    var header = RequestHeader()
    (header.requestID, header.service, header.method, header.timeoutMs) = (5, service, method, 2_000)
    var pack = FramePack()
    pack.append(message: [try header.serializedBytes()])
    try socket.send(Signature.clientPacked, more: true)
    try socket.send(pack.bytes, more: false)
    var poller = Poller()
    _ = try poller.add(socket)
    let reply = Frames(capacity: 4)
    let deadline = ContinuousClock.now + .seconds(5)
    while ContinuousClock.now < deadline {
      // The handshake can make the socket look readable before a reply is there.
      guard try poller.wait(timeoutMilliseconds: 100) > 0, try socket.receive(into: reply, wait: false) else { continue }
      guard reply.count >= 2, reply.frame(0, equals: Signature.client) else { return nil }
      return StatusCode(wireValue: try ResponseHeader(serializedBytes: reply.bytes(at: 1)).status)
    }
    return nil
  }

  /// `weft up` with `gateway.curve.keys_dir` makes the mesh's keys on first run and keeps
  /// them after; its workers connect with the local worker key, and the CLI, finding the
  /// directory (`WEFT_KEYS`), calls and changes routes without key flags. A client
  /// without the keys gets nothing.
  @Test func upMakesTheMeshKeysOnFirstRunAndTheLocalCLIFindsThem() async throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("weft-mesh-keys-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: root) }
    let keys = root.appendingPathComponent("keys").path
    let config = root.appendingPathComponent("mesh.yaml").path
    try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    try """
      gateway:
        frontend: tcp://127.0.0.1:*
        backend: tcp://127.0.0.1:*
        curve: {keys_dir: \(keys)}
      workers:
        - model: echo
      """.write(toFile: config, atomically: true, encoding: .utf8)
    // Before the first run the file is refused, saying how the keys get made.
    let early = try await MeshProcess.run(["config", "check", config])
    #expect(early.status == 1 && early.stderr.contains("no mesh keys in \(keys) yet"), "\(early.stderr)")

    var gatewayKey = ""
    for run in 1...2 {
      let up = try MeshProcess(["up", "--config", config, "--log-level", "warning"])
      let line = try await up.waitForLine(prefix: "mesh gateway")
      let frontend = String(line.split(separator: " ").first { $0.hasPrefix("frontend=") }!.dropFirst("frontend=".count))
      let key = try String(contentsOfFile: "\(keys)/gateway/gateway.key", encoding: .utf8)
      if run == 1 {
        gatewayKey = key
        #expect(try FileManager.default.attributesOfItem(atPath: "\(keys)/gateway/gateway.secret")[.posixPermissions] as? Int == 0o600)
        for file in ["workers/local.key", "workers/local.secret", "admins/local.key", "admins/local.secret"] {
          #expect(FileManager.default.fileExists(atPath: "\(keys)/\(file)"), "\(file)")
        }
      } else {
        #expect(key == gatewayKey, "the second run made new keys")
      }
      let local = ["WEFT_KEYS": keys]
      var status = try await MeshProcess.run(["status", "--gateway", frontend], environment: local)
      let deadline = ContinuousClock.now + .seconds(20)
      while !status.stdout.contains("echo-1") && ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(200))
        status = try await MeshProcess.run(["status", "--gateway", frontend], environment: local)
      }
      #expect(status.status == 0 && status.stdout.contains("local"), "the worker's key name: \(status.stdout) \(status.stderr)")
      let call = try await MeshProcess.run(["call", "echo.echo", "--data", "sealed", "--gateway", frontend], environment: local)
      #expect(call.status == 0 && call.stdout.contains("sealed"), "\(call.stdout) \(call.stderr)")
      // The CLI's key is the admin one: it may change routes.
      let route = try await MeshProcess.run(["route", "set", "echo", "--split", "1=100", "--gateway", frontend], environment: local)
      #expect(route.status == 0, "\(route.stderr)")

      let stranger = try await MeshProcess.run(["status", "--gateway", frontend, "--timeout-ms", "1000"])
      #expect(stranger.status == 1 && stranger.stderr.contains("UNAVAILABLE: no gateway answered"), "\(stranger.stderr)")
      up.signal(SIGTERM)
      #expect(await up.waitForExit(timeout: .seconds(20)) != nil)
    }
  }

  /// Without CURVE, a port bound beyond loopback works but is said in the log.
  @Test func aPlaintextPortOnTheNetworkIsLoggedAsAWarning() async throws {
    let open = try await TestMesh(gatewayArguments: ["--frontend", "tcp://0.0.0.0:*"])
    _ = try await open.client.meshStatus()
    let warned = await open.gateway.waitForLog(containing: "the client port is open to the network without CURVE")
    #expect(warned, "\(open.gateway.log)")
    // The worker port's warning would follow the client port's at once.
    try await Task.sleep(for: .milliseconds(100))
    #expect(!open.gateway.log.contains("the worker port is open"))
  }
}

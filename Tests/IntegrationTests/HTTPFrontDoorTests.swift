import Foundation
import Testing
import WeftClient
import WeftProtocol
import ZeroMQ

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// The gateway's HTTP side on a real gateway process: health as the Open Inference
/// Protocol says, and metrics a real Prometheus server scrapes and counts exactly.
@Suite(.serialized) struct HTTPFrontDoorTests {
  @Test func healthAndModelReadinessAnswerAsTheProtocolSays() async throws {
    let (mesh, base) = try await TestMesh.withHTTP()
    #expect(try await HTTPCall.get("\(base)/v2/health/live") == (200, #"{"live":true}"#))
    let early = try await HTTPCall.get("\(base)/v2/health/ready")
    #expect(early.status == 503 && early.body.contains(#""ready":false"#) && early.body.contains("no worker has registered yet"), "\(early)")

    let worker = try await mesh.startWorker(name: "echo-1", ["--model", "echo"])
    #expect(try await HTTPCall.get("\(base)/v2/health/ready") == (200, #"{"ready":true}"#))
    #expect(try await HTTPCall.get("\(base)/v2/models/echo/ready") == (200, #"{"name":"echo","ready":true}"#))
    #expect(try await HTTPCall.get("\(base)/v2/models/echo.echo/ready").status == 200)
    let unknown = try await HTTPCall.get("\(base)/v2/models/nothing/ready")
    #expect(unknown.status == 404 && unknown.body.contains("unknown model 'nothing'"), "\(unknown)")
    #expect(try await HTTPCall.get("\(base)/v2/models/echo.nothing/ready").status == 404)
    let server = try await HTTPCall.get("\(base)/v2")
    #expect(server.status == 200 && server.body.contains(#""name":"weft""#) && server.body.contains(#""version":"\#(WeftVersion.current)""#))

    // A service whose only worker is gone is not ready.
    worker.signal(SIGKILL)
    try await mesh.waitUntil("the worker is evicted", timeout: .seconds(15)) { $0.worker(named: "echo-1") == nil }
    let gone = try await HTTPCall.get("\(base)/v2/health/ready")
    #expect(gone.status == 503 && gone.body.contains("no live worker for echo"), "\(gone)")
  }

  @Test func prometheusScrapesExactlyTheRequestsMade() async throws {
    let (mesh, base) = try await TestMesh.withHTTP()
    try await mesh.startWorker(name: "echo-1", ["--model", "echo"])
    let calls = 37
    for index in 0..<calls { _ = try await mesh.client.call("echo", "echo", body: [Data("\(index)".utf8)]) }
    let refused = await mesh.client.result("echo", "nothing")
    #expect(refused.failureCode == .notFound)

    let scrape = try await HTTPCall.get("\(base)/metrics")
    #expect(scrape.status == 200)
    #expect(scrape.body.contains(#"weft_requests_total{service="echo",version="1",code="OK"} \#(calls)"#), "\(scrape.body)")
    #expect(scrape.body.contains(#"weft_request_duration_seconds_count{service="echo",version="1"} \#(calls)"#))
    #expect(scrape.body.contains("process_resident_memory_bytes"))
    // promtool's own check of the exposition format and its conventions.
    let exposition = FileManager.default.temporaryDirectory.appendingPathComponent("weft-metrics-\(UUID().uuidString).txt")
    defer { try? FileManager.default.removeItem(at: exposition) }
    try scrape.body.write(to: exposition, atomically: true, encoding: .utf8)
    let check = try await MeshProcess.run(["-c", "promtool check metrics < '\(exposition.path)'"], executable: "/bin/sh")
    #expect(check.status == 0, "promtool: \(check.stdout) \(check.stderr)")

    // A real Prometheus server scrapes the gateway; PromQL over its HTTP API counts the calls.
    let prometheus = try await PrometheusServer(scraping: String(base.dropFirst("http://".count)))
    defer { prometheus.stop() }
    let okCount = try await prometheus.waitForValue(#"sum(weft_requests_total{service="echo",code="OK"})"#, equalTo: Double(calls))
    #expect(okCount == Double(calls))
    let histogramCount = try await prometheus.waitForValue(#"sum(weft_request_duration_seconds_count{service="echo"})"#, equalTo: Double(calls))
    #expect(histogramCount == Double(calls))
    #expect(try await prometheus.waitForValue("weft_up", equalTo: 1) == 1)
    // Each echo call was its own batch of one.
    let batches = try await prometheus.waitForValue(#"sum(weft_batch_size_count{service="echo"})"#, equalTo: Double(calls))
    #expect(batches == Double(calls))
    #expect(try await prometheus.waitForValue(#"sum(weft_batch_size_bucket{service="echo",le="1.0"})"#, equalTo: Double(calls)) == Double(calls))

    // Every query of the Grafana dashboard returns data from this gateway.
    let dashboard = ClientLibraryTests.repository.appendingPathComponent("deploy/grafana/weft-mesh.json")
    let panels = try #require((try JSONSerialization.jsonObject(with: Data(contentsOf: dashboard)) as? [String: Any])?["panels"] as? [[String: Any]])
    let queries = panels.flatMap { ($0["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String } }
    #expect(queries.count >= 15)
    for query in queries {
      let series = try await prometheus.waitForData(query)
      #expect(series > 0, "the dashboard query returns no data: \(query)")
    }
  }
}

/// A Prometheus server (Debian's `prometheus`, installed by set-up) on a free loopback
/// port, scraping one target every second; stopped and its data removed by `stop()`.
final class PrometheusServer: Sendable {
  private let process: MeshProcess
  private let directory: URL
  let base: String

  init(scraping target: String) async throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("weft-prometheus-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let config = directory.appendingPathComponent("prometheus.yml")
    try """
      global: {scrape_interval: 1s, evaluation_interval: 1s}
      scrape_configs:
        - job_name: weft
          static_configs: [{targets: ["\(target)"]}]
      """.write(to: config, atomically: true, encoding: .utf8)
    let port = try freeLoopbackPort()
    base = "http://127.0.0.1:\(port)"
    process = try MeshProcess(
      [
        "--config.file=\(config.path)", "--storage.tsdb.path=\(directory.appendingPathComponent("data").path)",
        "--web.listen-address=127.0.0.1:\(port)",
      ], executable: "/usr/bin/prometheus")
  }

  func stop() {
    process.signal(SIGKILL)
    try? FileManager.default.removeItem(at: directory)
  }

  /// Evaluates `query` until it returns at least one series or 30 s pass; returns how many.
  func waitForData(_ query: String) async throws -> Int {
    let deadline = ContinuousClock.now + .seconds(30)
    while ContinuousClock.now < deadline {
      if let result = await evaluate(query), !result.isEmpty { return result.count }
      try await Task.sleep(for: .milliseconds(250))
    }
    return 0
  }

  /// The result of an instant query, nil if Prometheus did not answer with one.
  private func evaluate(_ query: String) async -> [[String: Any]]? {
    var components = URLComponents(string: "\(base)/api/v1/query")!
    components.queryItems = [URLQueryItem(name: "query", value: query)]
    guard let (data, _) = try? await URLSession.shared.data(from: components.url!),
      let reply = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    else { return nil }
    return (reply["data"] as? [String: Any])?["result"] as? [[String: Any]]
  }

  /// Evaluates `query` until its one value equals `expected` or 30 s pass; returns the last value.
  func waitForValue(_ query: String, equalTo expected: Double) async throws -> Double? {
    var last: Double?
    let deadline = ContinuousClock.now + .seconds(30)
    while ContinuousClock.now < deadline {
      if let value = await evaluate(query)?.first?["value"] as? [Any], let text = value.last as? String {
        last = Double(text)
        if last == expected { return last }
      }
      try await Task.sleep(for: .milliseconds(250))
    }
    return last
  }
}

import Foundation
import Testing
import WeftConfiguration
import WeftGateway
import WeftModels
import WeftProtocol
import WeftRecommender
import WeftWorker

@Suite struct MeshFileTests {
  private var root: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
  }

  /// The refusal of `yaml`, as the user sees it.
  private func refusal(_ yaml: String) -> String? {
    do {
      _ = try MeshFile.parse(yaml, source: "mesh.yaml")
      return nil
    } catch {
      return "\(error)"
    }
  }

  @Test func theShippedConfigReadsIntoTheLibrariesConfigurations() throws {
    let file = try MeshFile.load(path: root.appendingPathComponent("deploy/weft.yaml").path)
    #expect(file.gateway.frontend == "tcp://127.0.0.1:5555")
    #expect(file.gateway.queueLimit == 1_000)
    #expect(file.gateway.drainTimeout == .seconds(10))
    #expect(file.workers.map(\.model) == ["text", "vision", "speech", "echo", "echo", "sleep"])
    #expect(file.workers[0].settings.maxBatchSize == 32 && file.workers[0].settings.maxBatchDelay == .milliseconds(5))
    #expect(file.workers[4].settings.version == "2")
    #expect(file.workers[5].settings.latency == .milliseconds(20))
    #expect(file.gateway.routes.map(\.service) == ["echo"])
    #expect(file.gateway.routes[0].split.map(\.weight) == [90, 10])
    #expect(file.recommender?.configuration.store == "data/recommender.sqlite")
    #expect(file.recommender?.configuration.exploration == 0.2)
  }

  @Test func absentKeysKeepTheLibrariesDefaults() throws {
    let file = try MeshFile.parse("workers:\n  - model: echo\n", source: "mesh.yaml")
    #expect(file.gateway == GatewayConfiguration())
    #expect(file.workers[0].replicas == 1 && file.workers[0].settings.version == nil && file.workers[0].link.capacity == nil)
    #expect(file.recommender == nil)
    #expect(try MeshFile.parse("", source: "empty.yaml").workers.isEmpty)
  }

  @Test func everyKindOfValueIsRead() throws {
    let file = try MeshFile.parse(
      """
      gateway:
        heartbeat_interval_ms: 250
        max_attempts: 2
        personalize_share: 0.5
        busy_poll_us: 0
      workers:
        - model: sleep
          service: slow
          replicas: 3
          capacity: 4
          inject_failure_rate: 0.25
      routes:
        - service: echo
          split: "a=1, b=3"
          sticky: false
          ramp: {version: b, steps: "10, 100", step_seconds: 5}
      recommender:
        durability: normal
        strategy: ucb
        version: r2
      """, source: "mesh.yaml")
    #expect(file.gateway.heartbeatInterval == .milliseconds(250) && file.gateway.maxAttempts == 2 && file.gateway.personalizeShare == 0.5)
    #expect(file.gateway.busyPoll == .zero)
    #expect(file.workers[0].settings.service == "slow" && file.workers[0].replicas == 3 && file.workers[0].link.capacity == 4)
    #expect(file.workers[0].injectFailureRate == 0.25)
    let policy = file.gateway.routes[0]
    #expect(policy.ignoreUserID && policy.ramp.version == "b" && policy.ramp.shares == [0.1, 1] && policy.ramp.stepMs == 5_000)
    #expect(file.recommender?.configuration.durability == .normal && file.recommender?.configuration.strategy == .ucb)
    #expect(file.recommender?.version == "r2")
  }

  @Test func unknownKeysAreRefusedWithFileLineAndKey() {
    let message = refusal("gateway:\n  frontend: tcp://*:1\n  queue_limt: 5\n")
    #expect(message?.hasPrefix("mesh.yaml:3: gateway.queue_limt: unknown key; gateway takes frontend, backend,") == true, "\(message ?? "")")
    #expect(refusal("gatway: {}\n")?.hasPrefix("mesh.yaml:1: gatway: unknown key; the file takes gateway, workers, routes, recommender") == true)
    #expect(refusal("routes:\n  - service: a\n    split: \"1=1\"\n    ramp: {version: v, steps: \"1\", speed: 2}\n")?
      .hasPrefix("mesh.yaml:4: routes[0].ramp.speed: unknown key") == true)
  }

  @Test func badValuesAreRefusedSayingWhatIsExpected() {
    let cases: [(String, String)] = [
      ("workers:\n  - model: echo\n  - model: text\n    max_batch_size: 0\n", "mesh.yaml:4: workers[1].max_batch_size: must be 1 to 4096, got 0"),
      ("workers:\n  - model: echo\n    replicas: two\n", "mesh.yaml:3: workers[0].replicas: must be a whole number, got 'two'"),
      ("workers:\n  - model: bert\n", "mesh.yaml:2: workers[0].model: unknown model 'bert'; known: echo, sleep, text, vision, speech"),
      ("workers:\n  - replicas: 2\n", "mesh.yaml:2: workers[0]: missing key 'model'"),
      ("workers:\n  - model: text\n    service: words\n", "workers[0].service: only the built-in models (echo, sleep) take another service name"),
      ("workers: {model: echo}\n", "mesh.yaml:1: workers: must be a list, got a mapping"),
      ("gateway:\n  personalize_share: 2\n", "mesh.yaml:2: gateway.personalize_share: must be 0 to 1, got 2"),
      ("gateway:\n  frontend: [a, b]\n", "mesh.yaml:2: gateway.frontend: must be text, got a list"),
      ("recommender:\n  durability: sometimes\n", "mesh.yaml:2: recommender.durability: must be one of full, normal, got 'sometimes'"),
      ("routes:\n  - service: a\n    split: \"x\"\n", "mesh.yaml:2: routes[0]: split: 'x' is not VERSION=NUMBER"),
      ("routes:\n  - service: a\n    split: \"1=-1\"\n", "mesh.yaml:2: routes[0]: version '1' of 'a' has weight -1.0"),
      ("routes:\n  - {service: a, split: \"1=1\"}\n  - {service: a, split: \"2=1\"}\n", "mesh.yaml:3: routes[1]: service 'a' has a route already"),
      ("gateway:\n  queue_limit: 5\n  queue_limit: 6\n", "queue_limit"),
      ("gateway: [\n", "mesh.yaml: not YAML"),
    ]
    for (yaml, expected) in cases {
      let message = refusal(yaml)
      #expect(message?.contains(expected) == true, "\(yaml) → \(message ?? "accepted")")
    }
  }

  @Test func aWorkerSectionIsFoundByIndex() throws {
    let file = try MeshFile.parse("workers:\n  - model: echo\n  - model: sleep\n", source: "mesh.yaml")
    #expect(try file.worker(at: 1, source: "mesh.yaml").model == "sleep")
    #expect(throws: ConfigurationError.self) { try file.worker(at: 2, source: "mesh.yaml") }
  }

  /// docs/CONFIGURATION.md holds the reference written from the key tables, so the doc
  /// lists every key with its type and default, and no key the schema lacks.
  @Test func theDocumentedReferenceIsTheSchemas() throws {
    let doc = try String(contentsOf: root.appendingPathComponent("docs/CONFIGURATION.md"), encoding: .utf8)
    #expect(doc.contains(ConfigurationReference.markdown), "docs/CONFIGURATION.md is stale: paste `weft config reference` into it")
  }
}

import ArgumentParser
import Foundation
import WeftGateway
import WeftModels
import WeftProtocol
import Yams

/// A whole mesh on one machine, as `weft up` reads it from YAML.
///
/// ```yaml
/// gateway:                     # every key optional
///   frontend: tcp://*:5555     # client endpoint
///   backend: tcp://*:5556      # worker endpoint
///   heartbeat_interval_ms: 1000
///   default_timeout_ms: 30000  # for requests that set none
///   queue_limit: 1000          # per service
///   max_request_bytes: 33554432
///   drain_timeout_ms: 10000
/// workers:
///   - model: echo              # echo | sleep | text | vision | speech
///     replicas: 1              # processes of this worker
///     service: echo            # optional: register under another service name
///     version: "1"             # optional
///     capacity: 16             # optional: in flight per gateway
///     max_batch_size: 8        # optional
///     max_batch_delay_ms: 2    # optional
///     latency_ms: 10           # sleep model only
///     inject_failure_rate: 0   # testing: fail this fraction of requests with INTERNAL
/// routes:                      # version routing per service: see RouteSpec
///   - service: echo
///     split: "1=90, 2=10"
/// recommender:                 # optional: one `weft recommender` process
///   store: data/recommender.sqlite
///   embedding_dimensions: 384  # the text worker's MiniLM
///   profile_dimensions: 32
///   exploration: 0.2           # 0 turns it off
///   strategy: thompson         # or ucb
///   durability: full           # or normal
/// ```
struct MeshConfiguration: Decodable, Equatable {
  var gateway = GatewaySection()
  var workers: [WorkerSection] = []
  var routes: [RouteSpec] = []
  var recommender: RecommenderSection?

  struct GatewaySection: Decodable, Equatable {
    var frontend: String?
    var backend: String?
    var heartbeatIntervalMs: Int?
    var defaultTimeoutMs: Int?
    var queueLimit: Int?
    var maxRequestBytes: Int?
    var drainTimeoutMs: Int?

    enum CodingKeys: String, CodingKey {
      case frontend, backend
      case heartbeatIntervalMs = "heartbeat_interval_ms"
      case defaultTimeoutMs = "default_timeout_ms"
      case queueLimit = "queue_limit"
      case maxRequestBytes = "max_request_bytes"
      case drainTimeoutMs = "drain_timeout_ms"
    }

    /// The gateway configuration, defaults filled in.
    var configuration: GatewayConfiguration {
      var result = GatewayConfiguration()
      if let frontend { result.frontend = frontend }
      if let backend { result.backend = backend }
      if let heartbeatIntervalMs { result.heartbeatInterval = .milliseconds(heartbeatIntervalMs) }
      if let defaultTimeoutMs { result.defaultTimeout = .milliseconds(defaultTimeoutMs) }
      if let queueLimit { result.queueLimit = queueLimit }
      if let maxRequestBytes { result.maxRequestBytes = maxRequestBytes }
      if let drainTimeoutMs { result.drainTimeout = .milliseconds(drainTimeoutMs) }
      return result
    }
  }

  struct WorkerSection: Decodable, Equatable {
    var model: String
    var replicas: Int?
    var service: String?
    var version: String?
    var capacity: Int?
    var maxBatchSize: Int?
    var maxBatchDelayMs: Int?
    var latencyMs: Int?
    var injectFailureRate: Double?

    enum CodingKeys: String, CodingKey {
      case model, replicas, service, version, capacity
      case maxBatchSize = "max_batch_size"
      case maxBatchDelayMs = "max_batch_delay_ms"
      case latencyMs = "latency_ms"
      case injectFailureRate = "inject_failure_rate"
    }

    /// The `weft worker` arguments for this section (without `--gateway`).
    var arguments: [String] {
      var arguments = ["--model", model]
      if let service { arguments += ["--service", service] }
      if let version { arguments += ["--model-version", version] }
      if let capacity { arguments += ["--capacity", "\(capacity)"] }
      if let maxBatchSize { arguments += ["--max-batch-size", "\(maxBatchSize)"] }
      if let maxBatchDelayMs { arguments += ["--max-batch-delay-ms", "\(maxBatchDelayMs)"] }
      if let latencyMs { arguments += ["--latency-ms", "\(latencyMs)"] }
      if let injectFailureRate { arguments += ["--inject-failure-rate", "\(injectFailureRate)"] }
      return arguments
    }
  }

  /// The recommender process. One only: its SQLite store has one writer.
  struct RecommenderSection: Decodable, Equatable {
    var store: String?
    var embeddingDimensions: Int?
    var profileDimensions: Int?
    var exploration: Double?
    var strategy: String?
    var durability: String?

    enum CodingKeys: String, CodingKey {
      case store, exploration, strategy, durability
      case embeddingDimensions = "embedding_dimensions"
      case profileDimensions = "profile_dimensions"
    }

    /// The `weft recommender` arguments for this section (without `--gateway`).
    var arguments: [String] {
      var arguments: [String] = []
      if let store { arguments += ["--store", store] }
      if let embeddingDimensions { arguments += ["--embedding-dimensions", "\(embeddingDimensions)"] }
      if let profileDimensions { arguments += ["--profile-dimensions", "\(profileDimensions)"] }
      if let exploration { arguments += ["--exploration", "\(exploration)"] }
      if let strategy { arguments += ["--strategy", strategy] }
      if let durability { arguments += ["--durability", durability] }
      return arguments
    }
  }

  /// Reads and checks a config file; errors name the file and what is wrong.
  static func load(path: String) throws -> MeshConfiguration {
    let text: String
    do {
      text = try String(contentsOfFile: path, encoding: .utf8)
    } catch {
      throw ConfigurationError("cannot read config file \(path): \(error.localizedDescription)")
    }
    return try parse(text, source: path)
  }

  /// Parses YAML text; `source` names it in errors.
  static func parse(_ text: String, source: String) throws -> MeshConfiguration {
    let configuration: MeshConfiguration
    do {
      configuration = try YAMLDecoder().decode(MeshConfiguration.self, from: text)
    } catch {
      throw ConfigurationError("config \(source) is not valid: \(error)")
    }
    for worker in configuration.workers {
      guard ModelCatalog.entry(named: worker.model) != nil else {
        throw ConfigurationError("config \(source): unknown model '\(worker.model)'; known: \(ModelCatalog.names.joined(separator: ", "))")
      }
      if let replicas = worker.replicas, replicas < 0 {
        throw ConfigurationError("config \(source): replicas of '\(worker.model)' must not be negative")
      }
    }
    if let recommender = configuration.recommender {
      do {
        _ = try RecommenderCommand.parse(recommender.arguments)
      } catch {
        throw ConfigurationError("config \(source): recommender: \(RecommenderCommand.message(for: error))")
      }
    }
    do {
      _ = try configuration.routePolicies()
    } catch {
      throw ConfigurationError("config \(source): \(error)")
    }
    return configuration
  }

  /// The `routes:` section as policies.
  func routePolicies() throws -> [RoutePolicy] {
    var seen = Set<String>()
    return try routes.map { route in
      guard seen.insert(route.service).inserted else { throw ConfigurationError("routes name service '\(route.service)' twice") }
      return try route.policy()
    }
  }

  enum RootKeys: String, CodingKey { case gateway, workers, routes, recommender }

  init() {}

  init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: RootKeys.self)
    gateway = try container.decodeIfPresent(GatewaySection.self, forKey: .gateway) ?? GatewaySection()
    workers = try container.decodeIfPresent([WorkerSection].self, forKey: .workers) ?? []
    routes = try container.decodeIfPresent([RouteSpec].self, forKey: .routes) ?? []
    recommender = try container.decodeIfPresent(RecommenderSection.self, forKey: .recommender)
  }
}

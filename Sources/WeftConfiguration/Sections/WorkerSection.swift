import WeftModels
import WeftProtocol
import WeftWorker

/// One entry of the `workers:` list: a model, how many processes of it, and how each is
/// batched and linked to the gateway.
public struct WorkerSection: Sendable, ConfigurationSection {
  /// The model, a name of ``ModelCatalog``.
  public var model: String
  /// How many processes of it `weft up` runs.
  public var replicas = 1
  /// What the model is told (service, version, batching); the catalogue has the defaults.
  public var settings = ModelSettings(modelsDirectory: ModelCatalog.directory())
  /// How it reaches and heartbeats its gateways; whoever starts it sets `gateways` and `name`.
  public var link = WorkerConfiguration()
  /// Testing only: the fraction of requests failed with INTERNAL, to rehearse a bad version.
  public var injectFailureRate = 0.0

  /// A section for `model` with every default.
  public init(model: String) { self.model = model }

  public static var defaults: WorkerSection { WorkerSection(model: "") }

  public static var keys: [ConfigurationKey<WorkerSection>] {
    [
      ConfigurationKey(
        "model", type: "one of: \(ModelCatalog.names.joined(separator: ", "))", required: true,
        meaning: "the model this worker hosts", defaultText: { _ in "required" }
      ) { section, node, reader in
        let name = try reader.string(node)
        guard ModelCatalog.entry(named: name) != nil else {
          throw reader.error(node, "unknown model '\(name)'; known: \(ModelCatalog.names.joined(separator: ", "))")
        }
        section.model = name
      },
      .integer("replicas", \.replicas, 0...1_024, "processes of this worker `weft up` runs"),
      .text("service", \.settings.service, absent: "the model's own", "register under this service name (echo and sleep only)"),
      .text("version", \.settings.version, absent: "the model's own", "the model version it advertises"),
      .integer("max_batch_size", \.settings.maxBatchSize, 1...4_096, absent: "the model's own", "most requests per batch"),
      .milliseconds("max_batch_delay_ms", \.settings.maxBatchDelay, 0...60_000, absent: "the model's own",
        "longest wait for a batch to fill, from its oldest request's arrival (or, for requests that queued while the batch before ran, from that batch's end)"),
      .milliseconds("latency_ms", \.settings.latency, 0...3_600_000, "sleep model only: time each batch takes"),
      ConfigurationKey(
        "models", type: "path", meaning: "the model cache its weights are read from",
        defaultText: { _ in "$WEFT_MODELS, else ~/.cache/weft/models" }
      ) { section, node, reader in section.settings.modelsDirectory = try reader.string(node) },
      .number("inject_failure_rate", \.injectFailureRate, 0...1, "testing only: fraction of requests failed with INTERNAL"),
    ] + linkKeys(\.link)
  }
}

/// The keys of a process that registers like a worker: its capacity, heartbeat and drain.
func linkKeys<Section>(_ link: WritableKeyPath<Section, WorkerConfiguration>) -> [ConfigurationKey<Section>] {
  [
    .integer(
      "capacity", link.appending(path: \.capacity), 1...1_000_000, absent: "twice the batch size",
      "most requests in flight per gateway"),
    .milliseconds("heartbeat_interval_ms", link.appending(path: \.heartbeatInterval), 10...3_600_000, "how often it heartbeats"),
    .integer("heartbeat_liveness", link.appending(path: \.liveness), 1...100, "silent intervals before it reconnects to a gateway"),
    .milliseconds(
      "drain_timeout_ms", link.appending(path: \.drainTimeout), 0...3_600_000, "after SIGTERM, longest time to finish in-flight work"),
    PeerCurveSection.key(link.appending(path: \.curve)),
  ]
}

extension WorkerSection {
  /// Loads the model (weights included, so READY means ready), failing the configured
  /// fraction of requests when `inject_failure_rate` is set.
  public func makeModel() throws -> any Model {
    guard let entry = ModelCatalog.entry(named: model) else {
      throw ConfigurationError("unknown model '\(model)'; known: \(ModelCatalog.names.joined(separator: ", "))")
    }
    guard settings.service == nil || entry.allowsServiceName else {
      throw ConfigurationError("only the built-in models (echo, sleep) take another service name; \(model) serves its own")
    }
    let loaded = try entry.load(settings)
    return injectFailureRate > 0 ? FaultInjectingModel(wrapping: loaded, failureRate: injectFailureRate) : loaded
  }
}

import Foundation
import WeftProtocol

/// What a worker is told about the model it hosts; every field left nil takes the
/// model's own default from its ``ModelCatalog`` entry.
public struct ModelSettings: Sendable {
  /// Where the model cache is (see ``ModelCatalog/directory(_:)``).
  public var modelsDirectory: String
  /// Register under this service name instead of the model's own (built-in models only:
  /// the real models' clients call them by their service).
  public var service: String?
  /// Advertise this version instead of the model's own.
  public var version: String?
  /// Most requests per batch.
  public var maxBatchSize: Int?
  /// Longest a request waits for a batch to fill.
  public var maxBatchDelay: Duration?
  /// `sleep` only: the time each batch takes.
  public var latency: Duration

  /// Settings that take every default.
  public init(
    modelsDirectory: String, service: String? = nil, version: String? = nil, maxBatchSize: Int? = nil,
    maxBatchDelay: Duration? = nil, latency: Duration = .milliseconds(10)
  ) {
    self.modelsDirectory = modelsDirectory
    self.service = service
    self.version = version
    self.maxBatchSize = maxBatchSize
    self.maxBatchDelay = maxBatchDelay
    self.latency = latency
  }
}

/// One model a worker can host: its name, defaults, where its weights live, and how to
/// load it.
public struct ModelEntry: Sendable {
  /// The name `weft worker --model` and the config's `model:` take, e.g. `text`.
  public let name: String
  /// What it is, for help texts.
  public let summary: String
  /// The version it advertises unless told otherwise.
  public let defaultVersion: String
  /// Its batch limits unless told otherwise.
  public let defaultMaxBatchSize: Int
  /// Its batch delay unless told otherwise.
  public let defaultMaxBatchDelay: Duration
  /// The folder of the model cache holding its weights (filled by
  /// `scripts/fetch-models.sh`), or nil for built-in models that have none.
  public let weightsFolder: String?
  /// Whether `service` may rename it (only built-ins, whose clients name them freely).
  public let allowsServiceName: Bool
  private let make: @Sendable (_ entry: ModelEntry, _ settings: ModelSettings) throws -> any Model

  /// Loads the model, weights included, so a worker is ready once this returns.
  public func load(_ settings: ModelSettings) throws -> any Model { try make(self, settings) }

  /// The weights folder in `settings`' model cache.
  func weights(_ settings: ModelSettings) -> String { settings.modelsDirectory + "/" + (weightsFolder ?? name) }

  init(
    name: String, summary: String, defaultVersion: String, maxBatchSize: Int, maxBatchDelay: Duration,
    weightsFolder: String?, allowsServiceName: Bool = false,
    make: @escaping @Sendable (_ entry: ModelEntry, _ settings: ModelSettings) throws -> any Model
  ) {
    self.name = name
    self.summary = summary
    self.defaultVersion = defaultVersion
    defaultMaxBatchSize = maxBatchSize
    defaultMaxBatchDelay = maxBatchDelay
    self.weightsFolder = weightsFolder
    self.allowsServiceName = allowsServiceName
    self.make = make
  }
}

/// Every model a worker can host: adding one means an entry here and its own folder.
public enum ModelCatalog {
  /// The entries, in the order help texts list them.
  public static let entries: [ModelEntry] = [
    ModelEntry(
      name: "echo", summary: "sends back what it gets", defaultVersion: "1", maxBatchSize: 64, maxBatchDelay: .zero,
      weightsFolder: nil, allowsServiceName: true
    ) { entry, settings in
      EchoModel(service: settings.service ?? EchoService.name, version: settings.version ?? entry.defaultVersion)
    },
    ModelEntry(
      name: "sleep", summary: "takes a set time per batch", defaultVersion: "1", maxBatchSize: 8,
      maxBatchDelay: .milliseconds(2), weightsFolder: nil, allowsServiceName: true
    ) { entry, settings in
      SleepModel(
        service: settings.service ?? SleepService.name, version: settings.version ?? entry.defaultVersion,
        latency: settings.latency, maxBatchSize: settings.maxBatchSize ?? entry.defaultMaxBatchSize,
        maxBatchDelay: settings.maxBatchDelay ?? entry.defaultMaxBatchDelay)
    },
    pretrained(
      "text", "all-MiniLM-L6-v2 sentence embeddings", version: "minilm-l6-v2", maxBatchSize: 32, maxBatchDelay: .milliseconds(5),
      { try TextEmbeddingModel(directory: $0, version: $1, maxBatchSize: $2, maxBatchDelay: $3) }),
    pretrained(
      "vision", "EfficientNet-Lite0 ImageNet classification", version: "efficientnet-lite0", maxBatchSize: 16,
      maxBatchDelay: .milliseconds(5), { try ImageClassificationModel(directory: $0, version: $1, maxBatchSize: $2, maxBatchDelay: $3) }),
    pretrained(
      "speech", "Silero VAD v6 voice activity detection", version: "silero-vad-v6", maxBatchSize: 8, maxBatchDelay: .milliseconds(2),
      { try VoiceActivityModel(directory: $0, version: $1, maxBatchSize: $2, maxBatchDelay: $3) }),
  ]

  /// An entry for a pretrained model whose weights live in the cache folder named like
  /// its default version, loaded by `load(directory, version, maxBatchSize, maxBatchDelay)`.
  private static func pretrained(
    _ name: String, _ summary: String, version: String, maxBatchSize: Int, maxBatchDelay: Duration,
    _ load: @escaping @Sendable (_ directory: String, _ version: String, _ maxBatchSize: Int, _ maxBatchDelay: Duration) throws -> any Model
  ) -> ModelEntry {
    ModelEntry(
      name: name, summary: summary, defaultVersion: version, maxBatchSize: maxBatchSize, maxBatchDelay: maxBatchDelay,
      weightsFolder: version
    ) { entry, settings in
      try load(
        entry.weights(settings), settings.version ?? entry.defaultVersion, settings.maxBatchSize ?? entry.defaultMaxBatchSize,
        settings.maxBatchDelay ?? entry.defaultMaxBatchDelay)
    }
  }

  /// The names of every entry.
  public static var names: [String] { entries.map(\.name) }

  /// The entry called `name`, if there is one.
  public static func entry(named name: String) -> ModelEntry? { entries.first { $0.name == name } }

  /// The model cache: `override`, else `$WEFT_MODELS`, else `~/.cache/weft/models`.
  public static func directory(_ override: String? = nil) -> String {
    override ?? ProcessInfo.processInfo.environment["WEFT_MODELS"] ?? (NSHomeDirectory() + "/.cache/weft/models")
  }
}

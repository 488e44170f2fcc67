import Foundation

/// Where the recommender keeps profiles, feedback events and the catalogue.
///
/// `SQLiteProfileStore` is the embedded default; a store shared by several recommender
/// processes (PostgreSQL) implements the same calls. Every change goes through
/// `transaction`, which must be atomic and durable when it returns: the recommender
/// acknowledges feedback only after that.
public protocol ProfileStore: AnyObject {
  /// The spaces the store's profiles live in, fixed when the store was made.
  var layout: ProfileLayout { get }

  /// The user's sufficient statistics, or nil for a user with no feedback.
  /// The empty user id names the population (everyone's feedback pooled).
  func profile(of user: String) throws -> StoredProfile?

  /// Items the user gave feedback on.
  func ratedItems(of user: String) throws -> Set<String>

  /// Every catalogue item, for loading into memory at start.
  func catalog() throws -> [CatalogRecord]

  /// Runs `body` as one atomic, durable transaction; a throw rolls it back.
  func transaction<Result>(_ body: (any ProfileStoreTransaction) throws -> Result) throws -> Result
}

/// The writes a transaction may make.
public protocol ProfileStoreTransaction {
  /// Records a feedback event; false when its id was recorded before (nothing is written).
  func record(_ event: FeedbackEvent) throws -> Bool
  /// Writes a profile (the population's under the empty user id) and, of its label
  /// statistics, those in `changedLabels`.
  func save(_ profile: StoredProfile, changedLabels: [String]) throws
  /// Removes everything held about `user`: profile, label statistics and feedback
  /// events. Returns the number of events removed.
  func deleteUser(_ user: String) throws -> UInt64
  /// Adds catalogue items, replacing those with the same id.
  func upsert(_ items: [CatalogRecord]) throws
}

/// The embedding space requests use and the smaller space profiles learn in.
public struct ProfileLayout: Sendable, Equatable {
  /// Length of the embeddings in requests, e.g. 384 for MiniLM.
  public var embeddingDimensions: Int
  /// Length of a profile's preference vector; embeddings are projected to it.
  public var profileDimensions: Int
  /// Seed of the random projection, so every process projects alike.
  public var projectionSeed: UInt64

  /// Creates a layout; `profileDimensions` is capped at `embeddingDimensions`.
  public init(embeddingDimensions: Int, profileDimensions: Int, projectionSeed: UInt64) {
    self.embeddingDimensions = embeddingDimensions
    self.profileDimensions = min(profileDimensions, embeddingDimensions)
    self.projectionSeed = projectionSeed
  }
}

/// What a store holds about one user: sufficient statistics of their feedback, not the
/// events' replay. The prior is not in them, so a changing population prior needs no
/// rewrite of every profile, and deleting a user can subtract them from the population.
public struct StoredProfile: Sendable, Equatable {
  /// The user id; empty for the population.
  public var user: String
  /// Feedback events learnt from.
  public var events: UInt64
  /// Sum of their rewards.
  public var rewardSum: Double
  /// Σ x·xᵀ over the projected embeddings of rated items: the packed upper triangle,
  /// row by row (`profileDimensions·(profileDimensions+1)/2` values).
  public var gram: [Double]
  /// Σ reward·x over the same embeddings.
  public var rewardVector: [Double]
  /// Per-label statistics of what the embedding part did not predict.
  public var labels: [String: LabelStatistics]
  /// Milliseconds since the Unix epoch of the last change.
  public var updatedUnixMs: Int64

  /// A profile with no feedback in a space of `dimensions`.
  public static func empty(user: String, dimensions: Int) -> StoredProfile {
    StoredProfile(
      user: user, events: 0, rewardSum: 0, gram: Array(repeating: 0, count: dimensions * (dimensions + 1) / 2),
      rewardVector: Array(repeating: 0, count: dimensions), labels: [:], updatedUnixMs: 0)
  }
}

/// A user's feedback on items carrying one label.
public struct LabelStatistics: Sendable, Equatable {
  /// Events on items with the label.
  public var events: UInt32
  /// Sum of the rewards' residuals: reward minus what the embedding part predicted.
  public var residualSum: Double

  /// Creates statistics.
  public init(events: UInt32, residualSum: Double) {
    self.events = events
    self.residualSum = residualSum
  }
}

/// One feedback event as stored.
public struct FeedbackEvent: Sendable, Equatable {
  public var eventID: String
  public var user: String
  public var item: String
  public var reward: Float
  public var unixMs: Int64

  /// Creates an event.
  public init(eventID: String, user: String, item: String, reward: Float, unixMs: Int64) {
    self.eventID = eventID
    self.user = user
    self.item = item
    self.reward = reward
    self.unixMs = unixMs
  }
}

/// One catalogue item as stored: its full embedding (so a new projection could be
/// made from it), labels and base score.
public struct CatalogRecord: Sendable, Equatable {
  public var id: String
  public var embedding: [Float]
  public var labels: [String]
  public var baseScore: Float

  /// Creates a record.
  public init(id: String, embedding: [Float], labels: [String], baseScore: Float) {
    self.id = id
    self.embedding = embedding
    self.labels = labels
    self.baseScore = baseScore
  }
}

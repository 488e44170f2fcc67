import Foundation

/// Where the recommender keeps profiles, feedback events and the catalogue.
///
/// `SQLiteProfileStore` is the embedded default for one machine; `PostgresProfileStore`
/// is shared by any number of recommender processes. Every change goes through
/// `transaction`, which must be atomic and durable when it returns: the recommender
/// acknowledges feedback only after that. A transaction reads the users it changes
/// through `profilesForUpdate`, so two processes never overwrite each other's update.
public protocol ProfileStore: AnyObject {
  /// The spaces the store's profiles live in, fixed when the store was made.
  var layout: ProfileLayout { get }

  /// The user's sufficient statistics, or nil for a user with no feedback.
  func profile(of user: String) throws -> StoredProfile?

  /// Everyone's feedback pooled: a new user's prior.
  func population() throws -> StoredProfile

  /// Items the user gave feedback on.
  func ratedItems(of user: String) throws -> Set<String>

  /// Every catalogue item, for loading into memory.
  func catalog() throws -> [CatalogRecord]

  /// The catalogue items among `ids` (those absent are left out).
  func catalogItems(_ ids: [String]) throws -> [CatalogRecord]

  /// What other processes changed since the last call, so cached copies can be dropped;
  /// cheap enough to call before every request.
  func changesByOthers() throws -> StoreChanges

  /// Runs `body` as one atomic, durable transaction; a throw rolls it back. A store may
  /// run `body` again when the transaction lost a lock to another process's.
  func transaction<Result>(_ body: (any ProfileStoreTransaction) throws -> Result) throws -> Result
}

/// The reads and writes a transaction may make.
public protocol ProfileStoreTransaction {
  /// Records feedback events, and for each whether it is new: false when its id was
  /// recorded before, in an earlier transaction or earlier in `events` (nothing is written).
  func record(_ events: [FeedbackEvent]) throws -> [Bool]
  /// The users' statistics as committed now (absent: no feedback yet), locked against
  /// every other writer until the transaction ends.
  func profilesForUpdate(of users: [String]) throws -> [String: StoredProfile]
  /// Writes a user's profile and, of its label statistics, those in `changedLabels`.
  func save(_ profile: StoredProfile, changedLabels: [String]) throws
  /// Adds (`sign` 1) or removes (`sign` −1) statistics to or from the population's:
  /// each label of `statistics` changes by its counts.
  func addToPopulation(_ statistics: StoredProfile, sign: Double) throws
  /// Removes everything held about `user`: profile, label statistics, rated items and
  /// feedback events.
  func deleteUser(_ user: String) throws
  /// Adds catalogue items, replacing those with the same id.
  func upsert(_ items: [CatalogRecord]) throws
  /// Forgets the ids of at most `limit` events recorded before `unixMs` (what they taught
  /// stays in the profiles); returns how many were forgotten.
  func forgetEvents(recordedBefore unixMs: Int64, atMost limit: Int) throws -> Int
}

/// What other processes changed in a shared store.
public struct StoreChanges: Sendable, Equatable {
  /// Users whose profile changed or was deleted.
  public var users: Set<String> = []
  /// Catalogue items added or replaced.
  public var catalogItems: Set<String> = []
  /// Whether the population's statistics changed.
  public var population = false
  /// Whether anything may have changed (e.g. after a reconnect): drop every cached copy.
  public var everything = false

  /// Nothing changed.
  public static let none = StoreChanges()

  /// Whether nothing changed.
  public var isEmpty: Bool { self == .none }

  /// Creates a set of changes.
  public init(users: Set<String> = [], catalogItems: Set<String> = [], population: Bool = false, everything: Bool = false) {
    self.users = users
    self.catalogItems = catalogItems
    self.population = population
    self.everything = everything
  }
}

/// A store made for other dimensions than those asked for.
public struct StoreLayoutMismatch: Error, CustomStringConvertible {
  public let description: String

  init(stored: ProfileLayout, requested: ProfileLayout) {
    description =
      "the store was made for \(stored.embeddingDimensions)-value embeddings and \(stored.profileDimensions)-value profiles, "
      + "not \(requested.embeddingDimensions) and \(requested.profileDimensions)"
  }
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

extension ProfileLayout {
  /// The layout as a store's key-value metadata keeps it.
  var storedValues: [(key: String, value: String)] {
    [
      ("embedding_dimensions", "\(embeddingDimensions)"), ("profile_dimensions", "\(profileDimensions)"),
      ("projection_seed", "\(projectionSeed)"),
    ]
  }

  /// The layout a store's metadata describes, or nil for a store that has none yet.
  init?(stored: [String: String]) {
    guard let embedding = stored["embedding_dimensions"].flatMap(Int.init),
      let profile = stored["profile_dimensions"].flatMap(Int.init), let seed = stored["projection_seed"].flatMap(UInt64.init)
    else { return nil }
    self.init(embeddingDimensions: embedding, profileDimensions: profile, projectionSeed: seed)
  }

  /// Whether profiles of `other` live in the same spaces (the seed may differ: the store's wins).
  func hasDimensions(of other: ProfileLayout) -> Bool {
    embeddingDimensions == other.embeddingDimensions && profileDimensions == other.profileDimensions
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

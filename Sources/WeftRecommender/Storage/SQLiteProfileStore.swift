import CSQLite
import Foundation

/// The embedded profile store: one SQLite file in WAL mode.
///
/// With `synchronous = FULL` (the default) a committed transaction survives a power
/// loss; with `NORMAL` it survives the process being killed but may lose the last
/// commits on power loss, and commits are cheaper. Deleted rows are overwritten
/// (`secure_delete`), and a user's deletion checkpoints the WAL so their data leaves it.
public final class SQLiteProfileStore: ProfileStore {
  /// How hard a commit waits for the disk.
  public enum Durability: String, Sendable, CaseIterable {
    /// fsync on every commit: survives power loss.
    case full
    /// fsync at checkpoints: survives the process dying, not the machine.
    case normal
  }

  public let layout: ProfileLayout
  private let connection: SQLiteConnection
  private static let labelSeparator = "\u{1F}"

  /// Opens or creates the store at `path`.
  ///
  /// A new store takes `layout`; an existing one keeps the layout it was made with and
  /// throws when `layout`'s dimensions differ, since its profiles live in that space.
  public init(path: String, layout: ProfileLayout, durability: Durability = .full) throws {
    connection = try SQLiteConnection(path: path)
    try connection.execute(
      """
      PRAGMA busy_timeout = 5000;
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = \(durability == .full ? "FULL" : "NORMAL");
      PRAGMA secure_delete = ON;
      PRAGMA foreign_keys = OFF;
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS profiles (
        user TEXT PRIMARY KEY, events INTEGER NOT NULL, reward_sum REAL NOT NULL,
        gram BLOB NOT NULL, reward_vector BLOB NOT NULL, updated_ms INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS label_stats (
        user TEXT NOT NULL, label TEXT NOT NULL, events INTEGER NOT NULL, residual_sum REAL NOT NULL,
        PRIMARY KEY (user, label)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS events (
        event_id TEXT PRIMARY KEY, user TEXT NOT NULL, item TEXT NOT NULL, reward REAL NOT NULL,
        at_ms INTEGER NOT NULL) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS events_by_user ON events (user, item);
      CREATE TABLE IF NOT EXISTS catalog (
        item TEXT PRIMARY KEY, embedding BLOB NOT NULL, labels TEXT NOT NULL, base_score REAL NOT NULL) WITHOUT ROWID;
      """)
    self.layout = try Self.settle(layout, in: connection)
  }

  /// The stored layout, or `requested` written as the store's own when it is new.
  private static func settle(_ requested: ProfileLayout, in connection: SQLiteConnection) throws -> ProfileLayout {
    var stored: [String: String] = [:]
    try connection.query("SELECT key, value FROM meta") { stored[$0.text(0)] = $0.text(1) }
    guard let embedding = stored["embedding_dimensions"].flatMap(Int.init),
      let profile = stored["profile_dimensions"].flatMap(Int.init),
      let seed = stored["projection_seed"].flatMap(UInt64.init)
    else {
      for (key, value) in [
        ("embedding_dimensions", "\(requested.embeddingDimensions)"), ("profile_dimensions", "\(requested.profileDimensions)"),
        ("projection_seed", "\(requested.projectionSeed)"), ("schema", "1"),
      ] {
        try connection.query("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [.text(key), .text(value)])
      }
      return requested
    }
    let existing = ProfileLayout(embeddingDimensions: embedding, profileDimensions: profile, projectionSeed: seed)
    guard existing.embeddingDimensions == requested.embeddingDimensions,
      existing.profileDimensions == requested.profileDimensions
    else {
      throw SQLiteError(
        code: SQLITE_MISMATCH,
        message: "the store was made for \(embedding)-value embeddings and \(profile)-value profiles, "
          + "not \(requested.embeddingDimensions) and \(requested.profileDimensions)")
    }
    return existing
  }

  public func profile(of user: String) throws -> StoredProfile? {
    var found: StoredProfile?
    try connection.query(
      "SELECT events, reward_sum, gram, reward_vector, updated_ms FROM profiles WHERE user = ?", [.text(user)]
    ) { row in
      found = StoredProfile(
        user: user, events: UInt64(row.integer(0)), rewardSum: row.real(1), gram: Self.doubles(row.blob(2)),
        rewardVector: Self.doubles(row.blob(3)), labels: [:], updatedUnixMs: row.integer(4))
    }
    guard var profile = found else { return nil }
    try connection.query("SELECT label, events, residual_sum FROM label_stats WHERE user = ?", [.text(user)]) { row in
      profile.labels[row.text(0)] = LabelStatistics(events: UInt32(clamping: row.integer(1)), residualSum: row.real(2))
    }
    return profile
  }

  public func ratedItems(of user: String) throws -> Set<String> {
    var items: Set<String> = []
    try connection.query("SELECT DISTINCT item FROM events WHERE user = ?", [.text(user)]) { items.insert($0.text(0)) }
    return items
  }

  public func catalog() throws -> [CatalogRecord] {
    var records: [CatalogRecord] = []
    try connection.query("SELECT item, embedding, labels, base_score FROM catalog ORDER BY item") { row in
      let labels = row.text(2)
      records.append(
        CatalogRecord(
          id: row.text(0), embedding: Self.floats(row.blob(1)),
          labels: labels.isEmpty ? [] : labels.components(separatedBy: Self.labelSeparator), baseScore: Float(row.real(3))))
    }
    return records
  }

  public func transaction<Result>(_ body: (any ProfileStoreTransaction) throws -> Result) throws -> Result {
    try connection.execute("BEGIN IMMEDIATE")
    do {
      let writer = Writer(connection: connection)
      let result = try body(writer)
      try connection.execute("COMMIT")
      if writer.deletedUsers {
        // The deleted rows' old pages may still be in the WAL; move them out of it.
        try connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
      }
      return result
    } catch {
      try? connection.execute("ROLLBACK")
      throw error
    }
  }

  private final class Writer: ProfileStoreTransaction {
    let connection: SQLiteConnection
    var deletedUsers = false

    init(connection: SQLiteConnection) { self.connection = connection }

    func record(_ event: FeedbackEvent) throws -> Bool {
      try connection.query(
        "INSERT OR IGNORE INTO events (event_id, user, item, reward, at_ms) VALUES (?, ?, ?, ?, ?)",
        [.text(event.eventID), .text(event.user), .text(event.item), .real(Double(event.reward)), .integer(event.unixMs)])
      return connection.changes == 1
    }

    func save(_ profile: StoredProfile, changedLabels: [String]) throws {
      try connection.query(
        "INSERT OR REPLACE INTO profiles (user, events, reward_sum, gram, reward_vector, updated_ms) VALUES (?, ?, ?, ?, ?, ?)",
        [
          .text(profile.user), .integer(Int64(profile.events)), .real(profile.rewardSum),
          .blob(SQLiteProfileStore.bytes(profile.gram)), .blob(SQLiteProfileStore.bytes(profile.rewardVector)),
          .integer(profile.updatedUnixMs),
        ])
      for label in changedLabels {
        guard let statistics = profile.labels[label] else {
          try connection.query("DELETE FROM label_stats WHERE user = ? AND label = ?", [.text(profile.user), .text(label)])
          continue
        }
        try connection.query(
          "INSERT OR REPLACE INTO label_stats (user, label, events, residual_sum) VALUES (?, ?, ?, ?)",
          [.text(profile.user), .text(label), .integer(Int64(statistics.events)), .real(statistics.residualSum)])
      }
    }

    func deleteUser(_ user: String) throws -> UInt64 {
      deletedUsers = true
      try connection.query("DELETE FROM events WHERE user = ?", [.text(user)])
      let events = UInt64(connection.changes)
      try connection.query("DELETE FROM label_stats WHERE user = ?", [.text(user)])
      try connection.query("DELETE FROM profiles WHERE user = ?", [.text(user)])
      return events
    }

    func upsert(_ items: [CatalogRecord]) throws {
      for item in items {
        try connection.query(
          "INSERT OR REPLACE INTO catalog (item, embedding, labels, base_score) VALUES (?, ?, ?, ?)",
          [
            .text(item.id), .blob(SQLiteProfileStore.bytes(item.embedding)),
            .text(item.labels.joined(separator: SQLiteProfileStore.labelSeparator)), .real(Double(item.baseScore)),
          ])
      }
    }
  }

  // Vectors are stored as little-endian IEEE blobs, the machine's own layout here.
  fileprivate static func bytes<Element: BinaryFloatingPoint>(_ values: [Element]) -> Data {
    values.withUnsafeBufferPointer { Data(buffer: $0) }
  }

  private static func doubles(_ data: Data) -> [Double] { values(data) }
  private static func floats(_ data: Data) -> [Float] { values(data) }

  private static func values<Element: BinaryFloatingPoint>(_ data: Data) -> [Element] {
    let count = data.count / MemoryLayout<Element>.stride
    return [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
      _ = data.copyBytes(to: buffer)
      initialized = count
    }
  }
}

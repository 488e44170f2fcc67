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
  /// SQLite's count of commits by other connections, to notice another process's writes.
  private var dataVersion: Int64 = 0

  /// The schema, one step per version; a store runs the steps it has not run yet, in order.
  private static let migrations: [String] = [
    """
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
    """,
    // Events are forgotten after the idempotency window, so "rated" gets its own table.
    """
    CREATE TABLE rated_items (user TEXT NOT NULL, item TEXT NOT NULL, PRIMARY KEY (user, item)) WITHOUT ROWID;
    INSERT OR IGNORE INTO rated_items (user, item) SELECT DISTINCT user, item FROM events;
    CREATE INDEX events_by_time ON events (at_ms);
    """,
  ]

  /// Opens or creates the store at `path`, bringing its schema up to date.
  ///
  /// A new store takes `layout`; an existing one keeps the layout it was made with and
  /// throws ``StoreLayoutMismatch`` when `layout`'s dimensions differ, since its
  /// profiles live in that space.
  public init(path: String, layout: ProfileLayout, durability: Durability = .full) throws {
    connection = try SQLiteConnection(path: path)
    try connection.execute(
      """
      PRAGMA busy_timeout = 5000;
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = \(durability == .full ? "FULL" : "NORMAL");
      PRAGMA secure_delete = ON;
      PRAGMA foreign_keys = OFF;
      """)
    try connection.execute("BEGIN IMMEDIATE")
    do {
      try Self.migrate(connection)
      self.layout = try Self.settle(layout, in: connection)
      try connection.execute("COMMIT")
    } catch {
      try? connection.execute("ROLLBACK")
      throw error
    }
    dataVersion = try connection.integer("PRAGMA data_version")
  }

  /// Runs the migrations the file has not had; the version is in `meta` (a file made
  /// before versions were recorded there is at version 1 once it has a layout).
  private static func migrate(_ connection: SQLiteConnection) throws {
    let hasMeta = try connection.integer("SELECT count(*) FROM sqlite_master WHERE name = 'meta'") > 0
    var version = 0
    if hasMeta {
      try connection.query("SELECT value FROM meta WHERE key = 'schema'") { version = Int($0.text(0)) ?? 0 }
    }
    for (index, step) in migrations.enumerated() where index + 1 > version {
      try connection.execute(step)
      try connection.query("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)", [.text("\(index + 1)")])
    }
  }

  /// The stored layout, or `requested` written as the store's own when it is new.
  private static func settle(_ requested: ProfileLayout, in connection: SQLiteConnection) throws -> ProfileLayout {
    var stored: [String: String] = [:]
    try connection.query("SELECT key, value FROM meta") { stored[$0.text(0)] = $0.text(1) }
    guard let existing = ProfileLayout(stored: stored) else {
      for (key, value) in requested.storedValues {
        try connection.query("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [.text(key), .text(value)])
      }
      return requested
    }
    guard existing.hasDimensions(of: requested) else { throw StoreLayoutMismatch(stored: existing, requested: requested) }
    return existing
  }

  public func profile(of user: String) throws -> StoredProfile? {
    try Reader(connection: connection).profile(of: user)
  }

  /// The population is kept as the profile of the empty user id.
  public func population() throws -> StoredProfile {
    try profile(of: "") ?? .empty(user: "", dimensions: layout.profileDimensions)
  }

  public func ratedItems(of user: String) throws -> Set<String> {
    var items: Set<String> = []
    try connection.query("SELECT item FROM rated_items WHERE user = ?", [.text(user)]) { items.insert($0.text(0)) }
    return items
  }

  public func catalog() throws -> [CatalogRecord] {
    var records: [CatalogRecord] = []
    try connection.query("SELECT item, embedding, labels, base_score FROM catalog ORDER BY item") { records.append(Self.record($0)) }
    return records
  }

  public func catalogItems(_ ids: [String]) throws -> [CatalogRecord] {
    var records: [CatalogRecord] = []
    for id in ids {
      try connection.query("SELECT item, embedding, labels, base_score FROM catalog WHERE item = ?", [.text(id)]) {
        records.append(Self.record($0))
      }
    }
    return records
  }

  private static func record(_ row: SQLiteRow) -> CatalogRecord {
    CatalogRecord(
      id: row.text(0), embedding: VectorBytes.values(row.blob(1)), labels: VectorBytes.labels(row.text(2)),
      baseScore: Float(row.real(3)))
  }

  /// Another process writing the same file is noticed, not itemised: everything is
  /// dropped. One process per file is the usual case, and then this is one pragma.
  public func changesByOthers() throws -> StoreChanges {
    let version = try connection.integer("PRAGMA data_version")
    guard version != dataVersion else { return .none }
    dataVersion = version
    return StoreChanges(everything: true)
  }

  public func transaction<Result>(_ body: (any ProfileStoreTransaction) throws -> Result) throws -> Result {
    try connection.execute("BEGIN IMMEDIATE")
    do {
      let writer = Writer(connection: connection, layout: layout)
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
    let layout: ProfileLayout
    var deletedUsers = false

    init(connection: SQLiteConnection, layout: ProfileLayout) {
      self.connection = connection
      self.layout = layout
    }

    func record(_ events: [FeedbackEvent]) throws -> [Bool] {
      try events.map { event in
        try connection.query(
          "INSERT OR IGNORE INTO events (event_id, user, item, reward, at_ms) VALUES (?, ?, ?, ?, ?)",
          [.text(event.eventID), .text(event.user), .text(event.item), .real(Double(event.reward)), .integer(event.unixMs)])
        guard connection.changes == 1 else { return false }
        try connection.query("INSERT OR IGNORE INTO rated_items (user, item) VALUES (?, ?)", [.text(event.user), .text(event.item)])
        return true
      }
    }

    // BEGIN IMMEDIATE took the file's write lock: what is read now stays so until COMMIT.
    func profilesForUpdate(of users: [String]) throws -> [String: StoredProfile] {
      let store = Reader(connection: connection)
      var found: [String: StoredProfile] = [:]
      for user in users { found[user] = try store.profile(of: user) }
      return found
    }

    func save(_ profile: StoredProfile, changedLabels: [String]) throws {
      try writeTotals(of: profile)
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

    func addToPopulation(_ statistics: StoredProfile, sign: Double) throws {
      var population = try Reader(connection: connection).totals(of: "") ?? .empty(user: "", dimensions: layout.profileDimensions)
      var totals = statistics
      totals.labels = [:]
      population.merge(totals, sign: sign)
      population.updatedUnixMs = max(population.updatedUnixMs, statistics.updatedUnixMs)
      try writeTotals(of: population)
      for (label, counts) in statistics.labels {
        try connection.query(
          """
          INSERT INTO label_stats (user, label, events, residual_sum) VALUES ('', ?1, ?2, ?3)
          ON CONFLICT (user, label) DO UPDATE SET events = events + ?2, residual_sum = residual_sum + ?3
          """, [.text(label), .integer(Int64(sign) * Int64(counts.events)), .real(sign * counts.residualSum)])
        try connection.query("DELETE FROM label_stats WHERE user = '' AND label = ? AND events <= 0", [.text(label)])
      }
    }

    private func writeTotals(of profile: StoredProfile) throws {
      try connection.query(
        "INSERT OR REPLACE INTO profiles (user, events, reward_sum, gram, reward_vector, updated_ms) VALUES (?, ?, ?, ?, ?, ?)",
        [
          .text(profile.user), .integer(Int64(profile.events)), .real(profile.rewardSum),
          .blob(VectorBytes.data(profile.gram)), .blob(VectorBytes.data(profile.rewardVector)), .integer(profile.updatedUnixMs),
        ])
    }

    func deleteUser(_ user: String) throws {
      deletedUsers = true
      for table in ["events", "rated_items", "label_stats", "profiles"] {
        try connection.query("DELETE FROM \(table) WHERE user = ?", [.text(user)])
      }
    }

    func upsert(_ items: [CatalogRecord]) throws {
      for item in items {
        try connection.query(
          "INSERT OR REPLACE INTO catalog (item, embedding, labels, base_score) VALUES (?, ?, ?, ?)",
          [
            .text(item.id), .blob(VectorBytes.data(item.embedding)), .text(VectorBytes.joined(item.labels)),
            .real(Double(item.baseScore)),
          ])
      }
    }

    func forgetEvents(recordedBefore unixMs: Int64, atMost limit: Int) throws -> Int {
      try connection.query(
        "DELETE FROM events WHERE event_id IN (SELECT event_id FROM events WHERE at_ms < ? LIMIT ?)",
        [.integer(unixMs), .integer(Int64(limit))])
      return connection.changes
    }
  }

  /// Reads on a connection, inside or outside a transaction.
  private struct Reader {
    let connection: SQLiteConnection

    func totals(of user: String) throws -> StoredProfile? {
      var found: StoredProfile?
      try connection.query(
        "SELECT events, reward_sum, gram, reward_vector, updated_ms FROM profiles WHERE user = ?", [.text(user)]
      ) { row in
        found = StoredProfile(
          user: user, events: UInt64(row.integer(0)), rewardSum: row.real(1), gram: VectorBytes.values(row.blob(2)),
          rewardVector: VectorBytes.values(row.blob(3)), labels: [:], updatedUnixMs: row.integer(4))
      }
      return found
    }

    func profile(of user: String) throws -> StoredProfile? {
      guard var profile = try totals(of: user) else { return nil }
      try connection.query("SELECT label, events, residual_sum FROM label_stats WHERE user = ?", [.text(user)]) { row in
        profile.labels[row.text(0)] = LabelStatistics(events: UInt32(clamping: row.integer(1)), residualSum: row.real(2))
      }
      return profile
    }
  }
}

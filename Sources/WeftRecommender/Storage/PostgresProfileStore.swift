import Foundation

/// A profile store in PostgreSQL, shared by any number of recommender processes.
///
/// Commits are durable when they return (the server's `synchronous_commit`). A write
/// transaction takes each user's advisory lock, in one order for every process, before
/// reading the user's statistics, so two replicas updating one user take turns instead
/// of overwriting each other; event ids are unique in the table, so a retry reaching two
/// replicas at once is counted once. The population is kept in shards that sum to it,
/// each replica adding to its own, so replicas do not queue on one row. Every commit
/// notifies the other replicas (`LISTEN`/`NOTIFY`) of the users, items and population it
/// changed, and they drop their cached copies before their next call.
///
/// When the server cannot be reached, calls throw a ``PostgresError`` that
/// ``isUnavailable``; the store reconnects on a later call, at most once a second.
public final class PostgresProfileStore: ProfileStore {
  public let layout: ProfileLayout
  /// The location with any password taken out, for messages and logs.
  public let displayLocation: String
  private let location: String
  private let requestedLayout: ProfileLayout
  private var connection: PostgresConnection?
  private var lastFailure: (error: PostgresError, at: ContinuousClock.Instant)?
  /// Set by a (re)connection: notifications sent while disconnected were missed.
  private var missedNotifications = false
  /// The population shard this process adds to.
  private let shard = Int64.random(in: 0..<Int64(PostgresProfileStore.populationShards))

  static let channel = "weft_recommender"
  static let populationShards = 64
  private static let retryInterval = Duration.seconds(1)
  private static let conflictRetries = 4
  /// A NOTIFY payload must be shorter than 8000 bytes; a longer change list is sent as "everything".
  private static let maxNoticeBytes = 7_900

  /// Connects to the database at `location` (`postgresql://user@host:port/db`, or libpq's
  /// key=value form) and brings its schema up to date.
  ///
  /// A database made for other dimensions throws ``StoreLayoutMismatch``; one that
  /// cannot be reached now does not throw: calls fail with UNAVAILABLE until it can.
  public init(location: String, layout: ProfileLayout) throws {
    self.location = location
    requestedLayout = layout
    displayLocation = Self.redacted(location)
    do {
      let (connection, stored) = try Self.open(location, displayLocation: displayLocation, layout: layout)
      self.connection = connection
      self.layout = stored
    } catch let error as PostgresError where error.isUnavailable {
      self.layout = layout
      lastFailure = (error, .now)
    }
  }

  /// The location with the password of a URI's user info removed, for logs.
  public static func redacted(_ location: String) -> String {
    guard let scheme = location.range(of: "://"), let at = location[scheme.upperBound...].firstIndex(of: "@") else {
      return location.replacingOccurrences(of: #"password\s*=\s*\S+"#, with: "password=…", options: .regularExpression)
    }
    let userInfo = location[scheme.upperBound..<at]
    guard let colon = userInfo.firstIndex(of: ":") else { return location }
    return location.replacingCharacters(in: colon..<at, with: ":…")
  }

  // MARK: - Connection

  /// A new connection with the schema migrated, the layout settled and notifications on.
  private static func open(
    _ location: String, displayLocation: String, layout: ProfileLayout
  ) throws -> (PostgresConnection, ProfileLayout) {
    let fresh: PostgresConnection
    do {
      fresh = try PostgresConnection(location: location, connectTimeoutSeconds: 3, statementTimeoutMs: 10_000)
    } catch let error as PostgresError {
      throw PostgresError(sqlState: error.sqlState, message: "PostgreSQL store \(displayLocation): \(error.message)")
    }
    try fresh.execute("SET search_path TO \(PostgresSchema.name)")
    try PostgresSchema.migrate(fresh)
    let stored = try settleLayout(layout, on: fresh)
    try fresh.execute("LISTEN \(channel)")
    return (fresh, stored)
  }

  /// The database's layout, written from the requested one when it has none yet.
  private static func settleLayout(_ requestedLayout: ProfileLayout, on connection: PostgresConnection) throws -> ProfileLayout {
    var values: [String: String] = [:]
    try connection.query("SELECT key, value FROM meta") { values[$0.text(0)] = $0.text(1) }
    if let stored = ProfileLayout(stored: values) {
      guard stored.hasDimensions(of: requestedLayout) else { throw StoreLayoutMismatch(stored: stored, requested: requestedLayout) }
      return stored
    }
    for (key, value) in requestedLayout.storedValues {
      try connection.query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT DO NOTHING", [.text(key), .text(value)])
    }
    // Another replica may have written its layout first: read back what won.
    return try settleLayout(requestedLayout, on: connection)
  }

  /// The open connection, reconnecting when it broke (at most once per retry interval).
  private func connected() throws -> PostgresConnection {
    if let connection, !connection.isBroken { return connection }
    connection = nil
    if let lastFailure, ContinuousClock.now - lastFailure.at < Self.retryInterval { throw lastFailure.error }
    do {
      let (fresh, stored) = try Self.open(location, displayLocation: displayLocation, layout: requestedLayout)
      // Connected late (the server was down at start): the projection was made for the requested layout.
      guard stored == layout else { throw StoreLayoutMismatch(stored: stored, requested: layout) }
      connection = fresh
      lastFailure = nil
      missedNotifications = true
      return fresh
    } catch let error as PostgresError {
      lastFailure = (error, .now)
      throw error
    }
  }

  /// Runs `body` on the connection; a connection that broke under it is dropped.
  private func using<Result>(_ body: (PostgresConnection) throws -> Result) throws -> Result {
    let connection = try connected()
    do {
      return try body(connection)
    } catch let error as PostgresError where error.isUnavailable || connection.isBroken {
      self.connection = nil
      let failure = PostgresError(sqlState: error.sqlState, message: "PostgreSQL store \(displayLocation): \(error.message)")
      lastFailure = (failure, .now)
      throw failure
    }
  }

  // MARK: - Reads

  public func profile(of user: String) throws -> StoredProfile? {
    try using { try Reader(connection: $0, layout: layout).profile(of: user) }
  }

  public func population() throws -> StoredProfile {
    try using { connection in
      var population = StoredProfile.empty(user: "", dimensions: layout.profileDimensions)
      var events: Int64 = 0
      try connection.query("SELECT events, reward_sum, gram, reward_vector, updated_ms FROM population_shards") { row in
        events += row.integer(0)
        population.rewardSum += row.real(1)
        Self.add(row.raw(2), sign: 1, to: &population.gram)
        Self.add(row.raw(3), sign: 1, to: &population.rewardVector)
        population.updatedUnixMs = max(population.updatedUnixMs, row.integer(4))
      }
      population.events = UInt64(max(0, events))
      try connection.query(
        "SELECT label, sum(events)::bigint, sum(residual_sum) FROM population_labels GROUP BY label HAVING sum(events) > 0"
      ) { row in
        population.labels[row.text(0)] = LabelStatistics(events: UInt32(clamping: row.integer(1)), residualSum: row.real(2))
      }
      return population
    }
  }

  public func ratedItems(of user: String) throws -> Set<String> {
    try using { connection in
      var items: Set<String> = []
      try connection.query("SELECT item FROM rated_items WHERE user_id = $1", [.text(user)]) { items.insert($0.text(0)) }
      return items
    }
  }

  public func catalog() throws -> [CatalogRecord] {
    try using { connection in
      var records: [CatalogRecord] = []
      try connection.query("SELECT item, embedding, labels, base_score FROM catalog ORDER BY item") {
        records.append(Self.record($0))
      }
      return records
    }
  }

  public func catalogItems(_ ids: [String]) throws -> [CatalogRecord] {
    try using { connection in
      var records: [CatalogRecord] = []
      for id in ids {
        try connection.query("SELECT item, embedding, labels, base_score FROM catalog WHERE item = $1", [.text(id)]) {
          records.append(Self.record($0))
        }
      }
      return records
    }
  }

  private static func record(_ row: PostgresRow) -> CatalogRecord {
    CatalogRecord(
      id: row.text(0), embedding: VectorBytes.values(row.raw(1)), labels: VectorBytes.labels(row.text(2)),
      baseScore: Float(row.real(3)))
  }

  public func changesByOthers() throws -> StoreChanges {
    try using { connection in
      var changes = StoreChanges(everything: missedNotifications)
      missedNotifications = false
      for payload in try connection.notifications(on: Self.channel) {
        guard let notice = try? JSONDecoder().decode(ChangeNotice.self, from: Data(payload.utf8)) else {
          changes.everything = true
          continue
        }
        changes.users.formUnion(notice.users ?? [])
        changes.catalogItems.formUnion(notice.items ?? [])
        changes.population = changes.population || notice.population == true
        changes.everything = changes.everything || notice.everything == true
      }
      return changes
    }
  }

  // MARK: - Writes

  public func transaction<Result>(_ body: (any ProfileStoreTransaction) throws -> Result) throws -> Result {
    var conflicts = 0
    while true {
      do {
        return try using { connection in
          let writer = Writer(connection: connection, layout: layout, shard: shard)
          do {
            let result = try body(writer)
            try writer.commit()
            return result
          } catch {
            if writer.began && !connection.isBroken { try? connection.execute("ROLLBACK") }
            throw error
          }
        }
      } catch let error as PostgresError where error.isConflict && conflicts < Self.conflictRetries {
        conflicts += 1
      }
    }
  }

  /// One transaction's statements. Writes whose results nothing needs wait in `pending`
  /// and go out with the next read, or with COMMIT, in one pipeline: a feedback batch
  /// costs four round trips to the server whatever its size (lock and read the users;
  /// record the events; lock the population shard; write and commit).
  private final class Writer: ProfileStoreTransaction {
    let connection: PostgresConnection
    let layout: ProfileLayout
    let shard: Int64
    var changed = ChangeNotice()
    private var pending = [PostgresStatement("BEGIN")]
    private(set) var began = false

    init(connection: PostgresConnection, layout: ProfileLayout, shard: Int64) {
      self.connection = connection
      self.layout = layout
      self.shard = shard
    }

    /// Sends what is pending, then `statements`; `row` and the counts returned see only
    /// `statements`' results.
    @discardableResult
    private func send(_ statements: [PostgresStatement], row: (Int, PostgresRow) throws -> Void = { _, _ in }) throws -> [Int] {
      let queued = pending
      pending = []
      began = true
      let counts = try connection.pipeline(queued + statements) { index, result in
        if index >= queued.count { try row(index - queued.count, result) }
      }
      return Array(counts.dropFirst(queued.count))
    }

    func commit() throws {
      if let notice = notice() { pending.append(PostgresStatement("SELECT pg_notify($1, $2)", [.text(PostgresProfileStore.channel), .text(notice)])) }
      try send([PostgresStatement("COMMIT")])
    }

    func record(_ events: [FeedbackEvent]) throws -> [Bool] {
      guard !events.isEmpty else { return [] }
      let statements = events.flatMap { event in
        [
          PostgresStatement(
            "INSERT INTO events (event_id, user_id, item, reward, at_ms) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            [.text(event.eventID), .text(event.user), .text(event.item), .real(Double(event.reward)), .integer(event.unixMs)]),
          // Harmless for a duplicate: its item was rated when it was new.
          PostgresStatement(
            "INSERT INTO rated_items (user_id, item) VALUES ($1, $2) ON CONFLICT DO NOTHING", [.text(event.user), .text(event.item)]),
        ]
      }
      let counts = try send(statements)
      return events.indices.map { counts[2 * $0] == 1 }
    }

    /// Also locks and reads this process's population shard, in the same round trip: a
    /// transaction that changes users changes the population next.
    func profilesForUpdate(of users: [String]) throws -> [String: StoredProfile] {
      // Locks taken in one order by every replica (the shard, then users by key) cannot
      // deadlock one another.
      let shardLock = populationShard == nil ? lockPopulationShard() : []
      let locks = Set(users.map(Self.lockKey)).sorted().map { PostgresStatement("SELECT pg_advisory_xact_lock($1)", [.integer($0)]) }
      let reads = users.flatMap { user in
        [
          PostgresStatement("SELECT events, reward_sum, gram, reward_vector, updated_ms FROM profiles WHERE user_id = $1", [.text(user)]),
          PostgresStatement("SELECT label, events, residual_sum FROM label_stats WHERE user_id = $1", [.text(user)]),
        ]
      }
      var found: [String: StoredProfile] = [:]
      let readsStart = shardLock.count + locks.count
      try send(shardLock + locks + reads) { index, row in
        if index < shardLock.count { return readPopulationShard(row) }
        guard index >= readsStart else { return }
        let user = users[(index - readsStart) / 2]
        if (index - readsStart) % 2 == 0 {
          found[user] = Reader.totals(of: user, row)
        } else {
          found[user]?.labels[row.text(0)] = Reader.labelStatistics(row)
        }
      }
      return found
    }

    /// This process's population shard as locked in this transaction, once read.
    private var populationShard: (statistics: StoredProfile, events: Int64)?

    /// Statements that make the shard's row if it is missing, then lock and read it.
    private func lockPopulationShard() -> [PostgresStatement] {
      let zeros = StoredProfile.empty(user: "", dimensions: layout.profileDimensions)
      populationShard = (zeros, 0)
      return [
        PostgresStatement(
          """
          INSERT INTO population_shards (shard, events, reward_sum, gram, reward_vector, updated_ms)
          VALUES ($1::integer, 0, 0, $2, $3, 0) ON CONFLICT DO NOTHING
          """, [.integer(shard), .bytes(VectorBytes.data(zeros.gram)), .bytes(VectorBytes.data(zeros.rewardVector))]),
        PostgresStatement(
          "SELECT events, reward_sum, gram, reward_vector, updated_ms FROM population_shards WHERE shard = $1::integer FOR UPDATE",
          [.integer(shard)]),
      ]
    }

    private func readPopulationShard(_ row: PostgresRow) {
      let totals = Reader.totals(of: "", row)
      populationShard = (totals, row.integer(0))
    }

    /// A user's advisory lock key: 64 bits of FNV-1a over the id; a collision only makes
    /// two users take turns.
    private static func lockKey(_ user: String) -> Int64 {
      var hash: UInt64 = 0xcbf2_9ce4_8422_2325
      for byte in user.utf8 {
        hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
      }
      return Int64(bitPattern: hash)
    }

    func save(_ profile: StoredProfile, changedLabels: [String]) throws {
      pending.append(
        PostgresStatement(
          """
          INSERT INTO profiles (user_id, events, reward_sum, gram, reward_vector, updated_ms) VALUES ($1, $2, $3, $4, $5, $6)
          ON CONFLICT (user_id) DO UPDATE SET events = EXCLUDED.events, reward_sum = EXCLUDED.reward_sum,
            gram = EXCLUDED.gram, reward_vector = EXCLUDED.reward_vector, updated_ms = EXCLUDED.updated_ms
          """,
          [
            .text(profile.user), .integer(Int64(profile.events)), .real(profile.rewardSum), .bytes(VectorBytes.data(profile.gram)),
            .bytes(VectorBytes.data(profile.rewardVector)), .integer(profile.updatedUnixMs),
          ]))
      for label in changedLabels {
        guard let statistics = profile.labels[label] else {
          pending.append(
            PostgresStatement("DELETE FROM label_stats WHERE user_id = $1 AND label = $2", [.text(profile.user), .text(label)]))
          continue
        }
        pending.append(
          PostgresStatement(
            """
            INSERT INTO label_stats (user_id, label, events, residual_sum) VALUES ($1, $2, $3, $4)
            ON CONFLICT (user_id, label) DO UPDATE SET events = EXCLUDED.events, residual_sum = EXCLUDED.residual_sum
            """, [.text(profile.user), .text(label), .integer(Int64(statistics.events)), .real(statistics.residualSum)]))
      }
      changed.add(user: profile.user)
    }

    func addToPopulation(_ statistics: StoredProfile, sign: Double) throws {
      if populationShard == nil { try send(lockPopulationShard()) { index, row in if index == 1 { readPopulationShard(row) } } }
      guard var (shardProfile, events) = populationShard.map({ ($0.statistics, $0.events) }) else { return }
      events += Int64(sign) * Int64(statistics.events)
      shardProfile.rewardSum += sign * statistics.rewardSum
      shardProfile.updatedUnixMs = max(shardProfile.updatedUnixMs, statistics.updatedUnixMs)
      statistics.gram.withUnsafeBytes { PostgresProfileStore.add($0, sign: sign, to: &shardProfile.gram) }
      statistics.rewardVector.withUnsafeBytes { PostgresProfileStore.add($0, sign: sign, to: &shardProfile.rewardVector) }
      pending.append(
        PostgresStatement(
          """
          UPDATE population_shards SET events = $2, reward_sum = $3, gram = $4, reward_vector = $5, updated_ms = $6
          WHERE shard = $1::integer
          """,
          [
            .integer(shard), .integer(events), .real(shardProfile.rewardSum), .bytes(VectorBytes.data(shardProfile.gram)),
            .bytes(VectorBytes.data(shardProfile.rewardVector)), .integer(shardProfile.updatedUnixMs),
          ]))
      populationShard = (shardProfile, events)
      for (label, counts) in statistics.labels {
        pending.append(
          PostgresStatement(
            """
            INSERT INTO population_labels (shard, label, events, residual_sum) VALUES ($1::integer, $2, $3, $4)
            ON CONFLICT (shard, label) DO UPDATE SET events = population_labels.events + EXCLUDED.events,
              residual_sum = population_labels.residual_sum + EXCLUDED.residual_sum
            """, [.integer(shard), .text(label), .integer(Int64(sign) * Int64(counts.events)), .real(sign * counts.residualSum)]))
      }
      changed.population = true
    }

    func deleteUser(_ user: String) throws {
      for table in ["events", "rated_items", "label_stats", "profiles"] {
        pending.append(PostgresStatement("DELETE FROM \(table) WHERE user_id = $1", [.text(user)]))
      }
      changed.add(user: user)
    }

    func upsert(_ items: [CatalogRecord]) throws {
      // One order for every replica, so two upserts of the same items cannot deadlock.
      for item in items.sorted(by: { $0.id < $1.id }) {
        pending.append(
          PostgresStatement(
            """
            INSERT INTO catalog (item, embedding, labels, base_score) VALUES ($1, $2, $3, $4)
            ON CONFLICT (item) DO UPDATE SET embedding = EXCLUDED.embedding, labels = EXCLUDED.labels,
              base_score = EXCLUDED.base_score
            """,
            [
              .text(item.id), .bytes(VectorBytes.data(item.embedding)), .text(VectorBytes.joined(item.labels)),
              .real(Double(item.baseScore)),
            ]))
        changed.items = (changed.items ?? []) + [item.id]
      }
    }

    func forgetEvents(recordedBefore unixMs: Int64, atMost limit: Int) throws -> Int {
      try send([
        PostgresStatement(
          "DELETE FROM events WHERE event_id IN (SELECT event_id FROM events WHERE at_ms < $1 LIMIT $2)",
          [.integer(unixMs), .integer(Int64(limit))])
      ])[0]
    }

    /// The NOTIFY payload of this transaction's changes, or nil when it changed nothing shared.
    func notice() -> String? {
      guard changed != ChangeNotice() else { return nil }
      let encoded = (try? JSONEncoder().encode(changed)).map { String(decoding: $0, as: UTF8.self) }
      guard let encoded, encoded.utf8.count <= PostgresProfileStore.maxNoticeBytes else { return #"{"everything":true}"# }
      return encoded
    }
  }

  /// Reads on a connection, inside or outside a transaction.
  private struct Reader {
    let connection: PostgresConnection
    let layout: ProfileLayout

    func profile(of user: String) throws -> StoredProfile? {
      var found: StoredProfile?
      try connection.query(
        "SELECT events, reward_sum, gram, reward_vector, updated_ms FROM profiles WHERE user_id = $1", [.text(user)]
      ) { found = Self.totals(of: user, $0) }
      guard var profile = found else { return nil }
      try connection.query("SELECT label, events, residual_sum FROM label_stats WHERE user_id = $1", [.text(user)]) { row in
        profile.labels[row.text(0)] = Self.labelStatistics(row)
      }
      return profile
    }

    /// A `profiles` row (events, reward_sum, gram, reward_vector, updated_ms), without labels.
    static func totals(of user: String, _ row: PostgresRow) -> StoredProfile {
      StoredProfile(
        user: user, events: UInt64(max(0, row.integer(0))), rewardSum: row.real(1), gram: VectorBytes.values(row.raw(2)),
        rewardVector: VectorBytes.values(row.raw(3)), labels: [:], updatedUnixMs: row.integer(4))
    }

    /// A `label_stats` row's counts (label, events, residual_sum).
    static func labelStatistics(_ row: PostgresRow) -> LabelStatistics {
      LabelStatistics(events: UInt32(clamping: row.integer(1)), residualSum: row.real(2))
    }
  }

  /// Adds `sign` times the doubles in `bytes` to `vector`, element by element.
  fileprivate static func add(_ bytes: UnsafeRawBufferPointer, sign: Double, to vector: inout [Double]) {
    let count = min(vector.count, bytes.count / MemoryLayout<Double>.stride)
    for index in 0..<count {
      vector[index] += sign * bytes.loadUnaligned(fromByteOffset: index * MemoryLayout<Double>.stride, as: Double.self)
    }
  }
}

/// What one transaction changed, as its NOTIFY payload carries it (JSON).
private struct ChangeNotice: Codable, Equatable {
  var users: [String]?
  var items: [String]?
  var population: Bool?
  var everything: Bool?

  mutating func add(user: String) {
    if users?.contains(user) != true { users = (users ?? []) + [user] }
  }
}

/// The recommender's tables in PostgreSQL, in schema `weft`, one migration per version.
///
/// Every replica runs `migrate` when it connects; an advisory lock makes concurrent
/// replicas take turns, so each migration runs once, and a replica older than the
/// database refuses to use it.
enum PostgresSchema {
  /// The schema the tables live in; sessions put it first on their search path.
  static let name = "weft"

  /// Key of the advisory lock migrations run under.
  private static let migrationLock: Int64 = 0x5745_4654_4D49_4752

  static let migrations: [String] = [
    """
    CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
    CREATE TABLE profiles (
      user_id text PRIMARY KEY, events bigint NOT NULL, reward_sum double precision NOT NULL,
      gram bytea NOT NULL, reward_vector bytea NOT NULL, updated_ms bigint NOT NULL);
    CREATE TABLE label_stats (
      user_id text NOT NULL, label text NOT NULL, events bigint NOT NULL, residual_sum double precision NOT NULL,
      PRIMARY KEY (user_id, label));
    -- The population in shards that sum to it, so replicas do not queue on one row;
    -- a shard's counts may be negative (a user deleted through another shard).
    CREATE TABLE population_shards (
      shard integer PRIMARY KEY, events bigint NOT NULL, reward_sum double precision NOT NULL,
      gram bytea NOT NULL, reward_vector bytea NOT NULL, updated_ms bigint NOT NULL);
    CREATE TABLE population_labels (
      shard integer NOT NULL, label text NOT NULL, events bigint NOT NULL, residual_sum double precision NOT NULL,
      PRIMARY KEY (shard, label));
    -- Recent events only: their ids decide idempotency within the window.
    CREATE TABLE events (
      event_id text PRIMARY KEY, user_id text NOT NULL, item text NOT NULL, reward double precision NOT NULL,
      at_ms bigint NOT NULL);
    CREATE INDEX events_by_user ON events (user_id);
    CREATE INDEX events_by_time ON events (at_ms);
    CREATE TABLE rated_items (user_id text NOT NULL, item text NOT NULL, PRIMARY KEY (user_id, item));
    CREATE TABLE catalog (
      item text PRIMARY KEY, embedding bytea NOT NULL, labels text NOT NULL, base_score double precision NOT NULL);
    """
  ]

  /// Brings the database's schema up to date; throws when it is newer than this build.
  static func migrate(_ connection: PostgresConnection) throws {
    try connection.execute("BEGIN")
    do {
      try connection.query("SELECT pg_advisory_xact_lock($1)", [.integer(migrationLock)])
      try connection.execute(
        """
        CREATE SCHEMA IF NOT EXISTS \(name);
        CREATE TABLE IF NOT EXISTS migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
        """)
      var applied: Int64 = 0
      try connection.query("SELECT coalesce(max(version), 0)::bigint FROM migrations") { applied = $0.integer(0) }
      guard applied <= migrations.count else {
        throw PostgresError(
          sqlState: "XX000",
          message: "the database's recommender schema is at version \(applied), newer than this build's \(migrations.count)")
      }
      for (index, step) in migrations.enumerated() where index + 1 > applied {
        try connection.execute(step)
        try connection.query("INSERT INTO migrations (version) VALUES ($1::integer)", [.integer(Int64(index + 1))])
      }
      try connection.execute("COMMIT")
    } catch {
      try? connection.execute("ROLLBACK")
      throw error
    }
  }
}

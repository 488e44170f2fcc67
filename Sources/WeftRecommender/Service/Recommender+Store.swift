import CSQLite
import Foundation
import WeftProtocol

/// Keeping memory in step with a store that other processes may write, and telling
/// clients what went wrong with it.
extension Recommender {
  /// Drops or re-reads what another process changed since the last call: changed users'
  /// cached profiles, the population, changed catalogue items; everything after the store
  /// reconnected or when nothing was loaded yet.
  func syncWithStore() throws {
    let changes = try store.changesByOthers()
    if !loaded || changes.everything {
      try reloadFromStore()
      return
    }
    guard !changes.isEmpty else { return }
    for user in changes.users { profiles.remove(user) }
    if changes.population { setPopulation(try store.population()) }
    if !changes.catalogItems.isEmpty {
      load(try store.catalogItems(changes.catalogItems.sorted()))
    }
  }

  /// Reads the population and the whole catalogue again, forgetting cached profiles.
  func reloadFromStore() throws {
    let population = try store.population()
    let records = try store.catalog()
    profiles.removeAll()
    metrics.cached(0)
    setPopulation(population)
    catalog = Catalog(dimensions: store.layout.profileDimensions)
    load(records)
    loaded = true
  }

  func setPopulation(_ statistics: StoredProfile) {
    population = statistics
    populationMean = posterior(of: statistics, prior: nil).mean
  }

  /// Puts catalogue records into memory, projected.
  func load(_ records: [CatalogRecord]) {
    for record in records {
      catalog.upsert(
        id: record.id, projected: projection.project(record.embedding), labels: record.labels, baseScore: record.baseScore)
    }
    catalog.rankByBaseScore()
  }

  /// Forgets event ids older than the idempotency window, a bounded chunk at a time and at
  /// most once per `forgettingInterval` (or half the window, if shorter), so the events table stays the size of the window.
  /// A failure here is not the feedback's: it is tried again next time.
  func forgetOldEventsIfDue() {
    let now = ContinuousClock.now
    guard now - lastForgetting >= min(Self.forgettingInterval, configuration.idempotencyWindow / 2) else { return }
    lastForgetting = now
    let cutoff = Int64(Date().timeIntervalSince1970 * 1_000) - Int64(configuration.idempotencyWindow / .milliseconds(1))
    _ = try? store.transaction { try $0.forgetEvents(recordedBefore: cutoff, atMost: Self.eventsForgottenAtOnce) }
  }

  static let forgettingInterval = Duration.seconds(10)
  /// Enough for 10,000 events a second with one forgetting every 10 s; more waits its turn.
  static let eventsForgottenAtOnce = 100_000

  /// A store failure as the client should see it: a full disk is RESOURCE_EXHAUSTED; a
  /// file locked by another process, or a database that cannot be reached, UNAVAILABLE
  /// (retry); a store made for other dimensions FAILED_PRECONDITION; anything else INTERNAL.
  static func storageError(_ error: any Error, doing what: String) -> WeftError {
    switch error {
    case let error as WeftError: return error
    case let error as StoreLayoutMismatch: return WeftError(.failedPrecondition, "\(what): \(error)")
    case let error as PostgresError:
      if error.isUnavailable { return WeftError(.unavailable, "\(what): the profile database is unreachable (\(error.message))") }
      if error.isFull { return WeftError(.resourceExhausted, "\(what): the profile database is out of space (\(error.message))") }
      if error.isTimeout || error.isConflict { return WeftError(.unavailable, "\(what): the profile database is busy (\(error.message))") }
      return WeftError(.internal, "\(what): \(error.message)")
    case let error as SQLiteError:
      switch error.code {
      case SQLITE_FULL: return WeftError(.resourceExhausted, "\(what): the disk is full (\(error.message))")
      case SQLITE_BUSY, SQLITE_LOCKED: return WeftError(.unavailable, "\(what): the store is busy (\(error.message))")
      default: return WeftError(.internal, "\(what): \(error.message)")
      }
    default: return WeftError(.internal, "\(what): \(error)")
    }
  }
}

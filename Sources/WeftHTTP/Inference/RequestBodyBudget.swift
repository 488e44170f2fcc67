import Synchronization

/// The bytes of request bodies all HTTP connections may hold at once, so many large or
/// slow uploads cannot take the gateway's memory: a request reserves its body's size
/// before reading it and gives it back when it is answered.
final class RequestBodyBudget: Sendable {
  let limit: Int
  private let held = Mutex(0)

  init(limit: Int) { self.limit = limit }

  /// Reserves `bytes`; false when that would pass the limit.
  func reserve(_ bytes: Int) -> Bool {
    held.withLock { held in
      guard held + bytes <= limit else { return false }
      held += bytes
      return true
    }
  }

  func release(_ bytes: Int) { held.withLock { $0 -= bytes } }
}

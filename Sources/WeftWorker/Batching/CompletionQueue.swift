import Synchronization
import ZeroMQ

/// Completions waiting for the socket thread, with the wake-up that tells it so.
final class CompletionQueue: Sendable {
  private let pending = Mutex<[Completion]>([])
  private let posted = Atomic<Int>(0)
  let wake: WakeSignal

  init() throws { wake = try WakeSignal() }

  /// Adds completions and wakes the socket thread.
  func post(_ completions: [Completion]) {
    guard !completions.isEmpty else { return }
    pending.withLock { $0.append(contentsOf: completions) }
    posted.add(completions.count, ordering: .releasing)
    wake.signal()
  }

  /// Takes everything posted so far; takes no lock when nothing was.
  func take() -> [Completion] {
    guard posted.load(ordering: .acquiring) > 0 else { return [] }
    return pending.withLock { pending in
      posted.subtract(pending.count, ordering: .relaxed)
      defer { pending.removeAll(keepingCapacity: true) }
      return pending
    }
  }
}

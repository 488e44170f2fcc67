import Synchronization
import ZeroMQ

/// Completions waiting for the socket thread, with the wake-up that tells it so.
final class Outbox: Sendable {
  private let pending = Mutex<[Completion]>([])
  let wake: WakeSignal

  init() throws { wake = try WakeSignal() }

  /// Adds completions and wakes the socket thread.
  func post(_ completions: [Completion]) {
    guard !completions.isEmpty else { return }
    pending.withLock { $0.append(contentsOf: completions) }
    wake.signal()
  }

  /// Takes everything posted so far.
  func take() -> [Completion] {
    pending.withLock { pending in
      defer { pending.removeAll(keepingCapacity: true) }
      return pending
    }
  }
}

import ZeroMQ

/// Puts the gateway's libzmq I/O thread on batch scheduling while many requests are in
/// flight, and back on the default when few are.
///
/// Under load the socket thread sends in runs (the replies of a worker's pack, a pack for
/// a worker). With the default scheduling, the I/O thread woken by a run's first message
/// takes the socket thread's CPU at once (this VM's kernel wakes a thread on its waker's
/// CPU), writes that one message, sleeps, and is woken again by the next: two context
/// switches a message, which cost more than the message on a VM. Batch scheduling lets
/// the run finish first, or the I/O thread move to a free CPU. With a few requests in
/// flight a message has no run to wait for, and waiting for the CPU only delays it
/// (docs/BENCHMARKS.md, twenty-fourth session).
struct IOThreadLoadSwitch {
  let context: Context
  /// Requests in flight from which the I/O thread is batch-scheduled.
  static let heavyLoadRequests = 32
  /// Microseconds the load must stay light before the default comes back: under heavy
  /// load the count in flight drops to a few for moments, when a client has the replies
  /// and has not sent the next requests yet (switching back at once, it switched hundreds
  /// of times a second).
  static let lightLoadHold: UInt64 = 50_000
  /// Whether the I/O thread is batch-scheduled now.
  private(set) var isBatch = false
  /// Since when the load has been light, while batch-scheduled.
  private var lightSince: UInt64?
  /// Switches that may still fail before none is tried again (the thread not found, off
  /// Linux; the kernel refusing ends the tries at once).
  private var triesLeft = 3

  init(context: Context) { self.context = context }

  /// Switches as `inFlight` requests at `now` call for: to batch at ``heavyLoadRequests``,
  /// back once the load has been the busy poll's light load for ``lightLoadHold``.
  mutating func update(inFlight: Int, at now: UInt64) {
    guard triesLeft > 0 else { return }
    if !isBatch {
      if inFlight >= Self.heavyLoadRequests { switchTo(.batch) }
    } else if inFlight > BusyPolling.lightLoadRequests {
      lightSince = nil
    } else if let since = lightSince {
      if now &- since >= Self.lightLoadHold { switchTo(.normal) }
    } else {
      lightSince = now
    }
  }

  private mutating func switchTo(_ scheduling: IOThreadScheduling) {
    lightSince = nil
    do {
      if try context.scheduleIOThreads(scheduling) {
        isBatch = scheduling == .batch
      } else {
        triesLeft -= 1
      }
    } catch {
      triesLeft = 0
    }
  }
}

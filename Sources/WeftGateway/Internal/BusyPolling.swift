import WeftProtocol

/// When the gateway's socket thread polls its sockets for a while before it sleeps.
///
/// A message for a sleeping thread has to wake it, and on a VM with idle vCPUs a wake-up
/// costs more than routing the message: the waker's system call, an interrupt to the
/// halted vCPU, the switch back in (docs/BENCHMARKS.md, thirteenth session). A thread that
/// polls without sleeping finds the message as it comes, and the threads of the rest of
/// the path hand it on among themselves on the other vCPUs.
///
/// Polling costs CPU, so it is done only when it pays: under light load (a few requests in
/// flight; under heavy load the loop rarely sleeps, and polling in its short gaps took CPU
/// the other threads on the machine needed) and when the last wait ended within the
/// window (the next message is likely to come that soon, as for calls one at a time to a
/// fast model). While a model computes for longer, waits outlast the window and the thread
/// sleeps after at most one window.
struct BusyPolling {
  /// How long to poll before sleeping, in microseconds; 0: never.
  let window: UInt64
  /// Requests in flight at most for the load to count as light.
  static let lightLoadRequests = 8
  private var lastWaitWasShort = false
  private var waitStartedAt: UInt64 = 0

  init(window: Duration) { self.window = window.microseconds }

  /// Microseconds the next wait should poll before it sleeps, read at `now` as it starts.
  mutating func spin(lightLoad: Bool, at now: UInt64) -> Int {
    waitStartedAt = now
    return lightLoad && lastWaitWasShort ? Int(window) : 0
  }

  /// The wait that began at the last ``spin(lightLoad:at:)`` ended at `now`.
  mutating func waited(until now: UInt64) {
    lastWaitWasShort = window > 0 && now &- waitStartedAt <= window
  }
}

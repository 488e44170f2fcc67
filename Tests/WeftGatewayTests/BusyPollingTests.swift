import Testing

@testable import WeftGateway

/// When the gateway's loop polls before it sleeps: under light load, after a wait that
/// ended within the window.
@Suite struct BusyPollingTests {
  /// Waits one after another, each starting at `start` (microseconds) under `lightLoad`
  /// and ending at `end`; returns how long each polled before sleeping.
  private func spins(_ waits: [(lightLoad: Bool, start: UInt64, end: UInt64)], window: Duration = .microseconds(200)) -> [Int] {
    var polling = BusyPolling(window: window)
    return waits.map { wait in
      let spin = polling.spin(lightLoad: wait.lightLoad, at: wait.start)
      polling.waited(until: wait.end)
      return spin
    }
  }

  /// Nothing known of the waits at first: sleep; then only a light load's waits poll.
  @Test func spinsOnlyUnderLightLoadAfterAShortWait() {
    let waits = [(true, 1_000, 1_150), (false, 2_000, 2_100), (true, 3_000, 3_200), (true, 4_000, 4_100)] as [(Bool, UInt64, UInt64)]
    #expect(spins(waits) == [0, 0, 200, 200])
  }

  /// A wait longer than the window (a model computing, an idle mesh) stops the polling
  /// until a wait is short again.
  @Test func aLongWaitStopsItUntilAShortOne() {
    let waits = [(true, 0, 50), (true, 100, 10_100), (true, 10_200, 10_300), (true, 10_400, 10_500)] as [(Bool, UInt64, UInt64)]
    #expect(spins(waits) == [0, 200, 0, 200])
  }

  @Test func aZeroWindowNeverSpins() {
    let waits = stride(from: UInt64(0), to: 1_000, by: 100).map { (true, $0, $0) }
    #expect(spins(waits, window: .zero).allSatisfy { $0 == 0 })
  }
}

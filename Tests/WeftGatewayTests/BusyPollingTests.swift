import Testing

@testable import WeftGateway

/// When the gateway's loop polls before it sleeps: under light load, after a wait that
/// ended within the window.
@Suite struct BusyPollingTests {
  @Test func spinsOnlyUnderLightLoadAfterAShortWait() {
    var polling = BusyPolling(window: .microseconds(200))
    // Nothing known of the waits yet: sleep.
    #expect(polling.spin(lightLoad: true, at: 1_000) == 0)
    polling.waited(until: 1_150)
    #expect(polling.spin(lightLoad: false, at: 2_000) == 0)
    polling.waited(until: 2_100)
    #expect(polling.spin(lightLoad: true, at: 3_000) == 200)
    polling.waited(until: 3_200)
    #expect(polling.spin(lightLoad: true, at: 4_000) == 200)
  }

  /// A wait longer than the window (a model computing, an idle mesh) stops the polling
  /// until a wait is short again.
  @Test func aLongWaitStopsItUntilAShortOne() {
    var polling = BusyPolling(window: .microseconds(200))
    _ = polling.spin(lightLoad: true, at: 0)
    polling.waited(until: 50)
    #expect(polling.spin(lightLoad: true, at: 100) == 200)
    polling.waited(until: 10_100)
    #expect(polling.spin(lightLoad: true, at: 10_200) == 0)
    polling.waited(until: 10_300)
    #expect(polling.spin(lightLoad: true, at: 10_400) == 200)
  }

  @Test func aZeroWindowNeverSpins() {
    var polling = BusyPolling(window: .zero)
    for start in stride(from: UInt64(0), to: 1_000, by: 100) {
      #expect(polling.spin(lightLoad: true, at: start) == 0)
      polling.waited(until: start)
    }
  }
}

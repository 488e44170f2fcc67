import Foundation
import Testing
import ZeroMQ

@testable import WeftGateway

/// The gateway's I/O thread: batch-scheduled under heavy load, back to the default once
/// the load has stayed light for a while.
@Suite struct IOThreadLoadSwitchTests {
  @Test func switchesAtHeavyLoadAndBackOnlyAfterTheLoadStayedLight() async throws {
    let context = try Context()
    let socket = try Socket(context: context, type: .router)
    defer { socket.close() }
    // The I/O thread names itself as it starts, just after the socket that started it.
    for _ in 0..<100 where try !context.scheduleIOThreads(.normal) { try await Task.sleep(for: .milliseconds(10)) }
    var load = IOThreadLoadSwitch(context: context)
    let hold = IOThreadLoadSwitch.lightLoadHold
    load.update(inFlight: IOThreadLoadSwitch.heavyLoadRequests - 1, at: 0)
    #expect(!load.isBatch)
    load.update(inFlight: IOThreadLoadSwitch.heavyLoadRequests, at: 10)
    #expect(load.isBatch)
    // A moment of light load under heavy load (a client holding its replies) keeps it.
    load.update(inFlight: 2, at: 20)
    load.update(inFlight: 100, at: 20 + hold / 2)
    load.update(inFlight: 2, at: 20 + hold)
    #expect(load.isBatch)
    load.update(inFlight: 2, at: 20 + hold + hold / 2)
    #expect(load.isBatch)
    // A load between light and heavy keeps whichever it had.
    load.update(inFlight: BusyPolling.lightLoadRequests + 1, at: 20 + 3 * hold)
    #expect(load.isBatch)
    load.update(inFlight: 1, at: 20 + 4 * hold)
    load.update(inFlight: 1, at: 20 + 5 * hold)
    #expect(!load.isBatch)
    load.update(inFlight: BusyPolling.lightLoadRequests + 1, at: 20 + 6 * hold)
    #expect(!load.isBatch)
  }
}

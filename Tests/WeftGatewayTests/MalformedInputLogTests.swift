import Testing

@testable import WeftGateway

/// The rate limit on malformed-input lines, with a stepped clock.
@Suite struct MalformedInputLogTests {
  @Test func eachKindLogsAtMostOnceASecondWithTheCountSince() {
    var log = MalformedInputLog()
    #expect(log.count(.workerEnvelope, at: 0) == 1)  // the first is logged at once
    var lines = 0
    for step in 1...100_000 as ClosedRange<UInt64> where log.count(.workerEnvelope, at: step * 9) != nil { lines += 1 }
    // 100,000 messages over 0.9 s: no line at all until a second has passed.
    #expect(lines == 0)
    #expect(log.count(.workerEnvelope, at: 1_000_000) == 100_001)
    // Another kind is not held back by the first.
    #expect(log.count(.clientHeader, at: 1_000_001) == 1)
    #expect(log.totals[MalformedInputLog.Kind.workerEnvelope.rawValue] == 100_002)
  }
}

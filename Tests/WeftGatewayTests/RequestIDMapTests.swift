import Testing

@testable import WeftGateway

@Suite struct RequestIDMapTests {
  /// Random puts, replacements and removals, checked against a Dictionary after every
  /// step; a tiny key range makes long probe runs, so removals shift entries back.
  @Test(arguments: [UInt64(0), 0x1234_5678_9abc_def0])
  func agreesWithADictionary(seed: UInt64) {
    var map = RequestIDMap(seed: seed)
    var reference: [UInt64: UInt64] = [:]
    var random = SystemRandomNumberGenerator()
    for step in 0..<20_000 {
      let key = UInt64.random(in: 0..<300, using: &random) * (step % 2 == 0 ? 1 : 1 << 32)
      if Bool.random(using: &random) {
        let value = UInt64(step)
        map.set(value, for: key)
        reference[key] = value
      } else {
        #expect(map.removeValue(for: key) == reference.removeValue(forKey: key))
      }
      #expect(map.count == reference.count)
      if step % 97 == 0 {
        for probe in 0..<300 { #expect(map[UInt64(probe)] == reference[UInt64(probe)]) }
        for (key, value) in reference { #expect(map[key] == value) }
      }
    }
  }

  @Test func anEmptyMapHoldsNothing() {
    var map = RequestIDMap()
    #expect(map[0] == nil)
    #expect(map.removeValue(for: 0) == nil)
    map.set(0, for: 0)  // zero is a key and a value like any other
    #expect(map[0] == 0)
    #expect(map.removeValue(for: 0) == 0)
    #expect(map[0] == nil)
  }
}

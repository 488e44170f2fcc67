/// The versions that produced recent replies, by the reward token each reply carried, so
/// feedback sent with a token is credited to the right version (``RewardMetadata``).
///
/// A ring of `capacity` slots indexed by a serial number: issuing and looking up are O(1)
/// and allocate nothing, memory is fixed, and a token older than `capacity` newer ones is
/// forgotten (its feedback is not credited). A token names this
/// gateway's run (`prefix`), so one from another gateway or an earlier run is unknown too.
struct RewardTokens {
  private var services: [String]
  private var versions: [String]
  private var serials: [UInt64]
  private var next: UInt64 = 1
  /// Random per run: tokens are `PREFIX.SERIAL`.
  let prefix: String

  init(capacity: Int) {
    let slots = max(1, capacity)
    services = Array(repeating: "", count: slots)
    versions = Array(repeating: "", count: slots)
    serials = Array(repeating: 0, count: slots)
    prefix = String(UInt32.random(in: 0x1000_0000...UInt32.max), radix: 16)
  }

  /// A new token for a reply `service` version `version` produced.
  mutating func issue(service: String, version: String) -> String {
    let serial = next
    next += 1
    let slot = Int(serial % UInt64(serials.count))
    (services[slot], versions[slot], serials[slot]) = (service, version, serial)
    return "\(prefix).\(serial)"
  }

  /// The service and version whose reply carried `token`, if it is this run's, recent
  /// and not taken before; a token is taken once.
  mutating func take(_ token: String) -> (service: String, version: String)? {
    guard let dot = token.lastIndex(of: "."), token[..<dot] == prefix, let serial = UInt64(token[token.index(after: dot)...]) else {
      return nil
    }
    let slot = Int(serial % UInt64(serials.count))
    guard serials[slot] == serial else { return nil }
    serials[slot] = 0
    return (services[slot], versions[slot])
  }
}

import Foundation
import WeftProtocol

/// A routing policy as people write it, in the config file's `routes:` list and on
/// `weft route set`'s command line: percentages and `VERSION=WEIGHT` lists.
///
/// ```yaml
/// routes:
///   - service: text
///     split: "v1=90, v2=10"        # relative weights, in order
///     sticky: true                 # default: a user id always maps to one version
///     shadow: "v3=10"              # mirror 10% of requests to v3, drop its replies
///     ramp:                        # roll a version out in steps
///       version: v2
///       steps: "1, 50, 100"        # its share in percent at each step
///       step_seconds: 60
///       rollback_error_rate: 5     # percent of server errors that rolls it back
///       rollback_min_requests: 20
///     bandit:                      # or: move traffic to the best mean reward
///       floor: 5                   # percent each version keeps
/// ```
struct RouteSpec: Decodable, Equatable {
  var service: String
  var split: String
  var sticky: Bool?
  var shadow: String?
  var ramp: RampSpec?
  var bandit: BanditSpec?

  struct RampSpec: Decodable, Equatable {
    var version: String
    var steps: String
    var stepSeconds: Double?
    var rollbackErrorRate: Double?
    var rollbackMinRequests: Int?

    enum CodingKeys: String, CodingKey {
      case version, steps
      case stepSeconds = "step_seconds"
      case rollbackErrorRate = "rollback_error_rate"
      case rollbackMinRequests = "rollback_min_requests"
    }
  }

  struct BanditSpec: Decodable, Equatable {
    var floor: Double?
  }

  /// The policy on the wire; errors name the field and what is wrong with it. The
  /// gateway checks the policy's consistency again (and says so the same way).
  func policy() throws -> RoutePolicy {
    var policy = RoutePolicy()
    policy.service = service
    policy.split = try Self.pairs(split, what: "split").map { version, weight in
      var entry = Weft_V1_VersionWeight()
      entry.version = version
      entry.weight = weight
      return entry
    }
    policy.ignoreUserID = sticky == false
    if let shadow {
      let pairs = try Self.pairs(shadow, what: "shadow")
      guard pairs.count == 1 else { throw ConfigurationError("shadow of '\(service)' must be one VERSION=PERCENT, got '\(shadow)'") }
      policy.shadow.version = pairs[0].0
      policy.shadow.share = pairs[0].1 / 100
    }
    if let ramp {
      policy.ramp.version = ramp.version
      policy.ramp.shares = try Self.numbers(ramp.steps, what: "ramp steps of '\(service)'").map { $0 / 100 }
      policy.ramp.stepMs = UInt32(clamping: Int(((ramp.stepSeconds ?? 60) * 1_000).rounded()))
      policy.ramp.rollbackErrorRate = (ramp.rollbackErrorRate ?? 0) / 100
      policy.ramp.rollbackMinRequests = UInt32(clamping: ramp.rollbackMinRequests ?? 20)
    }
    if let bandit { policy.bandit.floor = (bandit.floor ?? 5) / 100 }
    return policy
  }

  /// `a=1, b=2` as ordered pairs.
  static func pairs(_ text: String, what: String) throws -> [(String, Double)] {
    try text.split(separator: ",").map { item in
      let trimmed = item.trimmingCharacters(in: .whitespaces)
      guard let equals = trimmed.lastIndex(of: "="), let number = Double(trimmed[trimmed.index(after: equals)...]) else {
        throw ConfigurationError("\(what): '\(trimmed)' is not VERSION=NUMBER")
      }
      return (String(trimmed[..<equals]), number)
    }
  }

  /// `1, 50, 100` as numbers.
  static func numbers(_ text: String, what: String) throws -> [Double] {
    try text.split(separator: ",").map { item in
      guard let number = Double(item.trimmingCharacters(in: .whitespaces)) else {
        throw ConfigurationError("\(what): '\(item)' is not a number")
      }
      return number
    }
  }
}

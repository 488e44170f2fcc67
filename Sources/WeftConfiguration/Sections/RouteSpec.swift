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
public struct RouteSpec: Sendable, Equatable, ConfigurationSection {
  /// The service the policy is for.
  public var service: String
  /// `VERSION=WEIGHT, …`, relative weights in order.
  public var split: String
  /// A user id always maps to the same version.
  public var sticky = true
  /// `VERSION=PERCENT`: a share of requests mirrored to a version, its replies dropped.
  public var shadow: String?
  /// A version rolled out in steps.
  public var ramp: Ramp?
  /// Traffic moved towards the best mean reward.
  public var bandit: Bandit?

  /// A policy splitting `service` by `split`.
  public init(service: String, split: String, sticky: Bool = true, shadow: String? = nil) {
    self.service = service
    self.split = split
    self.sticky = sticky
    self.shadow = shadow
  }

  /// A ramp: `version`'s share in percent at each step, and when it rolls back.
  public struct Ramp: Sendable, Equatable, ConfigurationSection {
    /// The version rolled out.
    public var version: String
    /// Its share in percent at each step, `1, 50, 100`.
    public var steps: String
    /// How long each step lasts.
    public var stepSeconds = 60.0
    /// Percent of server errors since the ramp began that rolls it back; 0: never.
    public var rollbackErrorRate = 0.0
    /// Replies needed before the error rate counts.
    public var rollbackMinRequests = 20

    /// A ramp of `version` through `steps`.
    public init(version: String, steps: String) {
      self.version = version
      self.steps = steps
    }

    public static var defaults: Ramp { Ramp(version: "", steps: "") }

    public static var keys: [ConfigurationKey<Ramp>] {
      [
        .text("version", \.version, required: true, "the version rolled out"),
        .text("steps", \.steps, required: true, "its share in percent at each step, e.g. \"1, 50, 100\""),
        .number("step_seconds", \.stepSeconds, 0.001...86_400, "how long each step lasts"),
        .number("rollback_error_rate", \.rollbackErrorRate, 0...100, "percent of server errors that rolls it back; 0: never"),
        .integer("rollback_min_requests", \.rollbackMinRequests, 1...1_000_000, "replies needed before the error rate counts"),
      ]
    }
  }

  /// A Thompson-sampling bandit over the split's versions.
  public struct Bandit: Sendable, Equatable, ConfigurationSection {
    /// Percent of traffic each version keeps.
    public var floor = 5.0

    /// A bandit with the default floor.
    public init() {}

    public static var defaults: Bandit { Bandit() }

    public static var keys: [ConfigurationKey<Bandit>] {
      [.number("floor", \.floor, 0...100, "percent of traffic each version keeps")]
    }
  }

  public static var defaults: RouteSpec { RouteSpec(service: "", split: "") }

  public static var keys: [ConfigurationKey<RouteSpec>] {
    [
      .text("service", \.service, required: true, "the service the policy is for"),
      .text("split", \.split, required: true, "VERSION=WEIGHT, … relative weights, in order"),
      .flag("sticky", \.sticky, "a user id always maps to the same version"),
      .text("shadow", \.shadow, absent: "none", "VERSION=PERCENT: requests mirrored to a version, its replies dropped"),
      ConfigurationKey(
        "ramp", type: "mapping (routes[].ramp)", meaning: "roll a version out in steps", defaultText: { _ in "none" }
      ) { spec, node, reader in spec.ramp = try Ramp.read(node, reader, from: .defaults) },
      ConfigurationKey(
        "bandit", type: "mapping (routes[].bandit)", meaning: "move traffic towards the best mean reward", defaultText: { _ in "none" }
      ) { spec, node, reader in spec.bandit = try Bandit.read(node, reader, from: .defaults) },
    ]
  }

  /// The policy on the wire; errors name the field and what is wrong with it. The
  /// gateway checks the policy's consistency again (and says so the same way).
  public func policy() throws -> RoutePolicy {
    var policy = RoutePolicy()
    policy.service = service
    policy.split = try Self.pairs(split, what: "split").map { version, weight in
      var entry = Weft_V1_VersionWeight()
      entry.version = version
      entry.weight = weight
      return entry
    }
    policy.ignoreUserID = !sticky
    if let shadow {
      let pairs = try Self.pairs(shadow, what: "shadow")
      guard pairs.count == 1 else { throw ConfigurationError("shadow of '\(service)' must be one VERSION=PERCENT, got '\(shadow)'") }
      policy.shadow.version = pairs[0].0
      policy.shadow.share = pairs[0].1 / 100
    }
    if let ramp {
      policy.ramp.version = ramp.version
      policy.ramp.shares = try Self.numbers(ramp.steps, what: "ramp steps of '\(service)'").map { $0 / 100 }
      policy.ramp.stepMs = UInt32(clamping: Int((ramp.stepSeconds * 1_000).rounded()))
      policy.ramp.rollbackErrorRate = ramp.rollbackErrorRate / 100
      policy.ramp.rollbackMinRequests = UInt32(clamping: ramp.rollbackMinRequests)
    }
    if let bandit { policy.bandit.floor = bandit.floor / 100 }
    return policy
  }

  /// `a=1, b=2` as ordered pairs.
  public static func pairs(_ text: String, what: String) throws -> [(String, Double)] {
    try text.split(separator: ",").map { item in
      let trimmed = item.trimmingCharacters(in: .whitespaces)
      guard let equals = trimmed.lastIndex(of: "="), let number = Double(trimmed[trimmed.index(after: equals)...]) else {
        throw ConfigurationError("\(what): '\(trimmed)' is not VERSION=NUMBER")
      }
      return (String(trimmed[..<equals]), number)
    }
  }

  /// `1, 50, 100` as numbers.
  public static func numbers(_ text: String, what: String) throws -> [Double] {
    try text.split(separator: ",").map { item in
      guard let number = Double(item.trimmingCharacters(in: .whitespaces)) else {
        throw ConfigurationError("\(what): '\(item)' is not a number")
      }
      return number
    }
  }
}

import Foundation
import WeftProtocol

/// Per-call settings: deadline, metadata, user, version, flags.
public struct CallOptions: Sendable {
  /// How long the caller waits; sent to the gateway as a relative deadline.
  public var timeout: Duration
  /// Call metadata.
  public var metadata: [String: MetadataValue]
  /// The end user the call is for (A/B stickiness, personalisation).
  public var userID: String
  /// Pin a model version; empty lets the gateway choose.
  public var version: String
  /// The call may be run again if its worker dies. Inference is; default true.
  public var idempotent: Bool
  /// Pass the reply through the recommender.
  public var personalize: Bool
  /// Within this client's share of a service's queue, higher goes first (0 to 255); it
  /// never moves the call ahead of other clients' turns.
  public var priority: UInt8

  /// Creates options; the default timeout is 30 seconds.
  public init(
    timeout: Duration = .seconds(30), metadata: [String: MetadataValue] = [:], userID: String = "",
    version: String = "", idempotent: Bool = true, personalize: Bool = false, priority: UInt8 = 0
  ) {
    self.timeout = timeout
    self.metadata = metadata
    self.userID = userID
    self.version = version
    self.idempotent = idempotent
    self.personalize = personalize
    self.priority = priority
  }
}

extension MetadataValue {
  /// A text metadata value.
  public static func text(_ value: String) -> MetadataValue {
    var result = MetadataValue()
    result.text = value
    return result
  }

  /// A binary metadata value.
  public static func binary(_ value: [UInt8]) -> MetadataValue {
    var result = MetadataValue()
    result.binary = .init(value)
    return result
  }
}

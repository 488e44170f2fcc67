import Foundation
import WeftProtocol

/// One response to a call: its header (status, worker, timings) and body frames.
public struct Response: Sendable {
  /// The response header as the gateway sent it.
  public var header: ResponseHeader
  /// The body frames.
  public var body: [Data]

  /// Creates a response.
  public init(header: ResponseHeader, body: [Data]) {
    self.header = header
    self.body = body
  }

  /// The status code.
  public var status: StatusCode { StatusCode(wireValue: header.status) }
  /// Whether this is the last response of its call.
  public var isFinal: Bool { header.endOfStream }
  /// The reward token of a reply that was personalised or whose version a routing policy
  /// chose: send it with feedback on what the reply showed (``WeftClient/feedback(_:rewardToken:options:)``)
  /// and the version that produced the reply is credited.
  public var rewardToken: String? {
    guard case .text(let token)? = header.metadata[RewardMetadata.token]?.value else { return nil }
    return token
  }
}

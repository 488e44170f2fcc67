import Foundation
import SwiftProtobuf
import WeftProtocol

/// Version routing, answered by the gateway itself (`weft.mesh`). With several gateways,
/// a call reaches one of them: for a change every gateway should see, use one client per
/// gateway.
extension WeftClient {
  /// Every service's routing policy and its state.
  public func routes(timeout: Duration = .seconds(5)) async throws -> RouteTable {
    try await call(WeftMeshService.routes, Google_Protobuf_Empty(), options: CallOptions(timeout: timeout))
  }

  /// Sets `policy` for its service (INVALID_ARGUMENT naming the problem if it cannot
  /// work); returns the table after the change.
  @discardableResult
  public func setRoute(_ policy: RoutePolicy, timeout: Duration = .seconds(5)) async throws -> RouteTable {
    var update = RouteUpdate()
    update.policy = policy
    return try await call(WeftMeshService.routeSet, update, options: CallOptions(timeout: timeout))
  }

  /// Removes `service`'s policy: every live version serves, least loaded first.
  @discardableResult
  public func clearRoute(service: String, timeout: Duration = .seconds(5)) async throws -> RouteTable {
    var update = RouteUpdate()
    update.policy.service = service
    update.clear = true
    return try await call(WeftMeshService.routeSet, update, options: CallOptions(timeout: timeout))
  }

  /// Credits rewards (each 0 to 1) to the versions that served what was rewarded: the
  /// A/B figures and a bandit policy use them. All or none are taken.
  public func reward(_ rewards: [(service: String, version: String, reward: Double)], timeout: Duration = .seconds(5))
    async throws
  {
    var batch = RewardBatch()
    batch.rewards = rewards.map { item in
      var entry = Weft_V1_Reward()
      entry.service = item.service
      entry.version = item.version
      entry.reward = item.reward
      return entry
    }
    _ = try await call(WeftMeshService.reward, batch, options: CallOptions(timeout: timeout))
  }
}

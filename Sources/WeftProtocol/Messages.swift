import SwiftProtobuf

/// The request header a client sends with every call.
public typealias RequestHeader = Weft_V1_RequestHeader
/// The header of every response.
public typealias ResponseHeader = Weft_V1_ResponseHeader
/// What a client message is on a call that stays open.
public typealias CallFrame = Weft_V1_CallFrame
/// A worker's registration.
public typealias WorkerReady = Weft_V1_WorkerReady
/// A method a worker serves.
public typealias MethodDescriptor = Weft_V1_MethodDescriptor
/// A metadata value, text or binary.
public typealias MetadataValue = Weft_V1_MetadataValue
/// A raw little-endian tensor.
public typealias Tensor = Weft_V1_Tensor
/// The gateway's answer to `weft.mesh/status`.
public typealias MeshStatus = Weft_V1_MeshStatus

/// How a service's requests that name no version choose one.
public typealias RoutePolicy = Weft_V1_RoutePolicy
/// A change to one service's policy (`weft.mesh/route.set`).
public typealias RouteUpdate = Weft_V1_RouteUpdate
/// Every service's policy and its state (`weft.mesh/routes`).
public typealias RouteTable = Weft_V1_RouteTable
/// Rewards credited to versions (`weft.mesh/reward`).
public typealias RewardBatch = Weft_V1_RewardBatch

extension RoutePolicy {
  /// A policy splitting `service` over `split`'s versions by relative weight, in order;
  /// set `shadow`, `ramp` or `bandit` after.
  public init(service: String, split: [(version: String, weight: Double)]) {
    self.init()
    self.service = service
    self.split = split.map { version, weight in
      var entry = Weft_V1_VersionWeight()
      entry.version = version
      entry.weight = weight
      return entry
    }
  }
}

import SwiftProtobuf

/// The request header a client sends with every call.
public typealias RequestHeader = Weft_V1_RequestHeader
/// The header of every response.
public typealias ResponseHeader = Weft_V1_ResponseHeader
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

/// Names the gateway answers itself.
public enum MeshService {
  /// The built-in service name.
  public static let name = "weft.mesh"
  /// Returns a ``MeshStatus`` of services, versions and workers.
  public static let statusMethod = "status"
}

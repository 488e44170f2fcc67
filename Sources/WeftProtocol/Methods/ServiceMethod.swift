import SwiftProtobuf

/// Which sides of a call send more than one message, as a proto `rpc` declares it.
public enum StreamingKind: String, Sendable, Hashable {
  /// One request, one response.
  case unary
  /// One request, any number of partial responses, then a final one.
  case serverStreaming
  /// Several request messages on one call, one response.
  case clientStreaming
  /// Several of each, on one call that stays open.
  case bidirectional

  /// The server may answer with partial responses before its final one.
  public var serverStreams: Bool { self == .serverStreaming || self == .bidirectional }
  /// The client sends messages on the open call (MESSAGE, HALF_CLOSE).
  public var clientStreams: Bool { self == .clientStreaming || self == .bidirectional }
}

/// One method of a service, typed by its messages: an entry of the method tables that
/// `scripts/generate-protos.sh` writes from `Protos/weft/v1/services.proto`
/// (`TextService.embed`, `WeftMeshService.routeSet`, …).
///
/// `Request` or `Response` is ``OpaqueFrames`` when the body is not one protobuf
/// message, and `Google_Protobuf_Empty` when it has no frames.
public struct ServiceMethod<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>: Sendable, Hashable {
  /// The service's wire name, e.g. `text`.
  public let service: String
  /// The method's wire name, e.g. `embed`.
  public let name: String
  /// Its streaming kind.
  public let kind: StreamingKind

  /// Creates a table entry; only generated code does.
  public init(service: String, name: String, kind: StreamingKind) {
    self.service = service
    self.name = name
    self.kind = kind
  }

  /// The same method without its message types, for lists and look-ups.
  public var erased: AnyServiceMethod {
    AnyServiceMethod(service: service, name: name, kind: kind, requestType: Request.self, responseType: Response.self)
  }
}

/// A method of a service with its message types as values.
public struct AnyServiceMethod: Sendable, Hashable, CustomStringConvertible {
  /// The service's wire name.
  public let service: String
  /// The method's wire name.
  public let name: String
  /// Its streaming kind.
  public let kind: StreamingKind
  /// The request body's message (``OpaqueFrames``: frames passed as sent).
  public let requestType: any SwiftProtobuf.Message.Type
  /// The response body's message.
  public let responseType: any SwiftProtobuf.Message.Type

  /// `service/name`, as errors and logs write a method.
  public var description: String { "\(service)/\(name)" }

  /// The request body is frames passed as sent, not one message.
  public var takesOpaqueFrames: Bool { requestType == OpaqueFrames.self }

  /// A method is named by its service and name; its types follow from those.
  public static func == (lhs: AnyServiceMethod, rhs: AnyServiceMethod) -> Bool {
    lhs.service == rhs.service && lhs.name == rhs.name
  }

  /// Hashes the service and name.
  public func hash(into hasher: inout Hasher) {
    hasher.combine(service)
    hasher.combine(name)
  }
}

extension ServiceMethods {
  /// The method `name` of `service`, if the protos declare it.
  public static func method(service: String, name: String) -> AnyServiceMethod? {
    all.first { $0.service == service && $0.name == name }
  }

  /// The methods of `service`, in declaration order (empty for an unknown service).
  public static func methods(of service: String) -> [AnyServiceMethod] {
    all.filter { $0.service == service }
  }
}

/// The body of a method whose frames are not one protobuf message.
public typealias OpaqueFrames = Weft_V1_OpaqueFrames

/// A call that ended with a status other than OK.
public struct WeftError: Error, CustomStringConvertible, Sendable, Equatable {
  /// Why the call failed.
  public var code: StatusCode
  /// What went wrong, for a person.
  public var message: String
  /// Response metadata the server attached, if any.
  public var metadata: [String: MetadataValue]

  /// Creates an error; `code` must not be `.ok`.
  public init(_ code: StatusCode, _ message: String, metadata: [String: MetadataValue] = [:]) {
    precondition(code != .ok, "WeftError needs a failure code")
    self.code = code
    self.message = message
    self.metadata = metadata
  }

  /// The error a response header describes, or nil when its status is OK.
  public init?(header: ResponseHeader) {
    let code = StatusCode(wireValue: header.status)
    guard code != .ok else { return nil }
    self.init(code, header.message, metadata: header.metadata)
  }

  public var description: String { "\(code.name): \(message)" }
}

/// Bad configuration found at start-up, before any request is served.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
  /// What is wrong and, where it helps, how to fix it.
  public let message: String

  /// Creates an error with a message for the operator.
  public init(_ message: String) { self.message = message }

  public var description: String { message }
}

import CZeroMQ

/// A failed ZeroMQ call: the operation, the errno it set and libzmq's text for it.
public struct ZMQError: Error, CustomStringConvertible, Sendable, Equatable {
  /// The call that failed, e.g. `"bind(tcp://*:5555)"`.
  public let operation: String
  /// The errno value libzmq reported.
  public let code: Int32

  /// Wraps an errno value from a failed call.
  public init(operation: String, code: Int32) {
    self.operation = operation
    self.code = code
  }

  /// Captures `zmq_errno()` right after a failed call.
  static func last(_ operation: @autoclosure () -> String) -> ZMQError {
    ZMQError(operation: operation(), code: zmq_errno())
  }

  /// libzmq's description of the errno value.
  public var message: String { String(cString: zmq_strerror(code)) }

  public var description: String { "\(operation): \(message) (errno \(code))" }

  /// The socket could not send or receive now without blocking.
  public var isWouldBlock: Bool { code == EAGAIN }
  /// A ROUTER socket with mandatory routing was given an identity it has no peer for.
  public var isHostUnreachable: Bool { code == EHOSTUNREACH }
  /// The context was terminated while the call was in progress.
  public var isTerminated: Bool { code == ETERM }
}

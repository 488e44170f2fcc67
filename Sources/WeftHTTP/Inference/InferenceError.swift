import HTTPTypes
import Hummingbird
import WeftProtocol

/// A failed inference request: the HTTP status and the message written as `{"error": ...}`.
struct InferenceError: Error, CustomStringConvertible {
  let status: HTTPResponse.Status
  let message: String

  init(_ status: HTTPResponse.Status, _ message: String) {
    self.status = status
    self.message = message
  }

  /// The HTTP form of a mesh call's failure, mapped as Triton maps its error codes.
  init(_ error: WeftError) {
    self.init(Self.status(for: error.code), error.message)
  }

  var description: String { "\(status.code): \(message)" }

  /// nginx's code for a request whose client went away; Triton uses it for CANCELLED too.
  static let clientClosedRequest = HTTPResponse.Status(code: 499, reasonPhrase: "Client Closed Request")

  /// The HTTP status for a Weft status code (docs/HTTP.md, "Errors").
  static func status(for code: StatusCode) -> HTTPResponse.Status {
    switch code {
    case .invalidArgument, .failedPrecondition, .outOfRange: .badRequest
    case .notFound: .notFound
    case .alreadyExists, .aborted: .conflict
    case .resourceExhausted: .tooManyRequests
    case .cancelled: clientClosedRequest
    case .deadlineExceeded: .gatewayTimeout
    case .unavailable: .serviceUnavailable
    case .unauthenticated: .unauthorized
    case .permissionDenied: .forbidden
    case .unimplemented: .notImplemented
    default: .internalServerError
    }
  }
}

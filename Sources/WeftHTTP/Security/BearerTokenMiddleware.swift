import HTTPTypes
import Hummingbird

/// Lets a request through only with a bearer token of ``BearerTokens`` (none needed when
/// there are no tokens); otherwise answers 401 with `WWW-Authenticate: Bearer`.
struct BearerTokenMiddleware: RouterMiddleware {
  typealias Context = BasicRequestContext
  let tokens: BearerTokens?

  func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
    guard let tokens else { return try await next(request, context) }
    do {
      _ = try tokens.authorize(request.headers[.authorization])
    } catch let error as InferenceError {
      var response = JSONReply.make(error.status, [:], error: error.message)
      response.headers[.wwwAuthenticate] = "Bearer"
      return response
    }
    return try await next(request, context)
  }
}

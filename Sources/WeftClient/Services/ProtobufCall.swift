import Foundation
import SwiftProtobuf
import WeftProtocol

extension WeftClient {
  /// Calls a unary method of the generated method tables (`TextService.embed`, …) with
  /// `request` as its one body frame (none for `Google_Protobuf_Empty`), and decodes the
  /// reply's body as the method's response message.
  ///
  /// - Throws: ``WeftError`` as ``call(_:_:body:options:)`` does, and `DATA_LOSS` when the
  ///   reply is not a `Response`.
  public func call<Request, Reply>(
    _ method: ServiceMethod<Request, Reply>, _ request: Request, options: CallOptions = CallOptions()
  ) async throws -> Reply {
    let reply = try await call(method.service, method.name, body: try Self.frames(of: request), options: options)
    return try Self.decode(reply, as: method)
  }

  /// ``call(_:_:options:)``, also returning the reply's header (its version, timings,
  /// metadata and ``Response/rewardToken``).
  public func callWithHeader<Request, Reply>(
    _ method: ServiceMethod<Request, Reply>, _ request: Request, options: CallOptions = CallOptions()
  ) async throws -> (reply: Reply, response: Response) {
    let response = try await call(method.service, method.name, body: try Self.frames(of: request), options: options)
    return (try Self.decode(response, as: method), response)
  }

  /// Calls a server-streaming method of the generated method tables and yields each
  /// response's message as it arrives; the stream ends after the final response, or
  /// throws ``WeftError``.
  public func stream<Request, Reply>(
    _ method: ServiceMethod<Request, Reply>, _ request: Request, options: CallOptions = CallOptions()
  ) throws -> AsyncThrowingStream<Reply, any Error> {
    let responses = stream(method.service, method.name, body: try Self.frames(of: request), options: options)
    return AsyncThrowingStream { continuation in
      let task = Task {
        do {
          for try await response in responses { continuation.yield(try Self.decode(response, as: method)) }
          continuation.finish()
        } catch {
          continuation.finish(throwing: error)
        }
      }
      continuation.onTermination = { _ in task.cancel() }
    }
  }

  private static func frames(of request: some SwiftProtobuf.Message) throws -> [Data] {
    request is Google_Protobuf_Empty ? [] : [try request.serializedData()]
  }

  private static func decode<Request, Reply>(_ response: Response, as method: ServiceMethod<Request, Reply>) throws -> Reply {
    guard let body = response.body.first else {
      if Reply.self == Google_Protobuf_Empty.self { return Reply() }
      throw WeftError(.dataLoss, "\(method.service)/\(method.name) reply has no body")
    }
    do {
      return try Reply(serializedBytes: body)
    } catch {
      throw WeftError(.dataLoss, "\(method.service)/\(method.name) reply is not a \(Reply.protoMessageName): \(error)")
    }
  }
}

import Foundation
import SwiftProtobuf
import WeftProtocol

extension WeftClient {
  /// A call whose body is one protobuf message (or none) and whose reply is `Reply`.
  func protobufCall<Reply: SwiftProtobuf.Message>(
    _ service: String, _ method: String, body: (any SwiftProtobuf.Message)?, options: CallOptions
  ) async throws -> Reply {
    let frames = try body.map { [Data(try $0.serializedBytes() as [UInt8])] } ?? []
    let response = try await call(service, method, body: frames, options: options)
    do {
      return try Reply(serializedBytes: response.body.first ?? Data())
    } catch {
      throw WeftError(.dataLoss, "\(service)/\(method) reply is not a \(Reply.protoMessageName): \(error)")
    }
  }
}

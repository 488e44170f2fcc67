import Foundation
import SwiftProtobuf
import WeftProtocol

extension InferenceRequest {
  /// The request's single body frame decoded as `Body`, or INVALID_ARGUMENT saying why
  /// not (`name` says what the frame should hold, e.g. "an EmbedRequest").
  func singleBody<Body: SwiftProtobuf.Message>(_ type: Body.Type, named name: String, service: String) throws(WeftError) -> Body {
    guard body.count == 1 else {
      throw WeftError(.invalidArgument, "\(service)/\(method) takes one body frame holding \(name); got \(body.count)")
    }
    do {
      return try Body(serializedBytes: body[0])
    } catch {
      throw WeftError(.invalidArgument, "body is not \(name): \(error)")
    }
  }
}

/// One result slot per request of a batch, filled by the lanes.
final class PreparedSlots<Value: Sendable>: @unchecked Sendable {
  // @unchecked: each lane writes only its own slots, and reads happen after the join.
  // Raw storage, not an array property, so concurrent writes to different slots do not
  // contend for exclusive access to the whole array.
  private let slots: UnsafeMutableBufferPointer<Result<Value, WeftError>?>

  init(count: Int) { slots = .allocate(capacity: count); slots.initialize(repeating: nil) }

  deinit {
    slots.deinitialize()
    slots.deallocate()
  }

  func set(_ index: Int, _ value: Result<Value, WeftError>) { slots[index] = value }

  subscript(index: Int) -> Result<Value, WeftError> { slots[index]! }
}

import Foundation
import SwiftProtobuf
import WeftProtocol

extension InferenceRequest {
  /// The request's one body frame, decoded as `method`'s request message.
  ///
  /// - Throws: `INVALID_ARGUMENT` naming the method and message when there is not
  ///   exactly one frame or it does not decode.
  public func singleBody<Body, Reply>(of method: ServiceMethod<Body, Reply>) throws(WeftError) -> Body {
    let name = Body.protoMessageName.split(separator: ".").last.map(String.init) ?? Body.protoMessageName
    let article = "AEIOU".contains(name.first ?? "x") ? "an" : "a"
    guard body.count == 1 else {
      throw WeftError(.invalidArgument, "\(method.service)/\(self.method) takes one body frame holding \(article) \(name); got \(body.count)")
    }
    do {
      return try Body(serializedBytes: body[0])
    } catch {
      throw WeftError(.invalidArgument, "body is not \(article) \(name): \(error)")
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

/// A pointer handed to the lanes of one phase, each writing its own rows.
struct SendablePointer: @unchecked Sendable {
  // @unchecked: lanes touch disjoint ranges between barriers.
  let pointer: UnsafeMutablePointer<Float>
  init(_ pointer: UnsafeMutablePointer<Float>) { self.pointer = pointer }
}

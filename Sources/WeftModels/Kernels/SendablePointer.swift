/// A pointer handed to the lanes of one phase, each writing its own rows.
struct SendablePointer: @unchecked Sendable {
  // @unchecked: lanes touch disjoint ranges between barriers.
  let pointer: UnsafeMutablePointer<Float>
  init(_ pointer: UnsafeMutablePointer<Float>) { self.pointer = pointer }
}

/// A read-only pointer handed to the lanes of one phase (weights, inputs they share).
struct SendableReadPointer: @unchecked Sendable {
  // @unchecked: while the lanes run nothing writes what it points to, or only the lane
  // that reads it, in the same place (a residual added in place).
  let pointer: UnsafePointer<Float>
  init(_ pointer: UnsafePointer<Float>) { self.pointer = pointer }
}

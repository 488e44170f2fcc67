import CZeroMQ
import Foundation

/// An ordered list of message frames, each a `zmq_msg_t` owned here at a fixed address.
///
/// Frames move between sockets without their bytes being copied: receiving fills
/// slots, sending empties them, and `append(copyOf:at:)` shares a large frame's buffer
/// by reference count. A `Frames` belongs to one thread at a time, so the runtime's
/// exclusivity checks on its fields are switched off: they cost more than the work.
public final class Frames {
  @exclusivity(unchecked) private var slots: UnsafeMutablePointer<zmq_msg_t>
  /// How many slots are allocated; grows on demand.
  @exclusivity(unchecked) public private(set) var capacity: Int
  /// How many frames hold content.
  @exclusivity(unchecked) public internal(set) var count: Int = 0
  /// Set by a receive that met more frames than its limit; the extra frames were discarded.
  @exclusivity(unchecked) public internal(set) var overflowed = false

  /// Creates an empty list with room for `capacity` frames before it grows.
  public init(capacity: Int = 8) {
    self.capacity = max(1, capacity)
    slots = .allocate(capacity: self.capacity)
    for index in 0..<self.capacity { zmq_msg_init(slots + index) }
  }

  deinit {
    for index in 0..<capacity { zmq_msg_close(slots + index) }
    slots.deallocate()
  }

  /// Whether there are no frames.
  public var isEmpty: Bool { count == 0 }

  /// The bytes of frame `index`, valid until this list is next changed.
  public subscript(index: Int) -> UnsafeRawBufferPointer {
    let message = slots + index
    return UnsafeRawBufferPointer(start: zmq_msg_data(message), count: zmq_msg_size(message))
  }

  /// The size in bytes of frame `index`.
  public func size(at index: Int) -> Int { zmq_msg_size(slots + index) }

  /// The total size in bytes of frames `range`.
  public func totalSize(_ range: Range<Int>) -> Int {
    var total = 0
    for index in range { total += zmq_msg_size(slots + index) }
    return total
  }

  /// A copy of frame `index` as an array.
  public func bytes(at index: Int) -> [UInt8] { Array(self[index]) }

  /// Frames of at least this many bytes become `Data`, and `Data` becomes frames, without
  /// their bytes being copied (``data(at:)``, ``append(_:)-(Data)``); smaller ones are
  /// copied, which costs less than the bookkeeping that sharing takes.
  public static let sharedBytes = 16 * 1_024

  /// Frame `index` as `Data`: a copy, or for a frame of ``sharedBytes`` or more, its
  /// buffer shared (libzmq counts the references; the frame itself stays as it is).
  public func data(at index: Int) -> Data {
    let size = zmq_msg_size(slots + index)
    guard size >= Self.sharedBytes else { return Data(self[index]) }
    let shared = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)
    zmq_msg_init(shared)
    zmq_msg_copy(shared, slots + index)
    return Data(bytesNoCopy: zmq_msg_data(shared), count: size, deallocator: .custom { _, _ in
      zmq_msg_close(shared)
      shared.deallocate()
    })
  }

  /// Whether frame `index` holds exactly `expected`.
  public func frame(_ index: Int, equals expected: [UInt8]) -> Bool {
    let frame = self[index]
    guard frame.count == expected.count else { return false }
    guard let base = frame.baseAddress, frame.count > 0 else { return true }
    return expected.withUnsafeBytes { memcmp($0.baseAddress!, base, frame.count) == 0 }
  }

  /// Empties every frame and keeps the slots for reuse.
  public func removeAll() {
    for index in 0..<count {
      zmq_msg_close(slots + index)
      zmq_msg_init(slots + index)
    }
    count = 0
    overflowed = false
  }

  /// Appends a frame holding a copy of `bytes`.
  public func append(_ bytes: UnsafeRawBufferPointer) {
    append(bytes, followedBy: UnsafeRawBufferPointer(start: nil, count: 0))
  }

  /// Appends one frame holding a copy of `first`, then of `second`.
  public func append(_ first: UnsafeRawBufferPointer, followedBy second: UnsafeRawBufferPointer) {
    let slot = nextSlot()
    zmq_msg_close(slot)
    // Only ENOMEM can fail here; treat it like Swift treats allocation failure.
    precondition(zmq_msg_init_size(slot, first.count + second.count) == 0, "zmq_msg_init_size: out of memory")
    let destination = zmq_msg_data(slot)!
    if let source = first.baseAddress, first.count > 0 { memcpy(destination, source, first.count) }
    if let source = second.baseAddress, second.count > 0 { memcpy(destination + first.count, source, second.count) }
    count += 1
  }

  /// Appends a frame holding a copy of `bytes`.
  public func append(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes { append($0) }
  }

  /// Appends a frame holding `data`: a copy, or for ``sharedBytes`` or more, its bytes
  /// themselves, kept alive until libzmq has sent them.
  public func append(_ data: Data) {
    guard data.count >= Self.sharedBytes else { return data.withUnsafeBytes { append($0) } }
    let slot = nextSlot()
    zmq_msg_close(slot)
    // A large Data keeps its bytes in one heap buffer that does not move while a copy of
    // it (the box's) is alive: writes to another copy copy first.
    let box = Unmanaged.passRetained(SentData(data)).toOpaque()
    let start = data.withUnsafeBytes { UnsafeMutableRawPointer(mutating: $0.baseAddress!) }
    precondition(zmq_msg_init_data(slot, start, data.count, releaseSentData, box) == 0, "zmq_msg_init_data failed")
    count += 1
  }

  /// Appends a frame holding the UTF-8 bytes of `string`.
  public func append(_ string: String) {
    var string = string
    string.withUTF8 { append(UnsafeRawBufferPointer($0)) }
  }

  /// Appends frame `index` of `source`, sharing its buffer (large frames are
  /// reference-counted by libzmq; frames of 33 bytes or less are copied inline).
  public func append(copyOf source: Frames, at index: Int) {
    let slot = nextSlot()
    zmq_msg_copy(slot, source.slots + index)
    count += 1
  }

  /// Appends frames `range` of `source`, sharing their buffers.
  public func append(copiesOf source: Frames, range: Range<Int>) {
    for index in range { append(copyOf: source, at: index) }
  }

  /// Moves frame `index` of `source` here; the source frame is left empty.
  public func append(moving source: Frames, at index: Int) {
    let slot = nextSlot()
    zmq_msg_move(slot, source.slots + index)
    count += 1
  }

  /// Moves frames `range` of `source` here; the source frames are left empty.
  public func append(moving source: Frames, range: Range<Int>) {
    for index in range { append(moving: source, at: index) }
  }

  /// Moves frame `sourceIndex` of `source` into frame `index` here (which must exist),
  /// closing what it held; the source frame is left empty.
  public func replace(_ index: Int, moving source: Frames, at sourceIndex: Int) {
    precondition(index < count, "replace: frame \(index) of \(count)")
    zmq_msg_move(slots + index, source.slots + sourceIndex)
  }

  /// The slot for frame `index`, for the socket's send and receive calls.
  func slot(_ index: Int) -> UnsafeMutablePointer<zmq_msg_t> { slots + index }

  /// The next free slot, growing the storage when full.
  func nextSlot() -> UnsafeMutablePointer<zmq_msg_t> {
    if count == capacity { grow() }
    return slots + count
  }

  private func grow() {
    let newCapacity = capacity * 2
    let newSlots = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: newCapacity)
    for index in 0..<newCapacity { zmq_msg_init(newSlots + index) }
    // zmq_msg_move keeps the reference counts right; a raw memcpy of zmq_msg_t would not.
    for index in 0..<capacity {
      zmq_msg_move(newSlots + index, slots + index)
      zmq_msg_close(slots + index)
    }
    slots.deallocate()
    slots = newSlots
    capacity = newCapacity
  }
}

/// A `Data` kept alive while libzmq sends its bytes.
private final class SentData {
  let data: Data
  init(_ data: Data) { self.data = data }
}

/// libzmq's callback once a frame made from `Data` is sent or dropped (on its I/O thread).
private func releaseSentData(_ bytes: UnsafeMutableRawPointer?, _ box: UnsafeMutableRawPointer?) {
  guard let box else { return }
  Unmanaged<SentData>.fromOpaque(box).release()
}

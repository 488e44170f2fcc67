/// Several whole messages carried in one frame, so a burst of small messages to one peer
/// costs libzmq one message, not one per message: its work per message and per frame,
/// and the wake-ups of its I/O threads, cost more than copying a few small frames.
///
/// Layout (little-endian), once per message: `u32` frame count, then for each frame a
/// `u32` length and the frame's bytes. Only small messages are worth packing: their
/// bytes are copied in and out.
public struct FramePack {
  /// A message of at most this many bytes is worth packing: copying it in and out costs
  /// less than libzmq's work per message.
  public static let packableMessageBytes = 4_096
  /// A pack of this many bytes is sent without waiting for more, so a burst never makes
  /// one huge frame.
  public static let fullBytes = 65_536

  /// The packed messages.
  public private(set) var bytes: [UInt8] = []
  /// How many messages are packed.
  public private(set) var messageCount = 0

  /// Creates an empty pack.
  public init() {}

  /// Whether no message is packed.
  public var isEmpty: Bool { messageCount == 0 }

  /// Whether the pack holds ``fullBytes`` or more.
  public var isFull: Bool { bytes.count >= Self.fullBytes }

  /// Packs frames `range` of `frames` (copied) as one message.
  public mutating func append(_ frames: Frames, range: Range<Int>) {
    startMessage(frameCount: range.count)
    for index in range { appendFrame(frames[index]) }
  }

  /// Packs `frames` (copied) as one message.
  public mutating func append<Message: Collection>(message frames: Message) where Message.Element == [UInt8] {
    startMessage(frameCount: frames.count)
    for frame in frames { frame.withUnsafeBytes { appendFrame($0) } }
  }

  /// Starts a message of `frameCount` frames, to be added with ``appendFrame(_:followedBy:)``:
  /// for bytes not yet in frames, without making them frames first.
  public mutating func startMessage(frameCount: Int) {
    appendLength(frameCount)
    messageCount += 1
  }

  /// Adds the next frame of the message started last: `frame`, then `more` in the same frame.
  public mutating func appendFrame(_ frame: UnsafeRawBufferPointer, followedBy more: UnsafeRawBufferPointer? = nil) {
    appendLength(frame.count + (more?.count ?? 0))
    bytes.append(contentsOf: frame)
    if let more { bytes.append(contentsOf: more) }
  }

  /// Empties the pack, keeping its storage for the next one.
  public mutating func removeAll() {
    bytes.removeAll(keepingCapacity: true)
    messageCount = 0
  }

  private mutating func appendLength(_ length: Int) {
    withUnsafeBytes(of: UInt32(length).littleEndian) { bytes.append(contentsOf: $0) }
  }

  /// Why a frame is not a valid pack.
  public enum Malformed: Error, Equatable, Sendable {
    /// A length or count reaches past the end of the frame; `offset` is where it was read.
    case truncated(offset: Int)
    /// Message `message` has no frames, or more than the receiver takes.
    case frameCount(message: Int, count: Int)
  }

  /// Checks that `pack` is a whole pack whose messages each have 1 to `maxFrames`
  /// frames; returns how many messages it holds.
  public static func validate(_ pack: UnsafeRawBufferPointer, maxFrames: Int) throws(Malformed) -> Int {
    var offset = 0
    var messages = 0
    while offset < pack.count {
      guard let count = length(in: pack, at: offset) else { throw .truncated(offset: offset) }
      guard count >= 1 && count <= maxFrames else { throw .frameCount(message: messages, count: count) }
      offset += 4
      for _ in 0..<count {
        guard let size = length(in: pack, at: offset), size <= pack.count - offset - 4 else { throw .truncated(offset: offset) }
        offset += 4 + size
      }
      messages += 1
    }
    return messages
  }

  /// One message of a pack: its frames in order, read in place.
  public struct Message: Sequence {
    /// The pack, and where this message's first frame length is.
    let pack: UnsafeRawBufferPointer
    let start: Int
    /// How many frames the message has.
    public let count: Int

    /// Reads the frames one after the other.
    public struct Iterator: IteratorProtocol {
      let pack: UnsafeRawBufferPointer
      var offset: Int
      var remaining: Int

      /// The next frame's bytes (valid while the pack is), or nil after the last.
      public mutating func next() -> UnsafeRawBufferPointer? {
        guard remaining > 0, let size = FramePack.length(in: pack, at: offset) else { return nil }
        let frame = UnsafeRawBufferPointer(rebasing: pack[offset + 4..<offset + 4 + size])
        offset += 4 + size
        remaining -= 1
        return frame
      }
    }

    public func makeIterator() -> Iterator { Iterator(pack: pack, offset: start, remaining: count) }
  }

  /// Calls `handle` with each message of `pack` (checked by ``validate(_:maxFrames:)``),
  /// in order, its frames read in place.
  public static func forEachMessage(in pack: UnsafeRawBufferPointer, _ handle: (Message) throws -> Void) rethrows {
    var offset = 0
    while let count = length(in: pack, at: offset) {
      let message = Message(pack: pack, start: offset + 4, count: count)
      var frames = message.makeIterator()
      while frames.next() != nil {}
      offset = frames.offset
      try handle(message)
    }
  }

  fileprivate static func length(in pack: UnsafeRawBufferPointer, at offset: Int) -> Int? {
    guard pack.count - offset >= 4 else { return nil }
    return Int(UInt32(littleEndian: pack.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
  }
}

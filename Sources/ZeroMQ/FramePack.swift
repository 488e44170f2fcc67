/// Several whole messages carried in one frame, so a burst of small messages to one peer
/// costs libzmq one message, not one per message: its work per message and per frame,
/// and the wake-ups of its I/O threads, cost more than copying a few small frames.
///
/// Layout (little-endian), once per message: `u32` frame count, then for each frame a
/// `u32` length and the frame's bytes. Only small messages are worth packing: their
/// bytes are copied in and out.
public struct FramePack {
  /// The packed messages.
  public private(set) var bytes: [UInt8] = []
  /// How many messages are packed.
  public private(set) var messageCount = 0

  /// Creates an empty pack.
  public init() {}

  /// Whether no message is packed.
  public var isEmpty: Bool { messageCount == 0 }

  /// Packs frames `range` of `frames` (copied) as one message.
  public mutating func append(_ frames: Frames, range: Range<Int>) {
    appendLength(range.count)
    for index in range {
      let frame = frames[index]
      appendLength(frame.count)
      bytes.append(contentsOf: frame)
    }
    messageCount += 1
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

  /// For each message of `pack` (checked by ``validate(_:maxFrames:)``): empties
  /// `frames`, lets `prepare` put in what comes before the message's frames (the sender's
  /// identity), appends the message's frames (copied) and calls `handle`, which may take
  /// frames out of `frames`.
  public static func forEachMessage(
    in pack: UnsafeRawBufferPointer, into frames: Frames, prepare: () -> Void, _ handle: () throws -> Void
  ) rethrows {
    var offset = 0
    while offset < pack.count, let count = length(in: pack, at: offset) {
      offset += 4
      frames.removeAll()
      prepare()
      for _ in 0..<count {
        let size = length(in: pack, at: offset) ?? 0
        offset += 4
        frames.append(UnsafeRawBufferPointer(rebasing: pack[offset..<offset + size]))
        offset += size
      }
      try handle()
    }
  }

  private static func length(in pack: UnsafeRawBufferPointer, at offset: Int) -> Int? {
    guard pack.count - offset >= 4 else { return nil }
    return Int(UInt32(littleEndian: pack.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
  }
}

/// Whole messages waiting to go out on one socket, in order, each with a tag that says
/// what to do if the socket refuses it.
///
/// libzmq wakes its I/O thread whenever a message completes on a pipe the I/O thread
/// had emptied, and that thread then writes what the pipe holds: messages sent one by
/// one between slow steps leave as one TCP write each. Building a batch's messages here
/// and sending them together lets the I/O thread find many at once (see
/// docs/BENCHMARKS.md, "Gateway hot path").
///
/// Frames are appended to ``frames`` and closed into a message by ``endMessage(_:)``;
/// ``flush(_:)`` hands each message to its caller, which sends it. A message appended
/// while a flush runs (a refusal's handler may answer someone) is flushed in the same call.
///
/// Its methods are inlinable so each user's tag type is specialized into its code, not
/// looked up at run time on every message.
public final class Outbox<Tag> {
  /// The frames of every waiting message, in order.
  public let frames: Frames
  @usableFromInline @exclusivity(unchecked) var messageEnds: [Int] = []
  @usableFromInline @exclusivity(unchecked) var tags: [Tag] = []
  @usableFromInline @exclusivity(unchecked) var flushing = false

  /// Creates an empty outbox with room for `frameCapacity` frames before it grows.
  public init(frameCapacity: Int = 256) {
    frames = Frames(capacity: frameCapacity)
  }

  /// Messages waiting.
  @inlinable public var count: Int { tags.count }

  /// Whether no message is waiting.
  @inlinable public var isEmpty: Bool { tags.isEmpty }

  /// Closes the frames appended since the last message into one message tagged `tag`.
  @inlinable public func endMessage(_ tag: Tag) {
    precondition(frames.count > (messageEnds.last ?? 0), "a message needs at least one frame")
    messageEnds.append(frames.count)
    tags.append(tag)
  }

  /// Hands each waiting message, oldest first, to `send` (its tag, and its frames'
  /// range in ``frames``), then empties the outbox. Frames `send` leaves in place are
  /// closed. Not reentrant: a `send` that calls `flush` again is a programming error.
  @inlinable public func flush(_ send: (Tag, Range<Int>) -> Void) {
    precondition(!flushing, "Outbox.flush called from inside its own flush")
    flushing = true
    defer { flushing = false }
    var start = 0
    var index = 0
    while index < tags.count {
      let end = messageEnds[index]
      send(tags[index], start..<end)
      start = end
      index += 1
    }
    messageEnds.removeAll(keepingCapacity: true)
    tags.removeAll(keepingCapacity: true)
    frames.removeAll()
  }
}

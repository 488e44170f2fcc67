import ZeroMQ

/// Replies to one client that ZeroMQ's queue to it had no room for, kept in order until
/// it has room again.
///
/// ZeroMQ bounds a client's queue by a number of messages, not bytes, so a client that
/// stops reading meets the bound after `client_high_water_mark` replies of any size.
/// Past it the gateway keeps the replies itself, where their bytes can be counted: what
/// the per-client reply budget limits.
final class ReplyBacklog {
  /// What keeping one reply costs beyond its bytes (its `Frames`, four message slots,
  /// allocator headers), counted so the budget tracks memory, not payload.
  static let overheadPerReply = 512

  private var replies: [Frames] = []
  private var head = 0
  /// Bytes held, overhead included.
  private(set) var bytes = 0
  /// Refusals of requests never admitted, added since the backlog was last empty.
  var refusalsAdded = 0
  /// The largest reply added since the backlog was last empty: what each of the
  /// client's requests still in flight is expected to add.
  private(set) var largestReply = 0

  /// Replies held.
  var count: Int { replies.count - head }

  /// Keeps `reply` (identity, signature, header, body frames) after the ones already held.
  func append(_ reply: Frames) {
    let size = reply.totalSize(0..<reply.count) + Self.overheadPerReply
    replies.append(reply)
    bytes += size
    largestReply = max(largestReply, size)
  }

  /// What a flush came to.
  enum Flush: Equatable {
    /// Every reply went out; the backlog is empty.
    case sentAll
    /// The client's queue filled again; the rest wait.
    case blocked
    /// The client disconnected; its `dropped` replies had nowhere to go.
    case clientGone(dropped: Int)
  }

  /// Sends held replies oldest first, until the socket has no room for the next one.
  func flush(to socket: Socket) -> Flush {
    while head < replies.count {
      let reply = replies[head]
      let size = reply.totalSize(0..<reply.count) + Self.overheadPerReply
      do {
        // The identity frame is where a ROUTER refuses; once it is taken, the rest is too.
        try socket.send(reply, wait: false)
      } catch let error as ZMQError where error.isWouldBlock {
        compact()
        return .blocked
      } catch {
        let dropped = count
        removeAll()
        return .clientGone(dropped: dropped)
      }
      head += 1
      bytes -= size
    }
    removeAll()
    return .sentAll
  }

  private func compact() {
    guard head > 64, head * 2 > replies.count else { return }
    replies.removeFirst(head)
    head = 0
  }

  private func removeAll() {
    replies.removeAll()
    head = 0
    bytes = 0
    refusalsAdded = 0
    largestReply = 0
  }
}

import CZeroMQ

#if canImport(Glibc)
import Glibc
#endif

/// Waits on several sockets and file descriptors at once.
///
/// Add items once, then call `wait(timeoutMilliseconds:)` in the loop and ask
/// `isReadable(_:)` by the index `add` returned. A socket reported readable must be
/// drained with non-blocking receives (until one finds nothing, or again after the next
/// wait) before waiting again.
///
/// It does what zmq_poll does with fewer system calls. zmq_poll asks every socket for
/// ZMQ_EVENTS and polls once without waiting before it sleeps; here a socket whose last
/// operation was a receive that found nothing is not asked, since libzmq then signals
/// its descriptor (ZMQ_FD) when the next message comes, and the sleep is the only poll.
/// Any other operation on a socket may take in that signal without reading the message,
/// so such a socket is asked for ZMQ_EVENTS first, as zmq_poll would.
public struct Poller: ~Copyable {
  private var items: UnsafeMutablePointer<pollfd>
  /// Each item's socket (nil for a plain descriptor).
  private var sockets: [Socket?] = []
  /// Each item's descriptor, kept while the item is disabled.
  private var descriptors: [Int32] = []
  /// Which items the last wait found readable.
  private var readable: [Bool] = []
  private var capacity: Int
  /// How many items are registered.
  public var count: Int { sockets.count }

  /// An empty poller.
  public init() {
    capacity = 4
    items = .allocate(capacity: capacity)
  }

  deinit { items.deallocate() }

  /// Registers `socket` for readability and returns its index.
  public mutating func add(_ socket: Socket) throws -> Int {
    append(socket: socket, descriptor: try socket.intOption(ZMQ_FD))
  }

  /// Registers a file descriptor (e.g. a ``WakeSignal``) for readability and returns its index.
  public mutating func add(fileDescriptor: Int32) -> Int {
    append(socket: nil, descriptor: fileDescriptor)
  }

  /// Turns readability polling of item `index` on or off (e.g. stop reading clients under load).
  public mutating func setEnabled(_ index: Int, _ enabled: Bool) {
    // poll(2) skips negative descriptors.
    items[index].fd = enabled ? descriptors[index] : -1
  }

  /// Waits until an item is readable or the timeout passes (-1: forever).
  /// - Returns: how many items are readable.
  @discardableResult
  public mutating func wait(timeoutMilliseconds: Int) throws -> Int {
    var ready = 0
    for index in sockets.indices {
      readable[index] = false
      guard items[index].fd >= 0, let socket = sockets[index], !socket.foundEmpty else { continue }
      if try socket.hasMessage() {
        readable[index] = true
        ready += 1
      }
    }
    // With a socket ready, the others are only looked at: a busy socket must not hide a
    // descriptor (a wake-up from another thread) for as long as it stays busy.
    let timeout = ready > 0 ? 0 : Int32(clamping: timeoutMilliseconds)
    if poll(items, nfds_t(count), timeout) < 0 {
      guard errno == EINTR else { throw ZMQError(operation: "poll", code: errno) }
      return ready
    }
    for index in sockets.indices where !readable[index] && items[index].fd >= 0 && items[index].revents != 0 {
      // For a socket, a signal says commands wait, often a message's arrival: its next
      // receive processes them and reads the message, or finds none.
      readable[index] = true
      ready += 1
    }
    return ready
  }

  /// Whether item `index` was readable at the last wait.
  public func isReadable(_ index: Int) -> Bool { readable[index] }

  private mutating func append(socket: Socket?, descriptor: Int32) -> Int {
    if count == capacity {
      let bigger = UnsafeMutablePointer<pollfd>.allocate(capacity: capacity * 2)
      bigger.moveInitialize(from: items, count: count)
      items.deallocate()
      items = bigger
      capacity *= 2
    }
    items[count] = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
    sockets.append(socket)
    descriptors.append(descriptor)
    readable.append(false)
    return count - 1
  }
}

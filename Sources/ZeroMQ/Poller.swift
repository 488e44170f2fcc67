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
  ///
  /// With `spinMicroseconds` > 0, the items are first polled without sleeping for up to
  /// that long (within the timeout, which the spin counts against): a message that comes
  /// meanwhile is found without the thread being put to sleep and woken, at the cost of
  /// the CPU spent polling.
  /// - Returns: how many items are readable.
  @discardableResult
  public mutating func wait(timeoutMilliseconds: Int, spinMicroseconds: Int = 0) throws -> Int {
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
    var timeout = ready > 0 ? 0 : Int32(clamping: timeoutMilliseconds)
    let spinning = timeout < 0 ? spinMicroseconds : min(spinMicroseconds, Int(timeout) * 1_000)
    if spinning > 0 {
      if spin(forMicroseconds: spinning) { return readableAfterPoll(ready) }
      if timeout > 0 { timeout -= Int32(spinning / 1_000) }
    }
    if poll(items, nfds_t(count), timeout) < 0 {
      guard errno == EINTR else { throw ZMQError(operation: "poll", code: errno) }
      return ready
    }
    return readableAfterPoll(ready)
  }

  /// Marks the items the last poll found readable besides the `ready` ones already
  /// marked; returns how many are readable in all.
  private mutating func readableAfterPoll(_ ready: Int) -> Int {
    var ready = ready
    for index in sockets.indices where !readable[index] && items[index].fd >= 0 && items[index].revents != 0 {
      // For a socket, a signal says commands wait, often a message's arrival: its next
      // receive processes them and reads the message, or finds none.
      readable[index] = true
      ready += 1
    }
    return ready
  }

  /// Polls the items without sleeping until one is readable (true) or `microseconds` pass
  /// (false; as does an interrupted poll, the sleeping poll that follows tells the rest).
  /// Between polls the thread yields, so a thread woken onto this CPU runs at once: the
  /// message being waited for is often on its way through one (without yielding, the
  /// round trip's p99 was 1.15× the sleeping loop's; with it, 0.6×).
  private func spin(forMicroseconds microseconds: Int) -> Bool {
    let end = ContinuousClock.now + .microseconds(microseconds)
    repeat {
      let found = poll(items, nfds_t(count), 0)
      if found != 0 { return found > 0 }
      sched_yield()
    } while ContinuousClock.now < end
    return false
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

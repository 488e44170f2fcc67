import CZeroMQ

/// Waits on several sockets and file descriptors at once (zmq_poll).
///
/// Add items once, then call `wait(timeoutMilliseconds:)` in the loop and ask
/// `isReadable(_:)` by the index `add` returned. Sockets are level-triggered: drain a
/// ready socket with non-blocking receives before polling again, since every poll
/// is a system call.
public struct Poller: ~Copyable {
  private var items: UnsafeMutablePointer<zmq_pollitem_t>
  private var capacity: Int
  /// How many items are registered.
  public private(set) var count = 0

  /// An empty poller.
  public init() {
    capacity = 4
    items = .allocate(capacity: capacity)
  }

  deinit { items.deallocate() }

  /// Registers `socket` for readability and returns its index.
  public mutating func add(_ socket: Socket) throws -> Int {
    append(zmq_pollitem_t(socket: try socket.open(), fd: -1, events: Int16(ZMQ_POLLIN), revents: 0))
  }

  /// Registers a file descriptor (e.g. a ``WakeSignal``) for readability and returns its index.
  public mutating func add(fileDescriptor: Int32) -> Int {
    append(zmq_pollitem_t(socket: nil, fd: fileDescriptor, events: Int16(ZMQ_POLLIN), revents: 0))
  }

  /// Turns readability polling of item `index` on or off (e.g. stop reading clients under load).
  public mutating func setEnabled(_ index: Int, _ enabled: Bool) {
    items[index].events = enabled ? Int16(ZMQ_POLLIN) : 0
  }

  /// Waits until an item is readable or the timeout passes (-1: forever).
  /// - Returns: how many items are readable.
  @discardableResult
  public func wait(timeoutMilliseconds: Int) throws -> Int {
    while true {
      let ready = zmq_poll(items, Int32(count), timeoutMilliseconds)
      if ready >= 0 { return Int(ready) }
      let code = zmq_errno()
      if code == EINTR { return 0 }
      throw ZMQError(operation: "zmq_poll", code: code)
    }
  }

  /// Whether item `index` was readable at the last wait.
  public func isReadable(_ index: Int) -> Bool {
    items[index].revents & Int16(ZMQ_POLLIN) != 0
  }

  private mutating func append(_ item: zmq_pollitem_t) -> Int {
    if count == capacity {
      let bigger = UnsafeMutablePointer<zmq_pollitem_t>.allocate(capacity: capacity * 2)
      bigger.moveInitialize(from: items, count: count)
      items.deallocate()
      items = bigger
      capacity *= 2
    }
    items[count] = item
    count += 1
    return count - 1
  }
}

import CZeroMQ

#if canImport(Glibc)
import Glibc
#endif

/// A wake-up any thread can send to a thread blocked in a ``Poller``: an eventfd.
///
/// The usual pairing is a lock-protected queue plus this signal: producers append, then
/// `signal()`; the polling thread sees the descriptor readable, calls `drain()`, and
/// empties the queue.
public final class WakeSignal: Sendable {
  /// The descriptor to register with ``Poller/add(fileDescriptor:)``.
  public let fileDescriptor: Int32

  /// Creates a non-blocking eventfd.
  public init() throws {
    let fd = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
    guard fd >= 0 else { throw ZMQError(operation: "eventfd", code: errno) }
    fileDescriptor = fd
  }

  deinit { Glibc.close(fileDescriptor) }

  /// Makes the descriptor readable; safe from any thread, and cheap when already signalled.
  public func signal() {
    var one: UInt64 = 1
    _ = withUnsafeBytes(of: &one) { write(fileDescriptor, $0.baseAddress, 8) }
  }

  /// Clears the signal; call after a wait reported it readable.
  public func drain() {
    var value: UInt64 = 0
    _ = withUnsafeMutableBytes(of: &value) { read(fileDescriptor, $0.baseAddress, 8) }
  }
}

import CZeroMQ
import Synchronization

/// A ZeroMQ context: the I/O threads that every socket created from it shares.
///
/// A context is safe to share between threads; its sockets are not. Each socket holds
/// its context alive, and the context is terminated once the last socket and the last
/// reference are gone. There is no global context: pass one in.
public final class Context: @unchecked Sendable {
  // @unchecked: the handle is a raw pointer, and libzmq's context is thread-safe.
  let handle: UnsafeMutableRawPointer
  private let terminated = Mutex(false)
  /// What this context's I/O threads' names start with: a number no other context of the
  /// process has, so ``scheduleIOThreads(_:)`` finds them (a thread's name holds 15
  /// characters, "ZMQbg/IO/0" ten of them).
  let threadNamePrefix: Int32
  /// How many I/O threads the context has.
  let ioThreadCount: Int
  /// The I/O threads' kernel ids, once all are found.
  let ioThreads = Mutex<[pid_t]>([])
  private static let contextsMade = Atomic<Int32>(0)

  /// Creates a context with the given number of I/O threads.
  public init(ioThreads: Int = 1) throws {
    guard let handle = zmq_ctx_new() else { throw ZMQError.last("zmq_ctx_new") }
    self.handle = handle
    ioThreadCount = ioThreads
    threadNamePrefix = Self.contextsMade.add(1, ordering: .relaxed).newValue % 10_000
    for (option, value, name) in [
      (ZMQ_IO_THREADS, Int32(ioThreads), "ZMQ_IO_THREADS"), (ZMQ_THREAD_NAME_PREFIX, threadNamePrefix, "ZMQ_THREAD_NAME_PREFIX"),
    ] where zmq_ctx_set(handle, option, value) != 0 {
      zmq_ctx_term(handle)
      throw ZMQError.last("zmq_ctx_set(\(name))")
    }
  }

  deinit { terminate() }

  /// Waits until every socket of the context is closed and each has sent what it still
  /// held (up to its linger time), then ends the context; later calls return at once.
  ///
  /// A process that exits without this loses what libzmq's I/O thread had not yet
  /// written, as that thread stops with the process: call it after closing the sockets
  /// and before exiting when the last messages matter (a worker's last replies).
  public func terminate() {
    let first = terminated.withLock { terminated in
      defer { terminated = true }
      return !terminated
    }
    if first { zmq_ctx_term(handle) }
  }

  /// The linked libzmq version as (major, minor, patch).
  public static var libraryVersion: (major: Int, minor: Int, patch: Int) {
    var major: Int32 = 0
    var minor: Int32 = 0
    var patch: Int32 = 0
    zmq_version(&major, &minor, &patch)
    return (Int(major), Int(minor), Int(patch))
  }
}

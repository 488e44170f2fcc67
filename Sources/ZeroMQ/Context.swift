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

  /// Creates a context with the given number of I/O threads.
  public init(ioThreads: Int = 1) throws {
    guard let handle = zmq_ctx_new() else { throw ZMQError.last("zmq_ctx_new") }
    self.handle = handle
    if zmq_ctx_set(handle, ZMQ_IO_THREADS, Int32(ioThreads)) != 0 {
      zmq_ctx_term(handle)
      throw ZMQError.last("zmq_ctx_set(ZMQ_IO_THREADS)")
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

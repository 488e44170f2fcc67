import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Reads a child process's pipe until end of file on a thread of its own.
///
/// Not `FileHandle.readabilityHandler`: on Linux its libdispatch read sources race their
/// own teardown when many child processes come and go, which can crash the whole process
/// in `_dispatch_event_loop_drain` (swift-corelibs-libdispatch issue 949; seen here in the
/// integration tests). A blocking read registers nothing with libdispatch.
public enum PipeReader {
  /// Starts reading `handle`; `deliver` gets each chunk as it arrives, then one last call
  /// with empty data and `final` set. The handle stays open until then.
  public static func start(_ handle: FileHandle, deliver: @escaping @Sendable (_ data: Data, _ final: Bool) -> Void) {
    let thread = Thread {
      var buffer = [UInt8](repeating: 0, count: 65_536)
      while true {
        let count = buffer.withUnsafeMutableBytes { read(handle.fileDescriptor, $0.baseAddress, $0.count) }
        if count > 0 {
          deliver(Data(buffer[..<count]), false)
        } else if count < 0 && errno == EINTR {
          continue
        } else {
          deliver(Data(), true)
          return
        }
      }
    }
    thread.name = "weft-pipe-reader"
    thread.start()
  }
}

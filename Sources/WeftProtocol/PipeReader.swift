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
    Thread.start(named: "weft-pipe-read") {
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
  }
}

extension PipeReader {
  /// Starts reading `handle` line by line: `deliver` gets each whole line without its
  /// newline, however the pipe split it into reads (a last line without a newline comes
  /// at end of file), then `nil` once the pipe is closed.
  public static func startLines(_ handle: FileHandle, deliver: @escaping @Sendable (_ line: String?) -> Void) {
    // Only the reader thread touches the buffer: `start` calls back on that one thread.
    let pending = LineBuffer()
    start(handle) { data, final in
      for line in pending.append(data, final: final) { deliver(line) }
      if final { deliver(nil) }
    }
  }
}

/// Bytes read but not yet ended by a newline.
private final class LineBuffer: @unchecked Sendable {
  // @unchecked: used by one reader thread only (see `startLines`).
  private var bytes: [UInt8] = []

  func append(_ data: Data, final: Bool) -> [String] {
    bytes += data
    var lines: [String] = []
    var start = 0
    while let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) {
      lines.append(String(decoding: bytes[start..<newline], as: UTF8.self))
      start = newline + 1
    }
    bytes.removeFirst(start)
    if final && !bytes.isEmpty {
      lines.append(String(decoding: bytes, as: UTF8.self))
      bytes.removeAll()
    }
    return lines
  }
}

#if canImport(Glibc)
import Glibc
#endif

/// Writes one line to standard output at once, unbuffered, so a supervisor or test
/// reading the pipe sees readiness lines ("gateway listening …") as they happen.
public func announce(_ line: String) {
  let text = line + "\n"
  var bytes = Array(text.utf8)
  var offset = 0
  while offset < bytes.count {
    let written = bytes.withUnsafeMutableBytes { write(1, $0.baseAddress! + offset, $0.count - offset) }
    if written <= 0 { return }
    offset += written
  }
}

/// Writes a line to standard error.
public func complain(_ line: String) {
  let bytes = Array((line + "\n").utf8)
  _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

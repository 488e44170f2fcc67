#if canImport(Glibc)
import Glibc
#endif

/// Microseconds on the monotonic clock: cheap to read and to compare on hot paths,
/// unaffected by wall-clock changes. Only differences between readings mean anything.
public enum MonotonicClock {
  /// Now, in microseconds since an arbitrary start.
  @inline(__always)
  public static func now() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) &* 1_000_000 &+ UInt64(spec.tv_nsec) / 1_000
  }
}

extension Duration {
  /// Whole microseconds, saturating at zero: the unit of ``MonotonicClock``.
  public var microseconds: UInt64 {
    let (seconds, attoseconds) = components
    return UInt64(max(0, seconds)) * 1_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000_000)
  }
}

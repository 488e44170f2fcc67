import CWeftSpawn
import Foundation

/// How much freed memory glibc's allocator keeps for reuse in a long-running `weft` process.
///
/// By default glibc hands the free top of a thread's arena back to the kernel
/// (`madvise(MADV_DONTNEED)`) whenever a free of 64 KiB or more leaves over 128 KiB there.
/// Messages of 64 KiB are allocated by libzmq's I/O thread and freed a moment later, so
/// every such message had its pages faulted in and zeroed again: a sixth of the echo
/// worker's CPU and a tenth of the gateway's at 64 KiB (docs/BENCHMARKS.md, ninth
/// session). Keeping up to ``trimThresholdBytes`` free per arena ends that; the memory
/// stays bounded by it.
public enum HeapRetention {
  /// Free memory at the top of an arena past which glibc returns it to the kernel.
  public static let trimThresholdBytes: Int32 = 16 << 20
  /// Allocations of at least this size get a mapping of their own. Setting the trim
  /// threshold switches off glibc's adaptive mapping threshold, which would otherwise
  /// stay at 128 KiB for good: this is the ceiling glibc itself adapts up to on 64-bit.
  public static let mmapThresholdBytes: Int32 = 32 << 20

  /// Whether `environment` leaves the allocator to Weft: it sets none of glibc's malloc
  /// tunables, which an operator's own choice would be.
  public static func appliesTo(environment: [String: String]) -> Bool {
    if environment["GLIBC_TUNABLES"]?.contains("glibc.malloc.") == true { return false }
    return !environment.keys.contains { $0.hasPrefix("MALLOC_") && $0.hasSuffix("_") }
  }

  /// Sets both thresholds, unless the environment sets glibc's malloc tunables; returns
  /// whether glibc took both.
  @discardableResult
  public static func apply(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
    guard appliesTo(environment: environment) else { return false }
    return weft_malloc_thresholds(mmapThresholdBytes, trimThresholdBytes) == 1
  }
}

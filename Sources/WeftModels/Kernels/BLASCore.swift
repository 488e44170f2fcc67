import COpenBLAS
import CWeftKernels
import Foundation

/// Which kernels OpenBLAS runs, and the fix when it chose badly.
///
/// OpenBLAS built with DYNAMIC_ARCH (Debian's 0.3.21) picks its kernels by CPU model as
/// it loads, and takes a CPU newer than itself (recent Xeons) for a Pentium 4: the generic
/// "Prescott" SSE3 kernels run MiniLM about 3× slower than the AVX-512 ones on the same
/// machine (docs/BENCHMARKS.md). It reads `OPENBLAS_CORETYPE` only as it loads, so the fix
/// is to set it and start the process again, before anything else runs.
public enum BLASCore {
  /// The kernels OpenBLAS runs now, as it names them (`SkylakeX`, `Haswell`, `Prescott`…).
  public static var current: String { String(cString: openblas_get_corename()) }

  /// What OpenBLAS falls back to for a CPU it does not recognise.
  static let fallbacks: Set<String> = ["Prescott", "Katmai", "Coppermine", "Northwood", "Banias", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom"]

  /// The `OPENBLAS_CORETYPE` this process should run with: the best kernels the CPU can
  /// run when OpenBLAS chose a fallback; nil when its choice stands or the variable was set.
  public static func betterCoreType(current: String = current, environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
    guard environment["OPENBLAS_CORETYPE"] == nil, fallbacks.contains(current) else { return nil }
    if weft_cpu_has_avx512_skylake() != 0 { return "SkylakeX" }
    if weft_cpu_has_avx2_fma() != 0 { return "Haswell" }
    return nil
  }

  /// Runs this program again, same arguments and process id, with `OPENBLAS_CORETYPE` set
  /// when ``betterCoreType(current:environment:)`` says so; returns when there is nothing
  /// to do (or the exec failed, and the slow kernels stay).
  public static func restartWithBetterKernelsIfNeeded() {
    guard let coreType = betterCoreType() else { return }
    setenv("OPENBLAS_CORETYPE", coreType, 1)
    execv("/proc/self/exe", CommandLine.unsafeArgv)
  }
}

import Foundation

extension Thread {
  /// Starts `body` on a new thread that the system knows as `name` (cut to the 15 bytes
  /// Linux keeps), as `top -H`, `perf` and `/proc/PID/task/TID/comm` show it.
  /// Foundation's `Thread.name` stays inside Foundation on Linux, and a new thread
  /// inherits its creator's system name: a model's lane helper showed as
  /// `oot.default-qos`, the Swift concurrency pool thread that happened to make it.
  public static func start(named name: String, stackSize: Int? = nil, _ body: @escaping @Sendable () -> Void) {
    let thread = Thread {
      nameCurrentThread(name)
      body()
    }
    thread.name = name
    if let stackSize { thread.stackSize = stackSize }
    thread.start()
  }

  /// Longest thread name the system keeps, in bytes.
  static let systemNameLength = 15

  /// Gives the calling thread the system name `name` (cut to ``systemNameLength`` bytes)
  /// through `/proc/thread-self/comm` (Glibc's `pthread_setname_np` is not visible to
  /// Swift); where that file is missing, the thread keeps the name it had.
  static func nameCurrentThread(_ name: String) {
    let file = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
    guard file >= 0 else { return }
    defer { close(file) }
    let bytes = Array(name.utf8.prefix(systemNameLength))
    _ = bytes.withUnsafeBytes { write(file, $0.baseAddress, $0.count) }
  }
}

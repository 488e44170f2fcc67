import CZeroMQ
import Foundation
import Synchronization

/// How the kernel schedules a context's I/O threads against the process's other threads
/// (Linux; see ``Context/scheduleIOThreads(_:)``).
public enum IOThreadScheduling: Sendable {
  /// The default: an I/O thread woken by a socket's send runs at once, taking the CPU of
  /// the thread that sent.
  case normal
  /// `SCHED_BATCH`: a woken I/O thread does not take the CPU of a running thread; it runs
  /// when that thread sleeps or its time slice ends, or on another CPU that is free. A
  /// thread sending many messages in a row then sends them all before the I/O thread
  /// writes them, instead of handing the CPU back and forth once per message.
  case batch
}

extension Context {
  /// Schedules this context's I/O threads as `scheduling` says. Returns false, changing
  /// none, until all of them are found: libzmq starts them with the context's first
  /// socket, and each names itself soon after; off Linux they are never found.
  /// - Throws: ``ZMQError`` when the kernel refuses (a policy the process may not leave).
  public func scheduleIOThreads(_ scheduling: IOThreadScheduling) throws -> Bool {
    let threads = ioThreadIDs()
    guard !threads.isEmpty else { return false }
    for thread in threads where weft_set_thread_batch_scheduling(thread, scheduling == .batch ? 1 : 0) != 0 {
      throw ZMQError(operation: "sched_setscheduler", code: errno)
    }
    return true
  }

  /// The kernel's ids of this context's I/O threads, found by the name prefix the context
  /// gave them (libzmq names them "<prefix>/ZMQbg/IO/<n>") and kept; empty until all are found.
  private func ioThreadIDs() -> [pid_t] {
    ioThreads.withLock { known in
      if known.isEmpty {
        let found = Self.threads(named: "\(threadNamePrefix)/ZMQbg/IO/")
        if found.count == ioThreadCount { known = found }
      }
      return known
    }
  }

  /// The ids of this process's threads whose name starts with `prefix`.
  private static func threads(named prefix: String) -> [pid_t] {
    let tasks = "/proc/self/task"
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: tasks) else { return [] }
    return entries.compactMap { entry in
      guard let id = pid_t(entry), let name = try? String(contentsOfFile: "\(tasks)/\(entry)/comm", encoding: .utf8),
        name.hasPrefix(prefix)
      else { return nil }
      return id
    }
  }
}

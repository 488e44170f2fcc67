import Foundation
import Synchronization
import Testing

@testable import ZeroMQ

/// A context's I/O threads switched between batch and normal scheduling.
@Suite struct IOThreadSchedulingTests {
  /// `SCHED_BATCH` and `SCHED_OTHER` in <linux/sched.h>.
  static let (batchPolicy, normalPolicy): (Int32, Int32) = (3, 0)

  /// The policy of each of the context's I/O threads, as the kernel reports it.
  private func policies(of context: Context) -> [Int32] {
    context.ioThreads.withLock { $0 }.map { sched_getscheduler($0) }
  }

  /// Schedules `context`'s I/O threads, waiting up to a second for them to name
  /// themselves (each does so as it starts, after the socket that started it returned).
  private func schedule(_ context: Context, _ scheduling: IOThreadScheduling) async throws -> Bool {
    for _ in 0..<100 {
      if try context.scheduleIOThreads(scheduling) { return true }
      try await Task.sleep(for: .milliseconds(10))
    }
    return false
  }

  @Test func switchesTheContextsIOThreadsAndNoOthers() async throws {
    let context = try Context(ioThreads: 2)
    let other = try Context()
    let socket = try Socket(context: context, type: .dealer)
    let otherSocket = try Socket(context: other, type: .dealer)
    defer { socket.close(); otherSocket.close() }
    #expect(try await schedule(context, .batch))
    #expect(policies(of: context) == [Self.batchPolicy, Self.batchPolicy])
    // The other context's thread has a name of its own and keeps its policy.
    #expect(try await schedule(other, .normal))
    #expect(policies(of: other) == [Self.normalPolicy])
    #expect(policies(of: context) == [Self.batchPolicy, Self.batchPolicy])
    #expect(try context.scheduleIOThreads(.normal))
    #expect(policies(of: context) == [Self.normalPolicy, Self.normalPolicy])
  }

  /// libzmq starts a context's I/O threads with its first socket: before, nothing changes.
  @Test func aContextWithoutSocketsHasNoThreadsToSwitch() throws {
    let context = try Context()
    #expect(try !context.scheduleIOThreads(.batch))
    #expect(policies(of: context).isEmpty)
  }
}

import Foundation

/// Runs blocking `body` on a new thread named `name` and waits for it without holding
/// a Swift concurrency thread: how the gateway's and worker's socket loops, which block
/// in `zmq_poll`, are owned by an `async` service.
public func runOnDedicatedThread(
  named name: String, _ body: @escaping @Sendable () throws -> Void
) async throws {
  try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
    Thread.start(named: name) {
      do {
        try body()
        continuation.resume()
      } catch {
        continuation.resume(throwing: error)
      }
    }
  }
}

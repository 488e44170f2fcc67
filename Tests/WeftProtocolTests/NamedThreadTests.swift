import Foundation
import Synchronization
import Testing
import WeftProtocol

@Suite struct NamedThreadTests {
  /// The system knows the thread by its name (as `top -H` and `perf` read it from
  /// `/proc`), cut to 15 bytes; Foundation's `Thread.name` alone leaves the creator's.
  @Test func theSystemKnowsTheThreadByItsName() throws {
    for (name, expected) in [("weft-test", "weft-test"), ("weft-name-longer-than-linux-keeps", "weft-name-longe")] {
      #expect(Self.systemName(ofThreadNamed: name) == expected)
    }
    let unnamed = Self.systemName { body in
      let thread = Thread(block: body)
      thread.name = "weft-foundation"
      thread.start()
    }
    #expect(unnamed != "weft-foundation")
  }

  private static func systemName(ofThreadNamed name: String) -> String? {
    systemName { Thread.start(named: name, $0) }
  }

  /// What `/proc/thread-self/comm` says on a thread `start` starts with the body it is given.
  private static func systemName(startingWith start: (@escaping @Sendable () -> Void) -> Void) -> String? {
    let seen = Mutex<String?>(nil)
    let done = DispatchSemaphore(value: 0)
    start {
      let comm = try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)
      seen.withLock { $0 = comm?.trimmingCharacters(in: .newlines) }
      done.signal()
    }
    guard done.wait(timeout: .now() + 5) == .success else { return nil }
    return seen.withLock { $0 }
  }
}

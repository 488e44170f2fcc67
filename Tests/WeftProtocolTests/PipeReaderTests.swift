import Foundation
import Synchronization
import Testing
import WeftProtocol

@Suite struct PipeReaderTests {
  /// A readiness line split over several writes is delivered whole, once.
  @Test func linesArriveWholeHoweverThePipeSplitsThem() async throws {
    let pipe = Pipe()
    let received = Mutex<[String]>([])
    let closed = Mutex(false)
    PipeReader.startLines(pipe.fileHandleForReading) { line in
      if let line { received.withLock { $0.append(line) } } else { closed.withLock { $0 = true } }
    }
    let writer = pipe.fileHandleForWriting
    for piece in ["gateway listening front", "end=tcp://a:1 backend=tcp://b:2\nworker re", "ady name=w\n\nlast without newline"] {
      try writer.write(contentsOf: Data(piece.utf8))
      try await Task.sleep(for: .milliseconds(5))  // separate reads on the other side
    }
    try writer.close()
    let deadline = ContinuousClock.now + .seconds(5)
    while !closed.withLock({ $0 }) && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
    #expect(closed.withLock { $0 })
    #expect(
      received.withLock { $0 }
        == ["gateway listening frontend=tcp://a:1 backend=tcp://b:2", "worker ready name=w", "", "last without newline"])
  }
}

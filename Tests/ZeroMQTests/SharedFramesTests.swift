import Foundation
import Synchronization
import Testing

@testable import ZeroMQ

/// Large frames become `Data` and `Data` becomes frames without copying: the bytes stay
/// right and alive for as long as either side needs them.
@Suite struct SharedFramesTests {
  /// A distinct byte pattern of `count` bytes.
  static func pattern(_ count: Int, seed: UInt8) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31) ^ seed } }

  @Test(arguments: [Frames.sharedBytes - 1, Frames.sharedBytes, 65_536, 1 << 20])
  func aReceivedFrameAsDataOutlivesTheFrames(size: Int) throws {
    let context = try Context()
    let (sender, receiver) = try Self.pair(context, name: "outlives-\(size)")
    let sent = Self.pattern(size, seed: 0x5a)
    try sender.send(sent, more: false)
    let frames = Frames()
    try receiver.receive(into: frames)
    let data = frames.data(at: 0)
    // The frame slot is reused by the next receive; the Data keeps what it had.
    try sender.send(Self.pattern(size, seed: 0xa5), more: false)
    try receiver.receive(into: frames)
    frames.removeAll()
    #expect(data.count == size)
    #expect(data.elementsEqual(sent))
    // A write to a copy of the Data does not reach the other.
    var changed = data
    changed[0] ^= 0xff
    #expect(data.elementsEqual(sent) && changed[0] != data[0])
  }

  @Test(arguments: [Frames.sharedBytes - 1, Frames.sharedBytes, 65_536, 1 << 20])
  func dataSentAsAFrameArrivesWholeAndIsReleasedOnceSent(size: Int) throws {
    let context = try Context()
    let (sender, receiver) = try Self.pair(context, name: "sent-\(size)")
    var data: Data? = Data(Self.pattern(size, seed: 0x33))
    let expected = Self.pattern(size, seed: 0x33)
    let outgoing = Frames()
    outgoing.append(data!)
    // The Data may change or go right after it was appended: the frame holds its own copy of it.
    data![0] ^= 0xff
    data = nil
    try sender.send(outgoing)
    let frames = Frames()
    try receiver.receive(into: frames)
    #expect(frames.size(at: 0) == size)
    #expect(frames[0].elementsEqual(expected))
  }

  @Test func aSharedFrameIsFreedWhenSent() throws {
    let context = try Context()
    let (sender, receiver) = try Self.pair(context, name: "freed")
    let freed = Flag()
    do {
      let bytes = UnsafeMutableRawPointer.allocate(byteCount: 65_536, alignment: 16)
      bytes.initializeMemory(as: UInt8.self, repeating: 9, count: 65_536)
      let outgoing = Frames()
      outgoing.append(Data(bytesNoCopy: bytes, count: 65_536, deallocator: .custom { pointer, _ in
        pointer.deallocate()
        freed.set()
      }))
      #expect(!freed.isSet, "the frame must keep the Data's bytes")
      try sender.send(outgoing)
    }
    let frames = Frames()
    try receiver.receive(into: frames)
    #expect(frames.size(at: 0) == 65_536 && frames[0].allSatisfy { $0 == 9 })
    #expect(!freed.isSet, "the received frame still holds the bytes")
    // Released by libzmq's free callback once the last frame holding them is closed: within 5 s.
    frames.removeAll()
    let deadline = ContinuousClock.now + .seconds(5)
    while !freed.isSet && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.001) }
    #expect(freed.isSet, "the Data's bytes are still held after its frame was delivered and closed")
  }

  /// A flag set from any thread.
  final class Flag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
  }

  static func pair(_ context: Context, name: String) throws -> (Socket, Socket) {
    let receiver = try Socket(context: context, type: .pair)
    try receiver.bind("inproc://shared-\(name)")
    let sender = try Socket(context: context, type: .pair)
    try sender.connect("inproc://shared-\(name)")
    return (sender, receiver)
  }
}

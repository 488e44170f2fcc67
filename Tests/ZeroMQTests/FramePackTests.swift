import Testing
import ZeroMQ

@Suite struct FramePackTests {
  /// Each message as arrays of bytes, read back from `pack` in place.
  private func unpack(_ pack: [UInt8]) -> [[[UInt8]]] {
    var messages: [[[UInt8]]] = []
    pack.withUnsafeBytes { pack in
      FramePack.forEachMessage(in: pack) { message in
        let frames = message.map { Array($0) }
        #expect(frames.count == message.count)
        messages.append(frames)
      }
    }
    return messages
  }

  private func validate(_ pack: [UInt8], maxFrames: Int = 8) throws -> Int {
    try pack.withUnsafeBytes { try FramePack.validate($0, maxFrames: maxFrames) }
  }

  @Test func messagesComeBackWholeAndInOrder() throws {
    let messages: [[[UInt8]]] = [[[1, 2, 3], [4]], [[]], [Array(repeating: 7, count: 300), [], [9, 9]]]
    var pack = FramePack()
    for message in messages {
      let frames = Frames()
      for frame in message { frames.append(frame) }
      pack.append(frames, range: 0..<frames.count)
    }
    #expect(pack.messageCount == 3)
    // Per message a count, per frame a length: 4 bytes each, little-endian.
    #expect(Array(pack.bytes.prefix(12)) == [2, 0, 0, 0, 3, 0, 0, 0, 1, 2, 3, 1])
    #expect(try validate(pack.bytes) == 3)
    #expect(unpack(pack.bytes) == messages)

    pack.removeAll()
    #expect(pack.isEmpty && pack.bytes.isEmpty)
    #expect(try validate([]) == 0)
  }

  @Test func bytesPackedDirectlyReadTheSameAsFramesPacked() throws {
    let frames = Frames()
    frames.append([1, 2, 3, 4])
    frames.append([9])
    var fromFrames = FramePack()
    fromFrames.append(frames, range: 0..<2)

    var direct = FramePack()
    direct.startMessage(frameCount: 2)
    [UInt8]([1, 2]).withUnsafeBytes { first in
      [UInt8]([3, 4]).withUnsafeBytes { direct.appendFrame(first, followedBy: $0) }
    }
    [UInt8]([9]).withUnsafeBytes { direct.appendFrame($0) }
    #expect(direct.bytes == fromFrames.bytes && direct.messageCount == 1)
    #expect(unpack(direct.bytes) == [[[1, 2, 3, 4], [9]]])
    var fromBytes = FramePack()
    fromBytes.append(message: [[1, 2, 3, 4], [9]] as [[UInt8]])
    #expect(fromBytes.bytes == fromFrames.bytes && fromBytes.messageCount == 1)
  }

  @Test func aPartOfAFrameTakesOnlyItsRange() throws {
    let frames = Frames()
    for frame: [UInt8] in [[0], [1], [2], [3]] { frames.append(frame) }
    var pack = FramePack()
    pack.append(frames, range: 1..<3)
    #expect(unpack(pack.bytes) == [[[1], [2]]])
  }

  @Test func malformedPacksAreRefusedBeforeAnyMessageIsRead() throws {
    let frames = Frames()
    frames.append([5, 6])
    var pack = FramePack()
    pack.append(frames, range: 0..<1)
    let good = pack.bytes  // [1 frame][2 bytes][5, 6]
    #expect(try validate(good) == 1)

    #expect(throws: FramePack.Malformed.truncated(offset: 4)) { try validate(Array(good.dropLast())) }
    #expect(throws: FramePack.Malformed.truncated(offset: 10)) { try validate(good + [1, 0]) }
    #expect(throws: FramePack.Malformed.frameCount(message: 0, count: 0)) { try validate([0, 0, 0, 0]) }
    #expect(throws: FramePack.Malformed.frameCount(message: 1, count: 9)) { try validate(good + [9, 0, 0, 0]) }
    // A length near 2³² must not wrap the bounds check.
    #expect(throws: FramePack.Malformed.truncated(offset: 4)) { try validate([1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]) }
  }
}

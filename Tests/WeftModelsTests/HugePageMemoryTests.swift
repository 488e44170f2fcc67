import Foundation
import Glibc
import Testing

@testable import WeftModels

/// Memory for weights and activations: on 2 MiB boundaries, zeroed, backed by huge pages
/// where the system allows them; an arena's copies keep their values and their own lines.
struct HugePageMemoryTests {
  @Test func memoryIsZeroedWholeHugePagesOnAHugePageBoundary() {
    let memory = HugePageMemory(byteCount: 3 << 20)
    #expect(Int(bitPattern: memory.start) % HugePageMemory.hugePageSize == 0)
    #expect(memory.byteCount == 4 << 20)
    let floats = memory.floats(at: 0, count: memory.byteCount / 4)
    #expect((0..<memory.byteCount / 4).allSatisfy { floats[$0] == 0 })
    floats[memory.byteCount / 4 - 1] = 1
    #expect(floats[memory.byteCount / 4 - 1] == 1)
  }

  /// Where transparent huge pages are on (`madvise` or `always`), the touched memory is
  /// backed by them, which memory mapped the usual way with the same size and alignment,
  /// refused them by `MADV_NOHUGEPAGE`, is not: the advice is what makes the difference.
  @Test(.enabled(if: Self.hugePagesOffered, "transparent huge pages are off on this system"))
  func touchedMemoryIsBackedByHugePages() throws {
    let memory = HugePageMemory(byteCount: 4 << 20)
    memset(memory.start, 1, memory.byteCount)
    #expect(try Self.hugePageBytes(at: memory.start) > 0)

    let plain = HugePageMemory(byteCount: 4 << 20)
    _ = madvise(plain.start, plain.byteCount, MADV_NOHUGEPAGE)
    memset(plain.start, 1, plain.byteCount)
    #expect(try Self.hugePageBytes(at: plain.start) == 0)
  }

  @Test func arenaCopiesKeepTheirValuesOnTheirOwnCacheLines() {
    let arena = WeightArena()
    let parts: [[Float]] = [[1, 2, 3], Array(repeating: 4, count: 1_000), [5], (0..<17).map(Float.init)]
    let copies = parts.map { arena.copy($0) }
    for (part, copy) in zip(parts, copies) {
      #expect(Int(bitPattern: copy.pointer) % 64 == 0)
      #expect(Array(UnsafeBufferPointer(start: copy.pointer, count: copy.count)) == part)
    }
    #expect(arena.mappedBytes == WeightArena.regionBytes)
  }

  /// A copy larger than what is left of a region (or than a region) gets a new one.
  @Test func aCopyLargerThanTheRegionLeftStartsANewOne() {
    let arena = WeightArena()
    let small = arena.copy([Float](repeating: 1, count: 16))
    let large = arena.copy([Float](repeating: 2, count: WeightArena.regionBytes / 4))
    #expect(arena.mappedBytes == WeightArena.regionBytes * 2)
    #expect(small.pointer[15] == 1 && large.pointer[0] == 2 && large.pointer[large.count - 1] == 2)
  }

  static var hugePagesOffered: Bool {
    let setting = try? String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/enabled", encoding: .utf8)
    return setting?.contains("[never]") == false
  }

  /// `AnonHugePages` of the mapping holding `address`, in kB, from `/proc/self/smaps`.
  private static func hugePageBytes(at address: UnsafeMutableRawPointer) throws -> Int {
    let target = UInt(bitPattern: Int(bitPattern: address))
    var inside = false
    // Read to the end: procfs files report no size, and smaps runs to hundreds of kB.
    let smaps = try #require(FileHandle(forReadingAtPath: "/proc/self/smaps")).readToEnd() ?? Data()
    for line in String(decoding: smaps, as: UTF8.self).split(separator: "\n") {
      let fields = line.split(separator: " ", omittingEmptySubsequences: true)
      if let range = fields.first, range.contains("-"), !range.hasSuffix(":") {
        let bounds = range.split(separator: "-").compactMap { UInt($0, radix: 16) }
        inside = bounds.count == 2 && bounds[0] <= target && target < bounds[1]
      } else if inside, fields.first == "AnonHugePages:", fields.count >= 2, let kilobytes = Int(fields[1]) {
        return kilobytes
      }
    }
    Issue.record("no mapping holds \(address) in /proc/self/smaps")
    return 0
  }
}

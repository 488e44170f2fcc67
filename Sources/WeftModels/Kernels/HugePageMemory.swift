import Glibc
import Synchronization

/// Zero-filled memory in a mapping of its own, aligned to 2 MiB and offered to the
/// kernel's transparent huge pages (`madvise(MADV_HUGEPAGE)`), for what the model kernels
/// stream on every call: weights and a batch's activations. With 4 KiB pages each page of
/// a 42 MB weight stream is a TLB miss, which under a hypervisor is a two-level page walk;
/// on this VM a stream of the text pass's products ran 7–8% faster on 2 MiB pages
/// (docs/BENCHMARKS.md, twenty-first session). Where the system gives no huge pages
/// (`/sys/kernel/mm/transparent_hugepage/enabled` is `never`) it is ordinary memory.
final class HugePageMemory: @unchecked Sendable {
  // @unchecked: the mapping is fixed for the object's life; what is written into it is
  // the owner's to order (weights before any reader, activations lane by lane).
  static let hugePageSize = 2 << 20

  /// The first byte, on a 2 MiB boundary.
  let start: UnsafeMutableRawPointer
  /// Usable bytes from `start`: the size asked for, rounded up to whole huge pages.
  let byteCount: Int
  private let mapping: UnsafeMutableRawPointer
  private let mappedBytes: Int

  /// Maps at least `byteCount` bytes. Running out of address space stops the process, as
  /// any allocation would.
  init(byteCount: Int) {
    let page = Self.hugePageSize
    self.byteCount = max(1, (byteCount + page - 1) / page) * page
    // One extra huge page so a 2 MiB boundary falls inside the mapping.
    mappedBytes = self.byteCount + page
    guard let mapped = mmap(nil, mappedBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
      mapped != MAP_FAILED
    else { fatalError("HugePageMemory: mmap of \(mappedBytes) bytes failed (errno \(errno))") }
    mapping = mapped
    start = mapped.advanced(by: (page - Int(bitPattern: mapped) % page) % page)
    // Advice only: a kernel without transparent huge pages refuses it and keeps 4 KiB pages.
    _ = madvise(start, self.byteCount, MADV_HUGEPAGE)
  }

  /// `bytes` rounded up to whole cache lines, so what is laid after them starts on one.
  static func cacheLineRounded(_ bytes: Int) -> Int { (bytes + 63) / 64 * 64 }

  /// `count` floats from byte `offset`.
  func floats(at offset: Int, count: Int) -> UnsafeMutablePointer<Float> {
    precondition(offset >= 0 && offset + count * MemoryLayout<Float>.stride <= byteCount, "outside the mapping")
    return (start + offset).bindMemory(to: Float.self, capacity: count)
  }

  deinit { munmap(mapping, mappedBytes) }
}

/// A model's read-only weights, copied one after another into ``HugePageMemory`` regions,
/// each copy on a cache-line boundary. Pointers it hands out live as long as the arena.
final class WeightArena: Sendable {
  /// Bytes mapped at a time: address space only, since pages are backed when first
  /// written, so the unused tail of a region costs at most the huge page it ends in.
  static let regionBytes = 32 << 20

  /// Floats copied into an arena.
  struct Floats: Sendable {
    /// Where they start.
    var pointer: UnsafePointer<Float> { start.pointer }
    /// How many.
    let count: Int
    private let start: SendableReadPointer

    fileprivate init(_ pointer: UnsafePointer<Float>, count: Int) { (start, self.count) = (SendableReadPointer(pointer), count) }
  }

  private struct Cursor: ~Copyable {
    var regions: [HugePageMemory] = []
    var used = 0
  }

  private let cursor = Mutex(Cursor())

  init() {}

  /// A copy of `values` in the arena.
  func copy(_ values: some Collection<Float>) -> Floats {
    let bytes = values.count * MemoryLayout<Float>.stride
    let target = cursor.withLock { cursor in
      cursor.used = HugePageMemory.cacheLineRounded(cursor.used)
      if cursor.regions.isEmpty || cursor.used + bytes > cursor.regions.last!.byteCount {
        cursor.regions.append(HugePageMemory(byteCount: max(Self.regionBytes, bytes)))
        cursor.used = 0
      }
      defer { cursor.used += bytes }
      return cursor.regions.last!.floats(at: cursor.used, count: values.count)
    }
    _ = UnsafeMutableBufferPointer(start: target, count: values.count).initialize(from: values)
    return Floats(target, count: values.count)
  }

  /// Bytes mapped so far (whole regions).
  var mappedBytes: Int { cursor.withLock { $0.regions.reduce(0) { $0 + $1.byteCount } } }
}

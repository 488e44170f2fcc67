import Foundation
import WeftProtocol
import ZeroMQ

/// Drives one brokered echo path from a bare DEALER: the same frames and the same loop
/// for every target, so differences come from the path, not the client.
///
/// A packing generator sends the requests it has ready at once as one packed message
/// (`WFP`: a ``FramePack`` of [header, body…] messages), as a Weft client with several
/// calls to send does, and reads packed replies; a lone request still goes as it is.
final class LoadGenerator {
  private let socket: Socket
  private let frames: [[UInt8]]
  private let received = Frames(capacity: 8)
  private var poller = Poller()
  private let socketIndex: Int
  /// Replies whose header said something other than OK (Weft targets only).
  private(set) var failedReplies = 0
  private let checksWeftStatus: Bool
  /// Stand-ins for frame 1 (the header), taken in turn, e.g. one per user id.
  private let headerVariants: [[UInt8]]
  private var sentCount = 0
  /// Whether requests sent together go packed.
  private let packs: Bool
  private var pack = FramePack()

  init(
    context: Context, endpoint: String, frames: [[UInt8]], checksWeftStatus: Bool, headerVariants: [[UInt8]] = [],
    curve: CurveClientCredentials? = nil, packs: Bool = false
  ) throws {
    precondition(!packs || headerVariants.isEmpty, "a packing generator sends one header")
    self.packs = packs
    socket = try Socket(context: context, type: .dealer)
    if let curve { try socket.makeCurveClient(curve) }
    try socket.connect(endpoint)
    try socket.setSendHighWaterMark(0)
    try socket.setReceiveHighWaterMark(0)
    self.frames = frames
    self.checksWeftStatus = checksWeftStatus
    self.headerVariants = headerVariants
    socketIndex = try poller.add(socket)
  }

  /// Round-trip times in microseconds, one request in flight at a time, sorted.
  func roundTrips(_ count: Int) throws -> [Double] {
    var samples: [Double] = []
    samples.reserveCapacity(count)
    for _ in 0..<count {
      let start = MonotonicClock.now()
      try send()
      try receiveOne()
      samples.append(Double(MonotonicClock.now() - start))
    }
    return samples.sorted()
  }

  /// Messages per second with `inFlight` requests outstanding, over `total` requests.
  func throughput(total: Int, inFlight: Int) throws -> Double {
    let start = MonotonicClock.now()
    var sent = 0
    var done = 0
    if packs {
      sent = try sendPacked(min(inFlight, total))
    } else {
      while sent < min(inFlight, total) {
        try send()
        sent += 1
      }
    }
    while done < total {
      try poller.wait(timeoutMilliseconds: 10_000)
      guard poller.isReadable(socketIndex) else { throw BenchError("no reply for 10 s (\(done) of \(total) done)") }
      var answered = 0
      while try socket.receive(into: received, wait: false) {
        let replies = checkReplies()
        done += replies
        if packs {
          answered += replies
        } else if sent < total {
          try send()
          sent += 1
        }
      }
      // Every request answered in this wake-up is replaced, together.
      if answered > 0 && sent < total { sent += try sendPacked(min(answered, total - sent)) }
    }
    return Double(total) / (Double(MonotonicClock.now() - start) / 1e6)
  }

  /// Sends `count` requests: one as it is, more packed (``FramePack/fullBytes`` a pack at most).
  private func sendPacked(_ count: Int) throws -> Int {
    guard count > 1 else {
      if count == 1 { try send() }
      return count
    }
    for index in 0..<count {
      pack.append(message: frames.dropFirst())
      if pack.isFull || index == count - 1 {
        try socket.send(Signature.clientPacked, more: true)
        try socket.send(pack.bytes, more: false)
        pack.removeAll()
      }
    }
    sentCount &+= count
    return count
  }

  private func send() throws {
    for (index, frame) in frames.enumerated() {
      let bytes = index == 1 && !headerVariants.isEmpty ? headerVariants[sentCount % headerVariants.count] : frame
      try socket.send(bytes, more: index < frames.count - 1)
    }
    sentCount &+= 1
  }

  private func receiveOne() throws {
    try poller.wait(timeoutMilliseconds: 10_000)
    guard poller.isReadable(socketIndex), try socket.receive(into: received, wait: false) else {
      throw BenchError("no reply within 10 s")
    }
    _ = checkReplies()
  }

  /// Counts the replies in the message received (a pack holds several), and those whose
  /// header says other than OK.
  private func checkReplies() -> Int {
    if received.count == 2 && Signature.check(received[0], expected: Signature.clientPacked) == .valid {
      var replies = 0
      FramePack.forEachMessage(in: received[1]) { message in
        replies += 1
        var frames = message.makeIterator()
        if checksWeftStatus, let header = frames.next(), ProtobufScan.varintField(2, in: header) ?? 0 != 0 { failedReplies += 1 }
      }
      return replies
    }
    if checksWeftStatus && (received.count < 2 || ProtobufScan.varintField(2, in: received[1]) ?? 0 != 0) { failedReplies += 1 }
    return 1
  }
}

struct BenchError: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}

/// CPU time (user + system) a process has used, in microseconds, from /proc.
func cpuMicroseconds(pid: Int32) -> Double? {
  guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
    let close = stat.lastIndex(of: ")")
  else { return nil }
  // Fields after the command name start at field 3; utime and stime are fields 14 and 15.
  let fields = stat[stat.index(after: close)...].split(separator: " ")
  guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
  return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK))) * 1e6
}

/// Context switches (voluntary and not) of all of a process's threads, from /proc: how
/// often its threads slept and were woken, which costs more than most of the work per
/// small message on a VM.
func contextSwitches(pid: Int32) -> Double? {
  guard let threads = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { return nil }
  var total = 0
  for thread in threads {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/task/\(thread)/status", encoding: .utf8) else { continue }
    for line in status.split(separator: "\n") where line.contains("ctxt_switches:") {
      total += Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) ?? 0
    }
  }
  return Double(total)
}

/// The machine's CPU time so far, idle and in all, in clock ticks, from the first line
/// of /proc/stat; the difference of two readings gives the idle share in between.
struct MachineTicks {
  let idle: Double
  /// Time the hypervisor ran something else while a vCPU had work (0 on bare metal).
  let steal: Double
  let total: Double

  init() {
    let line = (try? String(contentsOfFile: "/proc/stat", encoding: .utf8))?.split(separator: "\n").first ?? ""
    // cpu  user nice system idle iowait irq softirq steal guest guest_nice: idle and iowait
    // are idle; guest time is counted in user time already.
    let ticks = line.split(separator: " ").dropFirst().prefix(8).compactMap { Double($0) }
    idle = ticks.count > 4 ? ticks[3] + ticks[4] : 0
    steal = ticks.count > 7 ? ticks[7] : 0
    total = ticks.reduce(0, +)
  }

  /// The share of the machine's CPU time that was idle since `before` (0 if none passed).
  func idleShare(since before: MachineTicks) -> Double {
    total > before.total ? (idle - before.idle) / (total - before.total) : 0
  }

  /// The share of the machine's CPU time the host took since `before` (0 if none passed):
  /// a run with some is slower for reasons outside it.
  func stealShare(since before: MachineTicks) -> Double {
    total > before.total ? (steal - before.steal) / (total - before.total) : 0
  }
}

/// A process's CPU time (µs) and context switches so far, all threads (0 for one that is
/// gone); the difference of two readings is what it used in between.
struct ProcessUsage {
  let cpuMicroseconds: Double
  let contextSwitches: Double

  init(pid: Int32) {
    self.init(cpuMicroseconds: weft_bench.cpuMicroseconds(pid: pid) ?? 0, contextSwitches: weft_bench.contextSwitches(pid: pid) ?? 0)
  }

  private init(cpuMicroseconds: Double, contextSwitches: Double) {
    self.cpuMicroseconds = cpuMicroseconds
    self.contextSwitches = contextSwitches
  }

  static func - (after: ProcessUsage, before: ProcessUsage) -> ProcessUsage {
    ProcessUsage(cpuMicroseconds: after.cpuMicroseconds - before.cpuMicroseconds, contextSwitches: after.contextSwitches - before.contextSwitches)
  }
}

import Foundation
import Synchronization
import WeftProtocol

#if canImport(Glibc)
import Glibc
#endif

/// A closed-loop HTTP/1.1 load: `inFlight` keep-alive connections, each on its own thread,
/// each sending the next POST as soon as the previous answer is in. Hand-written on
/// sockets so the generator costs the same for every server and little CPU.
struct HTTPLoad {
  let host: String
  let port: UInt16
  let path: String
  /// Request bodies, taken in turn.
  let bodies: [[UInt8]]
  var headers: [String: String] = ["Content-Type": "application/json"]

  /// What one run measured.
  struct Outcome {
    /// Completed requests per second.
    let throughput: Double
    /// Latencies of the requests, microseconds, sorted.
    let latencies: [Double]
    /// Answers that were not 200.
    let failures: Int
  }

  /// Runs `inFlight` connections for `warmUp`, then measures for `duration`.
  func run(inFlight: Int, warmUp: Duration, duration: Duration) throws -> Outcome {
    let connections = try (0..<inFlight).map { _ in try Connection(host: host, port: port) }
    let start = MonotonicClock.now()
    let measureFrom = start + UInt64(warmUp / .microseconds(1))
    let stopAt = measureFrom + UInt64(duration / .microseconds(1))
    let results = Mutex<(latencies: [Double], failures: Int, error: String?)>(([], 0, nil))
    let requests = bodies.map { body in requestBytes(body) }
    let finished = DispatchGroup()
    for (index, connection) in connections.enumerated() {
      finished.enter()
      Thread.start(named: "bench-http-\(index)") {
        var latencies: [Double] = []
        var failures = 0
        var turn = index
        do {
          while true {
            let sentAt = MonotonicClock.now()
            if sentAt >= stopAt { break }
            let status = try connection.exchange(requests[turn % requests.count])
            let done = MonotonicClock.now()
            turn += inFlight
            guard sentAt >= measureFrom else { continue }
            latencies.append(Double(done - sentAt))
            if status != 200 { failures += 1 }
          }
        } catch {
          results.withLock { $0.error = "\(error)" }
        }
        connection.close()
        results.withLock {
          $0.latencies += latencies
          $0.failures += failures
        }
        finished.leave()
      }
    }
    finished.wait()
    let (latencies, failures, error) = results.withLock { ($0.latencies, $0.failures, $0.error) }
    if let error { throw BenchError("HTTP load on \(host):\(port)\(path): \(error)") }
    return Outcome(throughput: Double(latencies.count) / (Double(duration / .microseconds(1)) / 1e6), latencies: latencies.sorted(), failures: failures)
  }

  func requestBytes(_ body: [UInt8]) -> [UInt8] {
    var head = "POST \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nContent-Length: \(body.count)\r\n"
    for (name, value) in headers.sorted(by: { $0.key < $1.key }) { head += "\(name): \(value)\r\n" }
    return Array((head + "\r\n").utf8) + body
  }
}

/// One keep-alive HTTP/1.1 connection with blocking reads: a request out, its whole
/// answer (a Content-Length or chunked body) in.
final class Connection: @unchecked Sendable {
  private let descriptor: Int32
  private var buffer = [UInt8](repeating: 0, count: 1 << 16)
  /// Bytes read past the previous answer.
  private var pending: [UInt8] = []

  init(host: String, port: UInt16) throws {
    descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw BenchError("socket: errno \(errno)") }
    var noDelay: Int32 = 1
    setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
    var timeout = timeval(tv_sec: 30, tv_usec: 0)
    setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr(host)
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else {
      Glibc.close(descriptor)
      throw BenchError("connect to \(host):\(port): errno \(errno)")
    }
  }

  func close() { Glibc.close(descriptor) }

  /// Sends `request` and reads its answer; returns the status code.
  func exchange(_ request: [UInt8]) throws -> Int {
    var sent = 0
    while sent < request.count {
      let count = request[sent...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
      guard count > 0 else { throw BenchError("send: errno \(errno)") }
      sent += count
    }
    var data = pending
    var headEnd: Int?
    while headEnd == nil {
      headEnd = Self.find([13, 10, 13, 10], in: data)
      if headEnd == nil { try readMore(into: &data) }
    }
    let head = String(decoding: data[..<headEnd!], as: UTF8.self)
    let lines = head.split(separator: "\r\n")
    guard let statusLine = lines.first, let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") else {
      throw BenchError("not an HTTP answer: \(head.prefix(80))")
    }
    let fields = Dictionary(
      lines.dropFirst().compactMap { line -> (String, String)? in
        let parts = line.split(separator: ":", maxSplits: 1)
        return parts.count == 2 ? (parts[0].lowercased(), parts[1].trimmingCharacters(in: .whitespaces)) : nil
      }, uniquingKeysWith: { $1 })
    var offset = headEnd! + 4
    if let length = fields["content-length"].flatMap(Int.init) {
      offset += length
      while data.count < offset { try readMore(into: &data) }
    } else if fields["transfer-encoding"]?.lowercased() == "chunked" {
      // Each chunk: its size in hex, CRLF, the bytes, CRLF; a chunk of size 0 ends the body.
      while true {
        var lineEnd = Self.find([13, 10], in: data, from: offset)
        while lineEnd == nil {
          try readMore(into: &data)
          lineEnd = Self.find([13, 10], in: data, from: offset)
        }
        let sizeText = String(decoding: data[offset..<lineEnd!], as: UTF8.self).split(separator: ";").first ?? ""
        guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { throw BenchError("a bad chunk size '\(sizeText)'") }
        offset = lineEnd! + 2 + size + 2
        while data.count < offset { try readMore(into: &data) }
        if size == 0 { break }
      }
    } else {
      throw BenchError("an answer with neither Content-Length nor chunked encoding: \(head.prefix(200))")
    }
    pending = Array(data[offset...])
    return status
  }

  private func readMore(into data: inout [UInt8]) throws {
    let count = recv(descriptor, &buffer, buffer.count, 0)
    guard count > 0 else { throw BenchError(count == 0 ? "the server closed the connection" : "recv: errno \(errno)") }
    data += buffer[..<count]
  }

  private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int = 0) -> Int? {
    guard haystack.count - start >= needle.count else { return nil }
    for index in start...(haystack.count - needle.count) where haystack[index] == needle[0] && Array(haystack[index..<index + needle.count]) == needle {
      return index
    }
    return nil
  }
}

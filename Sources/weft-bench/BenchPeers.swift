import ArgumentParser
import WeftProcess
import ZeroMQ

/// `weft-bench bench-proxy`: libzmq's own `zmq_proxy` between a ROUTER and a DEALER; the C
/// baseline for one brokered hop. Runs until killed.
struct BenchProxy: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench-proxy", abstract: "Run zmq_proxy (benchmark baseline).", shouldDisplay: false)

  @Option var frontend = "tcp://127.0.0.1:*"
  @Option var backend = "tcp://127.0.0.1:*"

  func run() throws {
    exitWithParentIfSupervised()
    let context = try Context()
    let front = try Socket(context: context, type: .router)
    let back = try Socket(context: context, type: .dealer)
    // No HWM drops: the benchmark bounds what is in flight itself.
    for socket in [front, back] {
      try socket.setSendHighWaterMark(0)
      try socket.setReceiveHighWaterMark(0)
    }
    try front.bind(frontend)
    try back.bind(backend)
    announce("proxy listening frontend=\(try front.lastEndpoint()) backend=\(try back.lastEndpoint())")
    try runProxy(frontend: front, backend: back)
  }
}

/// `weft-bench bench-echo-peer`: sends every message it gets straight back, moving frames
/// without copying; the worker behind `zmq_proxy` in the benchmark.
struct BenchEchoPeer: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench-echo-peer", abstract: "Echo messages back (benchmark peer).", shouldDisplay: false)

  @Option var connect: String

  func run() throws {
    exitWithParentIfSupervised()
    let context = try Context()
    let socket = try Socket(context: context, type: .dealer)
    try socket.setSendHighWaterMark(0)
    try socket.setReceiveHighWaterMark(0)
    try socket.connect(connect)
    announce("echo-peer connected=\(connect)")
    let frames = Frames(capacity: 8)
    while true {
      try socket.receive(into: frames)
      try socket.send(frames)
    }
  }
}

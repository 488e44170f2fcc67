import ArgumentParser

struct Bench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Benchmark.")
  func run() async throws {}
}
struct BenchProxy: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "bench-proxy", shouldDisplay: false)
}
struct BenchEchoPeer: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "bench-echo-peer", shouldDisplay: false)
}

import ArgumentParser
import WeftModels
import WeftProcess

/// `weft-bench`: benchmarks that print figures and ratios against a baseline measured in
/// the same run. A separate executable, so the `weft` binary ships no benchmark code; it
/// starts the gateways and workers it measures from the `weft` binary beside it.
@main
struct WeftBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "weft-bench",
    abstract: "Benchmarks: the gateway against zmq_proxy (mesh, the default), version routing against none (routing), the text, vision and speech models against their references, the client libraries (clients), the recommender (recommender), scaling across hosts and failover between gateways (hosts), the few-rows kernel against sgemm (kernels).",
    subcommands: [
      MeshBench.self, RoutingBench.self, TextBench.self, VisionBench.self, SpeechBench.self, LiveSpeechBench.self, ClientBench.self,
      RecommenderBench.self, ServingBench.self, HostsBench.self, KernelsBench.self, BenchProxy.self, BenchEchoPeer.self,
    ],
    defaultSubcommand: MeshBench.self)

  static func main() async {
    // Before anything else: OpenBLAS may have taken this CPU for an old one (BLASCore).
    BLASCore.restartWithBetterKernelsIfNeeded()
    await mainIgnoringBrokenPipes()
  }
}

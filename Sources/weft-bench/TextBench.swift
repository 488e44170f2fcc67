import ArgumentParser
import Foundation
import SwiftProtobuf
import WeftClient
import WeftModels
import WeftProtocol

/// `weft-bench text`: the Swift MiniLM encoder against sentence-transformers (PyTorch),
/// and text serving through the mesh with batching on and off, in one run.
struct TextBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "text",
    abstract: "Embeddings/s and latency of the text model against PyTorch, and mesh throughput with and without batching.",
    discussion: """
      PyTorch runs as a subprocess of the given Python (it needs sentence-transformers and \
      torch installed, e.g. in a virtual environment); without it, only Weft's figures are \
      printed. Both sides use the same number of threads and the same texts, and both \
      times include tokenisation.
      """)

  @OptionGroup var baseline: ModelBenchOptions
  @Option(help: "Requests sent through the mesh per batching setting.")
  var requests = 512
  @Flag(help: "Only the model at batch 1, short texts, and no mesh: for profiling the small-batch path (--only \"batch 1, short\").")
  var smallBatchOnly = false
  @Option(help: "Only the model configurations whose name contains this (e.g. \"128 pieces\"), and no mesh: for profiling.")
  var only: String?
  private var configurationFilter: String? { smallBatchOnly ? "batch 1, short" : only }

  private var modelDirectory: String { baseline.modelsDirectory + "/minilm-l6-v2" }
  private var rounds: Int { baseline.rounds }
  private var threads: Int { baseline.threads }

  func run() async throws {
    let tokenizer = try WordPieceTokenizer(vocabularyFile: modelDirectory + "/vocab.txt")
    let lanes = ComputeLanes(count: threads)
    let encoder = try MiniLMEncoder(weights: SafetensorsFile(path: modelDirectory + "/model.safetensors"), lanes: lanes)
    let short = "A man is eating food in the kitchen."
    let long = Self.text(pieces: 128, tokenizer: tokenizer)
    let all: [(name: String, texts: [String])] = [
      ("batch 1, short", [short]), ("batch 32, short", Array(repeating: short, count: 32)),
      ("batch 1, 128 pieces", [long]), ("batch 32, 128 pieces", Array(repeating: long, count: 32)),
    ]
    let batches = all.filter { configurationFilter.map($0.name.contains) ?? true }
    print("weft-bench text: \(threads) threads, \(rounds) rounds; short = \(tokenizer.encode(short).count) pieces")

    var weft: [String: [Double]] = [:]
    var conditions: [String: BenchTiming.ModelRunConditions] = [:]
    for (name, texts) in batches {
      (weft[name], conditions[name]) = BenchTiming.modelRounds(rounds, lanes: lanes) { _ = encoder.embed(texts.map { tokenizer.encode($0) }) }
    }
    let torch = try? runPyTorch(batches)
    if torch == nil { print("PyTorch baseline unavailable (\(baseline.python) lacks sentence-transformers); Weft figures only") }

    let figures = BenchReport()
    for (name, _) in batches { figures.addModelTimes("text", configuration: name, weft: weft[name]!, conditions: conditions[name]!, reference: torch?[name]) }
    try figures.write(to: baseline.output.json)
    print("")
    print("model alone              weft p50 ms  weft emb/s   torch p50 ms  torch emb/s   ratio (emb/s)")
    for (name, texts) in batches {
      let ours = BenchFormat.median(weft[name]!)
      var line = name.padding(toLength: 24, withPad: " ", startingAt: 0)
        + BenchFormat.column(ours * 1_000, 12, 2) + BenchFormat.column(Double(texts.count) / ours, 11, 0)
      if let theirs = torch?[name].map(BenchFormat.median) {
        line += BenchFormat.column(theirs * 1_000, 15, 2) + BenchFormat.column(Double(texts.count) / theirs, 13, 0)
          + BenchFormat.column(theirs / ours, 14, 2) + "x"
      }
      print(line)
    }
    for line in BenchFormat.conditionLines(batches.map { ($0.name, conditions[$0.name]!) }) { print(line) }
    if configurationFilter == nil { try await meshThroughput(short) }
  }

  /// A text of English words that tokenises to exactly `pieces` ids, [CLS] and [SEP] included.
  static func text(pieces: Int, tokenizer: WordPieceTokenizer) -> String {
    let words = "the model routes every request to a worker that runs it on the processor and sends the answer back".split(separator: " ")
    var text: [Substring] = []
    var index = 0
    while tokenizer.encode(text.joined(separator: " ")).count < pieces {
      text.append(words[index % words.count])
      index += 1
    }
    return text.joined(separator: " ")
  }

  private func runPyTorch(_ batches: [(name: String, texts: [String])]) throws -> [String: [Double]] {
    try baseline.pytorchTimes(
      script: "text/pytorch_reference.py", arguments: [modelDirectory],
      request: ["batches": Dictionary(uniqueKeysWithValues: batches.map { ($0.name, $0.texts) })],
      environment: ["HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"])
  }

  /// Requests per second through a gateway and one text worker, 32 in flight, with the
  /// worker batching up to 32 and with batching off; and, batching on, the time of calls
  /// made one at a time (a lone call must not wait the batch delay), with the parts of it
  /// their reply headers give.
  private func meshThroughput(_ text: String) async throws {
    var rates: [(String, Double)] = []
    var alone: [Double] = []
    // Where a lone call's time goes, from its reply header: the model, the worker's queue,
    // the gateway's receive-to-send (worker and hops between included).
    var (compute, queued, gateway): ([Double], [Double], [Double]) = ([], [], [])
    for (label, batch) in [("batching on (up to 32)", 32), ("batching off", 1)] {
      let mesh = try await BenchMesh.start(
        worker: ["--model", "text", "--max-batch-size", "\(batch)", "--max-batch-delay-ms", "5", "--capacity", "64"]
          + baseline.workerArguments)
      defer { mesh.stop() }
      let client = try WeftClient(gateways: [mesh.frontend])
      defer { client.close() }
      _ = try await client.embed([text])  // the worker is registered and warm
      if batch > 1 {
        var request = Weft_V1_EmbedRequest()
        request.texts = [text]
        let body = try request.serializedData()
        for call in 0..<(rounds * 10 + 20) {
          let started = ContinuousClock.now
          let reply = try await client.call(TextService.name, TextService.embed.name, body: [body])
          guard reply.status == .ok else { throw BenchError("a lone text call failed: \(reply.header.message)") }
          guard call >= 20 else { continue }
          alone.append((ContinuousClock.now - started).seconds * 1_000)
          compute.append(Double(reply.header.computeUs) / 1_000)
          queued.append(Double(reply.header.queueUs) / 1_000)
          gateway.append(Double(reply.header.totalUs) / 1_000)
        }
        alone.sort()
      }
      let seconds = try await BenchTiming.concurrently(requests: requests, inFlight: 32) { _ = try await client.embed([text]) }
      rates.append((label, Double(requests) / seconds))
    }
    print("")
    print("through the mesh, 32 in flight, short texts")
    for (label, rate) in rates { print("  \(label.padding(toLength: 24, withPad: " ", startingAt: 0))\(BenchFormat.column(rate, 9, 0)) requests/s") }
    print("  ratio on/off            \(BenchFormat.column(rates[0].1 / rates[1].1, 9, 2))x")
    print(
      "through the mesh, one call at a time, batching on: p50 \(BenchFormat.column(BenchFormat.percentile(alone, 50), 0, 2)) ms, "
        + "p99 \(BenchFormat.column(BenchFormat.percentile(alone, 99), 0, 2)) ms (\(alone.count) calls)")
    let p50 = { (values: [Double]) in BenchFormat.column(BenchFormat.median(values), 0, 2) }
    print("  p50 of its parts: model \(p50(compute)) ms, worker queue \(p50(queued)) ms, gateway in to out \(p50(gateway)) ms")
  }

}

extension Duration {
  /// The duration in seconds, as a Double.
  var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}

import ArgumentParser
import Foundation
import SwiftProtobuf
import Synchronization
import WeftClient
import WeftModels
import WeftProcess
import WeftProtocol

/// `weft-bench live`: how many `speech/detect.live` sessions one worker keeps at real
/// time, and what a live session costs against `speech/detect` on the same audio.
struct LiveSpeechBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "live",
    abstract: "Live speech sessions one worker sustains at real time, and their cost against unary detect.",
    discussion: """
      Each session streams the speech fixture (10.3 s, 7 segments) at the pace it plays, in \
      pieces of --piece-ms, over one speech.detect.live call. A segment's latency is the \
      time from sending the piece that let the worker decide it (the response's `processed` \
      point) to its response arriving: network, queues and compute, not the segmenter's own \
      look-ahead (it needs min_silence_ms of silence, 100 ms by default, to know speech has \
      ended; printed apart). Levels of sessions double until p99 passes --target-ms or a \
      session falls behind real time. Cost: worker CPU per second of audio, live (pieces as \
      fast as flow control allows) against unary detect of the whole clip, same run.
      """)

  @Option(help: "Milliseconds of audio per piece.")
  var pieceMs = 20
  @Option(help: "Sessions at the first level; each next level doubles.")
  var startSessions = 25
  @Option(help: "Most sessions tried.")
  var maxSessions = 800
  @Option(help: "p99 segment latency, in milliseconds, a level must stay under.")
  var targetMs = 100.0
  @OptionGroup var output: BenchReportOptions

  func run() async throws {
    let fixture = benchRepositoryRoot + "/Tests/WeftModelsTests/Fixtures/speech/speech-pauses-16k.wav"
    let wav = try Data(contentsOf: URL(fileURLWithPath: fixture))
    let audio = try WAVFile.decode(wav)
    let pieceSamples = audio.sampleRate * pieceMs / 1_000
    let pieces = stride(from: 0, to: audio.samples.count, by: pieceSamples).map { start in
      audio.samples[start..<min(start + pieceSamples, audio.samples.count)].withUnsafeBytes { Data($0) }
    }
    let mesh = try await BenchMesh.start(worker: ["--model", "speech", "--capacity", "\(maxSessions + 16)"])
    defer { mesh.stop() }
    let client = try WeftClient(gateways: [mesh.frontend])
    defer { client.close() }
    let expected = try await client.detectSpeech(wav: wav, omitProbabilities: true).segments.count
    print("weft-bench live: \(String(format: "%.1f", Double(audio.samples.count) / 16_000)) s clip, \(expected) segments, "
      + "pieces of \(pieceMs) ms, one speech worker (\(ProcessInfo.processInfo.activeProcessorCount) cores shared with the gateway and this client)")

    let figures = BenchReport()
    try await cost(client: client, mesh: mesh, wav: wav, pieces: pieces, seconds: Double(audio.samples.count) / 16_000, into: figures)

    print("")
    print("sessions at real time   segments  p50 ms   p99 ms   max ms   behind   look-ahead p50 ms")
    var sessions = startSessions
    while sessions <= maxSessions {
      let level = try await realTime(sessions: sessions, client: client, pieces: pieces, pieceSamples: pieceSamples)
      let line = BenchFormat.column(Double(sessions), 22) + BenchFormat.column(Double(level.segments), 10)
        + BenchFormat.column(level.percentile(0.5), 8, 1) + BenchFormat.column(level.percentile(0.99), 9, 1)
        + BenchFormat.column(level.latencies.max() ?? 0, 9, 1) + BenchFormat.column(Double(level.behind), 9)
        + BenchFormat.column(level.lookAhead, 20, 1)
      print(line)
      figures.add("live.sessions_\(sessions).p99_ms", unit: "ms", better: .lower, rounds: [level.percentile(0.99)])
      let complete = level.segments == sessions * expected
      if !complete { print("  \(sessions * expected - level.segments) segments missing or sessions failed: \(level.failures)") }
      if level.percentile(0.99) > targetMs || level.behind > 0 || !complete { break }
      figures.add("live.sessions_sustained", unit: "sessions", better: .higher, rounds: [Double(sessions)])
      sessions *= 2
    }
    try figures.write(to: output.json)
  }

  /// Worker CPU per second of audio: one live session at full speed, then unary detect.
  private func cost(client: WeftClient, mesh: BenchMesh, wav: Data, pieces: [Data], seconds: Double, into figures: BenchReport) async throws {
    let rounds = 20
    let pid = mesh.worker.pid
    func measure(_ body: () async throws -> Void) async throws -> (cpu: Double, wall: Double) {
      let cpuBefore = cpuMicroseconds(pid: pid) ?? 0
      let start = ContinuousClock.now
      for _ in 0..<rounds { try await body() }
      let wall = (ContinuousClock.now - start).seconds
      return (((cpuMicroseconds(pid: pid) ?? 0) - cpuBefore) / 1e6, wall)
    }
    let live = try await measure {
      let call = try client.openCall(SpeechService.name, SpeechService.detectLive.name, options: CallOptions(timeout: .seconds(600)))
      Task {
        for (index, piece) in pieces.enumerated() {
          var message = Weft_V1_LiveAudio()
          message.samples = piece
          if index == 0 { message.sampleRate = 16_000 }
          try await call.send(message)
        }
        call.closeSend()
      }
      for try await _ in call.responses {}
    }
    let unary = try await measure { _ = try await client.detectSpeech(wav: wav, omitProbabilities: true) }
    let audioSeconds = seconds * Double(rounds)
    figures.add("live.cost.cpu_ms_per_audio_second", unit: "ms", better: .lower, rounds: [live.cpu / audioSeconds * 1e3])
    figures.add("live.cost.ratio_to_unary", unit: "×", better: .lower, rounds: [live.cpu / unary.cpu])
    print("")
    print("cost per second of audio      worker CPU ms   wall ms   per piece µs (CPU)")
    print("  live, \(pieceMs) ms pieces".padding(toLength: 28, withPad: " ", startingAt: 0)
      + BenchFormat.column(live.cpu / audioSeconds * 1e3, 14, 2) + BenchFormat.column(live.wall / audioSeconds * 1e3, 10, 2)
      + BenchFormat.column(live.cpu / Double(rounds * pieces.count) * 1e6, 21, 1))
    print("  unary detect, whole clip".padding(toLength: 28, withPad: " ", startingAt: 0)
      + BenchFormat.column(unary.cpu / audioSeconds * 1e3, 14, 2) + BenchFormat.column(unary.wall / audioSeconds * 1e3, 10, 2))
    print("  ratio live/unary".padding(toLength: 28, withPad: " ", startingAt: 0)
      + BenchFormat.column(live.cpu / unary.cpu, 13, 2) + "x" + BenchFormat.column(live.wall / unary.wall, 9, 2) + "x")
  }

  /// What one level of sessions measured.
  struct Level {
    var latencies: [Double] = []
    var segments = 0
    /// Sessions whose last piece went out more than a piece late.
    var behind = 0
    var failures: [String] = []
    var lookAheads: [Double] = []

    func percentile(_ p: Double) -> Double {
      guard !latencies.isEmpty else { return 0 }
      let sorted = latencies.sorted()
      return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p))]
    }

    var lookAhead: Double { BenchFormat.median(lookAheads) }
  }

  /// `sessions` live calls at once, each sending at real-time pace.
  private func realTime(sessions: Int, client: WeftClient, pieces: [Data], pieceSamples: Int) async throws -> Level {
    let interval = Duration.milliseconds(pieceMs)
    let start = ContinuousClock.now + .milliseconds(200)
    return await withTaskGroup(of: Level.self) { group in
      for session in 0..<sessions {
        group.addTask {
          var level = Level()
          // Sessions start spread over one piece, as independent microphones would.
          let offset = interval * Double(session) / Double(sessions)
          let sent = Mutex([ContinuousClock.Instant](repeating: start, count: pieces.count))
          do {
            let call = try client.openCall(SpeechService.name, SpeechService.detectLive.name, options: CallOptions(timeout: .seconds(600)))
            let sender = Task { () -> Bool in
              var late = false
              for (index, piece) in pieces.enumerated() {
                let due = start + offset + interval * index
                try await Task.sleep(until: due, clock: .continuous)
                var message = Weft_V1_LiveAudio()
                message.samples = piece
                if index == 0 { message.sampleRate = 16_000 }
                try await call.send(message)
                let now = ContinuousClock.now
                sent.withLock { $0[index] = now }
                if index == pieces.count - 1 { late = now - due > interval }
              }
              call.closeSend()
              return late
            }
            for try await response in call.responses {
              let arrived = ContinuousClock.now
              let reply = try Weft_V1_DetectResponse(serializedBytes: response.body.first ?? Data())
              guard !reply.segments.isEmpty else { continue }
              level.segments += reply.segments.count
              guard !response.isFinal else { continue }  // the final's segments wait for the half-close
              // The piece holding the last sample processed: the one that let the worker decide.
              let processedSamples = Int((reply.processed * 16_000).rounded())
              let piece = min(pieces.count - 1, max(0, (processedSamples - 1) / pieceSamples))
              let decided = sent.withLock { $0[piece] }
              for segment in reply.segments {
                level.latencies.append((arrived - decided).seconds * 1e3)
                level.lookAheads.append((reply.processed - segment.end) * 1e3)
              }
            }
            if try await sender.value { level.behind += 1 }
          } catch {
            level.failures.append("\(error)")
          }
          return level
        }
      }
      var total = Level()
      for await level in group {
        total.latencies += level.latencies
        total.segments += level.segments
        total.behind += level.behind
        total.failures += level.failures
        total.lookAheads += level.lookAheads
      }
      return total
    }
  }
}

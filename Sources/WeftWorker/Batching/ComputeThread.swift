import Foundation
import Logging
import WeftModels
import WeftProtocol

/// Runs batches from a ``Batcher`` through the model on its own thread and hands the
/// responses to the socket thread through the ``CompletionQueue``.
final class ComputeThread: Sendable {
  private let model: any Model
  private let batcher: Batcher
  private let completionQueue: CompletionQueue
  private let logger: Logger
  private let finished = DispatchSemaphore(value: 0)

  init(model: any Model, batcher: Batcher, completionQueue: CompletionQueue, logger: Logger) {
    self.model = model
    self.batcher = batcher
    self.completionQueue = completionQueue
    self.logger = logger
  }

  /// Starts the thread; it runs until the batcher is stopped and empty.
  func start() {
    Thread.start(named: "weft-compute") { [self] in
      var readySince: UInt64 = 0
      while let batch = batcher.nextBatch(readySince: readySince) { readySince = run(batch) }
      finished.signal()
    }
  }

  /// Waits for the thread to finish after `batcher.stop()`.
  func join() { finished.wait() }

  /// Runs a batch; returns when its replies were handed on (before they are posted, so a
  /// request sent in answer to one of them is never taken to have queued during the batch).
  private func run(_ batch: [Job]) -> UInt64 {
    if batch.first?.call != nil {
      Self.runSteps(batch, model: model, batcher: batcher)
      return MonotonicClock.now()
    }
    let started = MonotonicClock.now()
    // A request whose client stopped waiting is not worth computing.
    let (live, expired) = batch.reduce(into: ([Job](), [Job]())) { split, job in
      if job.request.deadline <= .now { split.1.append(job) } else { split.0.append(job) }
    }
    var completions = expired.map { job in
      Completion(
        job: job, response: .failure(WeftError(.deadlineExceeded, "deadline passed before the model ran")),
        isFinal: true, timing: .init())
    }
    if !live.isEmpty {
      completions += ComputeThread.infer(
        live, model: model, startedAt: started, completionQueue: completionQueue, logger: logger)
    }
    let handedOn = MonotonicClock.now()
    completionQueue.post(completions)
    return handedOn
  }

  /// Runs `jobs` through `model` and returns their final completions; partial responses
  /// go to `completionQueue` as they are emitted.
  static func infer(
    _ jobs: [Job], model: any Model, startedAt: UInt64, completionQueue: CompletionQueue,
    logger: Logger
  ) -> [Completion] {
    let tickets = jobs.map(\.ticket)
    let responses = respond(
      to: jobs.map(\.request), tickets: tickets, model: model, completionQueue: completionQueue, logger: logger)
    let finishedAt = MonotonicClock.now()
    return zip(tickets, responses).map { ticket, response in
      let timing = Completion.Timing(of: ticket, startedAt: startedAt, finishedAt: finishedAt, batchSize: tickets.count)
      return Completion(ticket: ticket, response: response, isFinal: true, timing: timing)
    }
  }

  /// The model's final responses to `requests`, one each (every one a failure if the
  /// model throws or miscounts); partial responses go to `completionQueue` as they are
  /// emitted, addressed by `tickets`. Used by the compute thread and, for inline models,
  /// by the socket thread.
  static func respond(
    to requests: [InferenceRequest], tickets: [ReplyTicket], model: any Model, completionQueue: CompletionQueue,
    logger: Logger
  ) -> [InferenceResponse] {
    let partials = PartialSink { index, response in
      guard tickets.indices.contains(index) else { return }
      let timing = Completion.Timing(batchSize: tickets.count)
      completionQueue.post([Completion(ticket: tickets[index], response: response, isFinal: false, timing: timing)])
    }
    do {
      let responses = try model.infer(requests, partials: partials)
      if responses.count == requests.count { return responses }
      logger.error("model returned \(responses.count) responses for \(requests.count) requests")
      return requests.map { _ in .failure(WeftError(.internal, "model returned the wrong number of responses")) }
    } catch let error as WeftError {
      return requests.map { _ in .failure(error) }
    } catch {
      logger.error("model failed", metadata: ["error": "\(error)"])
      return requests.map { _ in .failure(WeftError(.internal, "model failed: \(error)")) }
    }
  }

  /// Runs one step of each call in `jobs` (open calls of one method); each call posts
  /// what it has to send, and one with more to do is submitted to `batcher` again.
  static func runSteps(_ jobs: [Job], model: any Model, batcher: Batcher) {
    let started = MonotonicClock.now()
    var steps: [StreamStep] = []
    var stepped: [(call: StreamCall, took: Int)] = []
    var ended: [(call: StreamCall, output: StreamOutput)] = []
    for job in jobs {
      guard let call = job.call else { continue }
      let input = call.beginStep()
      if input.cancelled != nil {
        ended.append((call, StreamOutput()))
        continue
      }
      guard call.opening.request.deadline > .now else {
        ended.append((call, StreamOutput(final: .failure(WeftError(.deadlineExceeded, "deadline passed during the call")))))
        continue
      }
      var stream = input.stream
      if stream == nil {
        do throws(WeftError) {
          stream = try open(call, model: model)
        } catch {
          ended.append((call, StreamOutput(final: .failure(error))))
          continue
        }
      }
      steps.append(StreamStep(stream: stream!, messages: input.messages, ended: input.ended, deadline: call.opening.request.deadline))
      stepped.append((call, input.messages.count))
    }
    let outputs = steps.isEmpty ? [] : (model as? any StreamingModel)?.advance(steps) ?? []
    let finishedAt = MonotonicClock.now()
    let timing = Completion.Timing(computeMicroseconds: finishedAt &- started, batchSize: steps.count)
    func take(_ call: StreamCall, _ output: StreamOutput, took: Int) {
      if call.endStep(output, took: took, timing: timing) { batcher.submit(.step(of: call, at: finishedAt)) }
    }
    for (index, step) in stepped.enumerated() {
      let output = index < outputs.count
        ? outputs[index] : StreamOutput(final: .failure(WeftError(.internal, "the model returned too few stream outputs")))
      take(step.call, output, took: step.took)
    }
    for (call, output) in ended { take(call, output, took: 0) }
  }

  /// Opens the model's stream for `call` (its first step).
  private static func open(_ call: StreamCall, model: any Model) throws(WeftError) -> any ModelStream {
    guard let streaming = model as? any StreamingModel else {
      throw WeftError(.unimplemented, "this model serves no calls that stay open")
    }
    var request = call.opening.request
    request.body = []
    let stream = try streaming.openStream(request)
    call.opened(stream)
    return stream
  }
}

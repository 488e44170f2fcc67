import Foundation
import Logging
import ServiceLifecycle
import WeftModels
import WeftProtocol
import ZeroMQ

/// Hosts one model behind one or more gateways.
///
/// `run()` registers with every gateway (the model is loaded already, so READY means
/// ready), serves until graceful shutdown, then drains: it tells each gateway to send no
/// more, finishes what it holds, and returns.
public final class WorkerRuntime: Service, Sendable {
  private let model: any Model
  private let configuration: WorkerConfiguration
  private let logger: Logger
  private let context: Context
  private let control: WorkerControl
  private let onReady: @Sendable () -> Void
  private let onDrain: @Sendable () -> Void

  /// Creates a runtime for a loaded model.
  /// - Parameters:
  ///   - onReady: called once READY has been sent to every gateway.
  ///   - onDrain: called when draining starts (before in-flight work is finished).
  public init(
    model: any Model, configuration: WorkerConfiguration, logger: Logger,
    onReady: @escaping @Sendable () -> Void = {}, onDrain: @escaping @Sendable () -> Void = {}
  ) throws {
    guard !configuration.gateways.isEmpty else {
      throw ConfigurationError("a worker needs at least one gateway endpoint")
    }
    self.model = model
    self.configuration = configuration
    self.logger = logger
    self.onReady = onReady
    self.onDrain = onDrain
    context = try Context()
    control = try WorkerControl()
  }

  /// Serves until graceful shutdown or `drain()`, then finishes in-flight work.
  public func run() async throws {
    try await withGracefulShutdownHandler {
      try await runSocketThread()
    } onGracefulShutdown: {
      self.drain()
    }
  }

  /// Starts draining; `run()` returns once in-flight work is done.
  public func drain() {
    onDrain()
    control.requestDrain()
  }

  private func runSocketThread() async throws {
    let (model, configuration, context, control, logger, onReady) = (
      model, configuration, context, control, logger, onReady
    )
    try await runOnDedicatedThread(named: "weft-worker") {
      let loop = try WorkerLoop(model: model, configuration: configuration, context: context, control: control, logger: logger)
      try loop.run(onReady: onReady)
      // The loop closed its sockets: their last replies are written before this returns,
      // not lost with libzmq's I/O thread when the process exits (seen once: a drained
      // worker's FINALs never reached the gateway, which waited out the deadline).
      context.terminate()
    }
  }
}

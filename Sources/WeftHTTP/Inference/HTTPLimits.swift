import WeftGateway

/// Bounds on what the HTTP side accepts (docs/HTTP.md, "Limits").
public struct HTTPLimits: Sendable {
  /// Largest request body; larger gets 413.
  public var maxBodyBytes: Int
  /// Request bodies held at once over all connections; past it a request gets 429.
  public var bodyBudgetBytes: Int
  /// Time a request's body has to arrive; a slower one gets 408.
  public var bodyReadTimeout: Duration
  /// Time a connection may stay open with no request before it is closed.
  public var idleTimeout: Duration
  /// Deadline of an inference request without a `timeout` parameter.
  public var defaultTimeout: Duration

  /// Creates limits; the body budget defaults to eight of the largest bodies.
  public init(
    maxBodyBytes: Int = 32 << 20, bodyBudgetBytes: Int? = nil, bodyReadTimeout: Duration = .seconds(30),
    idleTimeout: Duration = .seconds(60), defaultTimeout: Duration = .seconds(30)
  ) {
    self.maxBodyBytes = maxBodyBytes
    self.bodyBudgetBytes = bodyBudgetBytes ?? 8 * maxBodyBytes
    self.bodyReadTimeout = bodyReadTimeout
    self.idleTimeout = idleTimeout
    self.defaultTimeout = defaultTimeout
  }

  /// The limits a gateway's configuration sets: its largest request, deadline and HTTP timeouts.
  public init(_ gateway: GatewayConfiguration) {
    self.init(
      maxBodyBytes: gateway.maxRequestBytes, bodyReadTimeout: gateway.httpBodyTimeout, idleTimeout: gateway.httpIdleTimeout,
      defaultTimeout: gateway.defaultTimeout)
  }
}

import WeftGateway

/// The `gateway:` section: every field of ``GatewayConfiguration`` but its routes (which
/// come from `routes:`).
extension GatewayConfiguration: ConfigurationSection {
  public static var defaults: GatewayConfiguration { GatewayConfiguration() }

  public static var keys: [ConfigurationKey<GatewayConfiguration>] {
    [
      .text("frontend", \.frontend, "ZeroMQ endpoint clients connect to (ROUTER, bound)"),
      .text("backend", \.backend, "ZeroMQ endpoint workers connect to (ROUTER, bound)"),
      .milliseconds("heartbeat_interval_ms", \.heartbeatInterval, 10...3_600_000, "heartbeat interval for workers that advertise none"),
      .integer("heartbeat_liveness", \.heartbeatLiveness, 1...100, "silent heartbeat intervals after which a worker is removed"),
      .milliseconds("default_timeout_ms", \.defaultTimeout, 1...86_400_000, "deadline of requests that set none"),
      .milliseconds("max_timeout_ms", \.maxTimeout, 1...86_400_000, "longest deadline a request may ask for; longer ones are cut to it"),
      .integer("queue_limit", \.queueLimit, 1...10_000_000, "requests waiting for a worker per service; more get RESOURCE_EXHAUSTED"),
      .integer("max_in_flight", \.maxInFlight, 1...10_000_000, "requests in the gateway at once over all services"),
      .integer(
        "max_in_flight_per_client", \.maxInFlightPerClient, 1...10_000_000,
        "requests one client may have in flight; more get RESOURCE_EXHAUSTED until replies come back"),
      .integer(
        "client_high_water_mark", \.clientHighWaterMark, 0...10_000_000,
        "messages ZeroMQ queues per client connection each way; replies past it wait in the gateway, against the reply budget; 0: unbounded"),
      .integer(
        "max_held_reply_bytes_per_client", \.maxHeldReplyBytesPerClient, 65_536...(1 << 40),
        "bytes of replies held for a client that is not reading, ZeroMQ's queue included; past it its new requests get RESOURCE_EXHAUSTED"),
      .integer(
        "worker_high_water_mark", \.workerHighWaterMark, 0...10_000_000,
        "messages queued per worker connection each way; capacity is cut to half of it; 0: unbounded"),
      .microseconds(
        "busy_poll_us", \.busyPoll, GatewayConfiguration.busyPollRange,
        "under light load, time the gateway polls before it sleeps when its last wait was this short; 0: always sleep"),
      .integer("max_request_bytes", \.maxRequestBytes, 1...(1 << 31), "largest request body in bytes; larger gets RESOURCE_EXHAUSTED"),
      .integer("max_attempts", \.maxAttempts, 1...10, "times an idempotent request is sent, counting the first, when workers die"),
      .milliseconds("drain_timeout_ms", \.drainTimeout, 0...3_600_000, "on SIGTERM, time in-flight requests get to finish"),
      .text(
        "http", \.http, absent: "no HTTP",
        "host:port where the gateway's process serves Prometheus metrics (/metrics), health and the Open Inference Protocol (/v2/...)"),
      .milliseconds("http_body_timeout_ms", \.httpBodyTimeout, 1...3_600_000, "time an HTTP request's body has to arrive; slower gets 408"),
      .text(
        "http_tokens", \.httpTokens, absent: "curve.keys_dir's http/, else none",
        "directory of NAME.token files; when there is one, /v2/models/... need `Authorization: Bearer TOKEN`"),
      .milliseconds("http_idle_timeout_ms", \.httpIdleTimeout, 1...3_600_000, "time an HTTP connection may stay open with no request"),
      .text("name", \.name, "the gateway's name in replies, logs and `weft status`"),
      .number("personalize_share", \.personalizeShare, 0...1, "share of a personalised request's deadline the recommender may take"),
      GatewayCurveSection.key(\.security),
    ]
  }
}

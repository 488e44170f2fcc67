import WeftProtocol

/// How a gateway listens, times out and bounds its queues. Every field has a default.
public struct GatewayConfiguration: Sendable, Equatable {
  /// Where clients connect (ROUTER).
  public var frontend: String
  /// Where workers connect (ROUTER).
  public var backend: String
  /// Heartbeat interval for workers that do not advertise their own.
  public var heartbeatInterval: Duration
  /// Silent heartbeat intervals after which a worker is removed.
  public var heartbeatLiveness: Int
  /// Deadline for requests that set `timeout_ms` to 0.
  public var defaultTimeout: Duration
  /// Longest deadline a request may ask for; longer ones are cut to this.
  public var maxTimeout: Duration
  /// Most requests waiting for a worker, per service; more get RESOURCE_EXHAUSTED.
  public var queueLimit: Int
  /// Most requests in the gateway at once (queued or dispatched), over all services.
  public var maxInFlight: Int
  /// Largest request body (all body frames together) in bytes; larger gets RESOURCE_EXHAUSTED.
  public var maxRequestBytes: Int
  /// Times an idempotent request is sent again after its worker dies.
  public var maxAttempts: Int
  /// On shutdown, how long in-flight requests may take to finish.
  public var drainTimeout: Duration
  /// A name for this gateway in replies and logs.
  public var name: String
  /// Fraction of a personalised request's deadline the recommender may take after the
  /// model answered; past it the client gets the model's reply, marked not personalised.
  public var personalizeShare: Double = 0.2
  /// Requests one client may have in flight (queued or dispatched); more get
  /// RESOURCE_EXHAUSTED until replies come back, so one client cannot take the gateway's
  /// whole `maxInFlight`.
  public var maxInFlightPerClient = 4_096
  /// Messages ZeroMQ queues per client connection, each way. Past it, replies to a client
  /// that is not reading wait in the gateway, counted against
  /// `maxHeldReplyBytesPerClient`; a client that sends faster than the gateway reads is
  /// held back by its own queue. The bound is in messages, so it also caps the bytes
  /// ZeroMQ holds for one client at this many replies.
  public var clientHighWaterMark = 1_000
  /// Bytes of replies held for one client that is not reading: in ZeroMQ's queue to it
  /// (full, estimated) and in the gateway. Past it, the client's new requests get
  /// RESOURCE_EXHAUSTED and its streams are ended; replies to requests already admitted
  /// are still kept, none dropped. No effect with `clientHighWaterMark` 0.
  public var maxHeldReplyBytesPerClient = 64 << 20
  /// Messages queued per worker connection, each way. Workers' capacity is cut to half of
  /// it, so requests never meet the bound; commands to a worker that stops reading are
  /// dropped past it (counted). 0 means unbounded (not recommended: a peer that never
  /// reads grows the gateway's memory without end).
  public var workerHighWaterMark = 32_768
  /// Under light load, how long the socket thread polls its sockets before it sleeps, when
  /// the last wait was at least this short: a request or reply that comes meanwhile is
  /// routed without a wake-up, which on a VM costs more than the routing. Costs up to this
  /// much CPU per wait that ends longer, and counts against a CPU quota; zero (and on a
  /// machine with one CPU): always sleep. docs/ARCHITECTURE.md.
  public var busyPoll: Duration = .microseconds(200)
  /// The microseconds `busyPoll` may be set to.
  public static let busyPollRange = 0...10_000

  /// `host:port` where the gateway's process serves HTTP: Prometheus metrics
  /// (`/metrics`), health and the Open Inference Protocol (`/v2/...`); nil: no HTTP.
  /// Served by `weft gateway` beside the loop, not by ``Gateway`` itself.
  public var http: String?
  /// Time an HTTP request's body has to arrive before the request gets 408.
  public var httpBodyTimeout: Duration = .seconds(30)
  /// Time an HTTP connection may stay open with no request before it is closed.
  public var httpIdleTimeout: Duration = .seconds(60)
  /// A directory of `NAME.token` files; when set, the HTTP side's model endpoints need
  /// `Authorization: Bearer TOKEN`. Nil: the mesh keys' `http/` with CURVE from a key
  /// directory (``MeshKeys/httpTokens``), else none.
  public var httpTokens: String?

  /// The token directory the HTTP side checks: ``httpTokens``, else the mesh keys' own.
  public var effectiveHTTPTokens: String? { httpTokens ?? security?.meshKeys?.httpTokens }

  /// CURVE encryption and authentication on both ports; nil: plaintext, anyone who can
  /// reach a port may use it.
  public var security: GatewaySecurity?

  /// The most requests one worker may hold, whatever it advertises.
  public var maxWorkerCapacity: Int { workerHighWaterMark > 0 ? workerHighWaterMark / 2 : .max }

  /// Routing policies per service at start (changed later by `weft.mesh/route.set` or
  /// ``Gateway/replaceRoutes(_:)``).
  public var routes: [RoutePolicy] = []

  /// Creates a configuration; the defaults are DESIGN.md's.
  public init(
    frontend: String = "tcp://127.0.0.1:5555", backend: String = "tcp://127.0.0.1:5556",
    heartbeatInterval: Duration = .milliseconds(1_000), heartbeatLiveness: Int = 3,
    defaultTimeout: Duration = .seconds(30), maxTimeout: Duration = .seconds(3_600),
    queueLimit: Int = 1_000, maxInFlight: Int = 100_000, maxRequestBytes: Int = 32 << 20,
    maxAttempts: Int = 3, drainTimeout: Duration = .seconds(10), name: String = "gateway"
  ) {
    self.frontend = frontend
    self.backend = backend
    self.heartbeatInterval = heartbeatInterval
    self.heartbeatLiveness = heartbeatLiveness
    self.defaultTimeout = defaultTimeout
    self.maxTimeout = maxTimeout
    self.queueLimit = queueLimit
    self.maxInFlight = maxInFlight
    self.maxRequestBytes = maxRequestBytes
    self.maxAttempts = maxAttempts
    self.drainTimeout = drainTimeout
    self.name = name
  }
}

/// CURVE on both ports: the gateway's own secret key, and per role the directory of
/// `NAME.key` files (Z85 public keys) allowed to connect. A role without a directory has
/// no keys. Reloading (``Gateway/reloadKeys()``) reads the directories again.
public struct GatewaySecurity: Sendable, Equatable {
  /// The gateway's Z85 secret key; clients and workers are given its public half.
  public var secretKey: String
  /// Keys that may call model services and the recommender.
  public var clientKeys: String?
  /// Keys that may register as workers.
  public var workerKeys: String?
  /// Keys that may also change routes and credit rewards.
  public var adminKeys: String?
  /// The mesh key directory all of this came from, if it came from one: local workers
  /// and the CLI take their keys from it too.
  public var meshKeys: MeshKeys?

  /// Security with `secretKey` and the given key directories.
  public init(secretKey: String, clientKeys: String? = nil, workerKeys: String? = nil, adminKeys: String? = nil) {
    self.secretKey = secretKey
    self.clientKeys = clientKeys
    self.workerKeys = workerKeys
    self.adminKeys = adminKeys
  }

  var directories: [KeyRing.Role: String] {
    var directories: [KeyRing.Role: String] = [:]
    directories[.client] = clientKeys
    directories[.worker] = workerKeys
    directories[.admin] = adminKeys
    return directories
  }
}

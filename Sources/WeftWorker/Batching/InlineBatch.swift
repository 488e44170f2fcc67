import WeftModels

/// Requests for a model that runs on the socket thread, gathered in one read of the
/// sockets for one `infer` call. They are kept as the model takes them, beside their
/// tickets: a request is neither wrapped in a ``Job`` nor copied out of one (at 64 B that
/// wrapping and copying cost more than the echo model's call).
struct InlineBatch {
  private(set) var requests: [InferenceRequest] = []
  private(set) var tickets: [ReplyTicket] = []
  /// Bytes of the requests' bodies.
  private(set) var bodyBytes = 0

  var count: Int { requests.count }
  var isEmpty: Bool { requests.isEmpty }

  mutating func append(_ request: consuming InferenceRequest, ticket: ReplyTicket) {
    bodyBytes += request.body.reduce(0) { $0 + $1.count }
    requests.append(request)
    tickets.append(ticket)
  }

  /// Empties the batch, keeping its storage for the next one.
  mutating func removeAll() {
    requests.removeAll(keepingCapacity: true)
    tickets.removeAll(keepingCapacity: true)
    bodyBytes = 0
  }
}

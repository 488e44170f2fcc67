/// What the gateway keeps for a client while it has requests in flight: how many (its
/// budget), and each one's in-flight id by the client's own request id (for cancels and
/// the frames of calls that stay open).
///
/// One record per client, found with one hash when a request comes (none when the client
/// of the request before sends again) and held by the request until it finishes, so a
/// reply costs no lookup by peer. Touched by the loop's thread alone (no exclusivity
/// checks, as ``InFlightRequest``).
final class ClientRecord {
  let id: PeerID
  /// Requests of this client in flight (those it counts: shadow copies do not).
  @exclusivity(unchecked) var inFlight = 0
  /// In-flight id by the client's request id.
  @exclusivity(unchecked) var calls = RequestIDMap()

  init(id: PeerID) { self.id = id }
}

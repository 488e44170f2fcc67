import DequeModule
import WeftProtocol

/// One service: its methods, its workers, and its bounded queue of waiting requests.
final class ServiceEntry {
  /// The service name.
  let name: String
  /// The methods workers of this service advertised (the union over versions).
  var methods: [MethodDescriptor] = []
  /// Its workers, in registration order.
  var workers: [PeerID] = []
  /// Dispatch ids of requests waiting for a worker, oldest first. May hold ids of
  /// requests that already expired; they are skipped when popped.
  @exclusivity(unchecked) var queue: Deque<UInt64> = []
  /// How many ids in `queue` are still live; this is what the limit bounds.
  @exclusivity(unchecked) var queuedCount = 0

  init(name: String) { self.name = name }

  /// Whether `method` was advertised by any worker of this service.
  func serves(method: String) -> Bool { methods.contains { $0.name == method } }

  /// Adds the methods of a newly registered worker.
  func merge(methods newMethods: [MethodDescriptor]) {
    for method in newMethods where !serves(method: method.name) { methods.append(method) }
  }
}

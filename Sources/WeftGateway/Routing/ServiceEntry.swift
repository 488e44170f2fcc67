import DequeModule
import WeftProtocol

/// One service: its methods, its workers, its routing policy, its versions' figures and
/// its bounded queues of waiting requests. Owned by the gateway's loop thread alone, so
/// its fields skip the runtime's exclusivity checks.
final class ServiceEntry {
  /// The service name.
  let name: String
  /// Whether this is the recommender's service, whose feedback replies credit rewards
  /// (asked of every OK reply: cheaper than comparing names).
  let isRecommender: Bool
  /// The methods workers of this service advertised (the union over versions).
  @exclusivity(unchecked) var methods: [MethodDescriptor] = []
  /// Its workers, in registration order.
  @exclusivity(unchecked) var workers: [WorkerEntry] = []
  /// How requests that name no version choose one; nil: any live version, least loaded.
  @exclusivity(unchecked) var router: VersionRouter?
  /// Figures per version that has had workers or a policy naming it.
  @exclusivity(unchecked) private(set) var figures: [String: VersionFigures] = [:]
  /// Dispatch ids of requests waiting for any worker, fair across clients. May hold ids
  /// of requests that already expired; they are skipped when popped.
  @exclusivity(unchecked) var queue = FairQueue()
  /// Waiting requests bound to one version (chosen by the policy or named by the client).
  @exclusivity(unchecked) var versionQueues: [String: FairQueue] = [:]
  /// How many ids in all the queues are still live; this is what the limit bounds.
  @exclusivity(unchecked) var queuedCount = 0

  /// Most versions with figures; a service past it records nothing for new ones.
  static let maxVersions = 64

  init(name: String) {
    self.name = name
    isRecommender = name == RecommenderService.name
  }

  /// The least-loaded worker with room, relative to capacity, optionally of one
  /// `version`; nil if all are full or draining.
  func pickWorker(version: String = "") -> WorkerEntry? {
    var best: WorkerEntry?
    for worker in workers where worker.hasRoom {
      if !version.isEmpty && worker.version != version { continue }
      if let current = best, !worker.isLessLoaded(than: current) { continue }
      best = worker
    }
    return best
  }

  /// Whether any live, non-draining worker serves it (and `version`, if given).
  func hasLiveWorker(version: String = "") -> Bool {
    workers.contains { worker in !worker.draining && (version.isEmpty || worker.version == version) }
  }

  /// Whether `method` was advertised by any worker of this service.
  func serves(method: String) -> Bool { methodIndex(named: method) != nil }

  /// Whether calls of the advertised method `name` stay open (client-streaming or
  /// bidirectional); nil if no worker advertised it. Read in place: copying the generated
  /// descriptor for every request cost more than the lookup.
  func callStaysOpen(method name: String) -> Bool? {
    methodIndex(named: name).map { methods[$0].clientStreaming }
  }

  /// Where the method found last is in `methods` (they are only ever appended): most
  /// requests name the same method as the one before.
  @exclusivity(unchecked) private var lastMethodIndex = 0

  private func methodIndex(named name: String) -> Int? {
    if lastMethodIndex < methods.count && methods[lastMethodIndex].name == name { return lastMethodIndex }
    guard let index = methods.firstIndex(where: { $0.name == name }) else { return nil }
    lastMethodIndex = index
    return index
  }

  /// Adds the methods of a newly registered worker.
  func merge(methods newMethods: [MethodDescriptor]) {
    for method in newMethods where !serves(method: method.name) { methods.append(method) }
  }

  /// The figures of `version`, made on first use while there is room.
  func figures(for version: String) -> VersionFigures? {
    if let existing = figures[version] { return existing }
    guard figures.count < Self.maxVersions else { return nil }
    let made = VersionFigures(service: name, version: version)
    figures[version] = made
    return made
  }

  /// The figures of `version` if it has any.
  func existingFigures(for version: String) -> VersionFigures? { figures[version] }
}

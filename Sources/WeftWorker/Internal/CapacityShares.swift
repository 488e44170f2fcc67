/// How a worker's capacity is split among the gateways it serves, so that together they
/// never have more than `capacity` of its requests, whatever the timing.
///
/// Each gateway gets a limit: in READY, then in CREDIT messages, each of which the gateway
/// confirms with a CREDIT once it applies it. Until then it may still be working to the
/// old limit, so a link counts as the larger of the two, and only one change per link is
/// outstanding at a time. Requests held from a gateway's earlier registration count on
/// top (they still run). Limits rise only out of what is free after all that.
///
/// With one gateway, READY carries the whole capacity. With several, READY carries one
/// slot (the gateway may be down: a share it cannot use would be locked up until it
/// confirms), and the rest follows by CREDIT once it has confirmed: an equal share for
/// each confirmed gateway, or, for one that used less than its share since the last
/// rebalance, what it used plus one, the rest split among the busy ones.
///
/// A gateway may apply less than it was sent (its own cap, `--worker-high-water-mark`):
/// what it confirms then is its ceiling until it registers again, and plans give the rest
/// to the others, so no limit is asked for again and again.
struct CapacityShares {
  struct Share: Equatable {
    /// The limit last sent, READY or CREDIT; nil while no READY has gone.
    var sent: Int?
    /// The limit the gateway confirmed; nil until it confirmed one since READY.
    var confirmed: Int?
    /// Requests of this registration the worker holds, and the most at once since the
    /// last rebalance.
    var held = 0
    var peak = 0
    /// Requests still held from earlier registrations.
    var earlier = 0
    /// The most this registration's gateway applies; nil until it confirmed less than it was sent.
    var ceiling: Int?
    /// The most a plan may give this gateway.
    var most: Int { ceiling ?? .max }

    /// What this gateway may have on the worker at worst.
    var reserved: Int { earlier + max(sent ?? 0, confirmed ?? 0, held) }
    /// No change is waiting for the gateway's confirmation.
    var isSettled: Bool { sent == nil || sent == confirmed }
  }

  /// A limit to send a gateway: in READY (`isReady`) or in CREDIT.
  struct Grant: Equatable {
    let link: Int
    let limit: Int
    let isReady: Bool
  }

  let capacity: Int
  private(set) var shares: [Share]
  /// What each gateway should have, from the last plan, and which gateways were confirmed then.
  private(set) var goals: [Int?]
  private var plannedFor: [Int] = []
  /// A gateway's ceiling was learned since the goals were planned.
  private var ceilingsChanged = false

  init(capacity: Int, links: Int) {
    self.capacity = max(1, capacity)
    shares = Array(repeating: Share(), count: links)
    goals = Array(repeating: nil, count: links)
  }

  /// Slots no gateway can use now.
  var free: Int { capacity - shares.reduce(0) { $0 + $1.reserved } }

  /// Link `link` must register (again): the limit for its READY, or nil while there is no
  /// slot for it (it registers at a later rebalance).
  mutating func register(_ link: Int) -> Grant? {
    var share = shares[link]
    share.earlier += share.held
    (share.sent, share.confirmed, share.held, share.peak, share.ceiling) = (nil, nil, 0, 0, nil)
    shares[link] = share
    let opening = shares.count == 1 ? capacity : 1
    let limit = min(opening, free)
    guard limit >= 1 else { return nil }
    shares[link].sent = limit
    return Grant(link: link, limit: limit, isReady: true)
  }

  /// READY went to `link`'s gateway and it has not confirmed it yet.
  func awaitsReadyConfirmation(_ link: Int) -> Bool { shares[link].sent != nil && shares[link].confirmed == nil }

  /// The gateway of `link` confirmed `limit`: it applies it from now.
  mutating func confirmed(_ link: Int, limit: Int) {
    guard let sent = shares[link].sent else { return }
    // The gateway may apply less than it was sent (its own cap): that is the limit then.
    if limit < sent {
      shares[link].ceiling = limit
      ceilingsChanged = true
    }
    shares[link].sent = limit
    shares[link].confirmed = limit
  }

  /// A request came from `link`'s current registration.
  mutating func received(_ link: Int) {
    shares[link].held += 1
    shares[link].peak = max(shares[link].peak, shares[link].held)
  }

  /// A request of `link` finished; `current` says whether it came in its current registration.
  mutating func finished(_ link: Int, current: Bool) {
    if current { shares[link].held = max(0, shares[link].held - 1) } else { shares[link].earlier = max(0, shares[link].earlier - 1) }
  }

  /// What each confirmed gateway should have now: equal shares, or by demand with `byDemand`.
  func targets(byDemand: Bool) -> [Int?] {
    let up = shares.indices.filter { shares[$0].confirmed != nil }
    var targets = [Int?](repeating: nil, count: shares.count)
    guard !up.isEmpty else { return targets }
    // Equal shares, except that a gateway with a ceiling under its share gets its ceiling
    // and the others share what it leaves.
    func split(_ total: Int, among links: [Int]) {
      var (left, open) = (total, links)
      while !open.isEmpty {
        let share = (left + open.count - 1) / open.count
        let capped = open.filter { shares[$0].most < share }
        guard !capped.isEmpty else { break }
        for link in capped {
          targets[link] = shares[link].most
          left -= shares[link].most
        }
        open.removeAll(where: capped.contains)
      }
      for (position, link) in open.enumerated() { targets[link] = left / open.count + (position < left % open.count ? 1 : 0) }
    }
    split(capacity, among: up)
    guard byDemand else { return targets }
    // A gateway that stayed under its share keeps what it used plus one; the busy share the rest.
    let idle = up.filter { shares[$0].peak < (shares[$0].sent ?? 0) }
    let busy = up.filter { !idle.contains($0) }
    guard !idle.isEmpty, !busy.isEmpty else { return targets }
    for link in idle { targets[link] = min(targets[link]!, shares[link].peak + 1) }
    split(capacity - idle.reduce(0) { $0 + targets[$1]! }, among: busy)
    // What busy gateways cannot take (their ceilings) goes back to the idle ones.
    var left = capacity - up.reduce(0) { $0 + targets[$1]! }
    while left > 0 {
      let open = idle.filter { targets[$0]! < shares[$0].most }
      guard !open.isEmpty else { break }
      let each = max(1, left / open.count)
      for link in open where left > 0 {
        let raise = min(each, left, shares[link].most - targets[link]!)
        targets[link]! += raise
        left -= raise
      }
    }
    return targets
  }

  /// The limits to send now, toward the goals: lowered ones first, then raises out of
  /// what is free, then READY for links still waiting for a slot. Each counts as sent from
  /// here. `byDemand` plans the goals again from what each gateway used since the last
  /// time; otherwise they are planned again (equal shares) only when the confirmed
  /// gateways or their ceilings changed.
  mutating func rebalance(byDemand: Bool) -> [Grant] {
    let up = shares.indices.filter { shares[$0].confirmed != nil }
    if byDemand || up != plannedFor || ceilingsChanged {
      goals = targets(byDemand: byDemand)
      plannedFor = up
      ceilingsChanged = false
    }
    let targets = goals
    var grants: [Grant] = []
    for link in shares.indices {
      guard let target = targets[link], shares[link].isSettled, let sent = shares[link].sent, target < sent else { continue }
      shares[link].sent = target
      grants.append(Grant(link: link, limit: target, isReady: false))
    }
    for link in shares.indices {
      guard let target = targets[link], shares[link].isSettled, let sent = shares[link].sent, target > sent else { continue }
      let raised = sent + min(target - sent, max(0, free))
      guard raised > sent else { continue }
      shares[link].sent = raised
      grants.append(Grant(link: link, limit: raised, isReady: false))
    }
    for link in shares.indices where shares[link].sent == nil && free >= 1 {
      shares[link].sent = 1
      grants.append(Grant(link: link, limit: 1, isReady: true))
    }
    if byDemand { for link in shares.indices { shares[link].peak = shares[link].held } }
    return grants
  }
}

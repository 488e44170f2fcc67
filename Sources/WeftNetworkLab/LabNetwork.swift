import Foundation
import Synchronization
import WeftProcess

/// Hosts on this machine for tests and benchmarks: each a network namespace with its own
/// address on a bridge, running real processes, whose links are cut and healed with
/// nftables inside the host. The creating process reaches the hosts through the bridge's
/// own address (`outsideAddress`), like one more machine on the same network.
///
/// Everything it makes (namespaces, veth pairs, the bridge) is removed by `remove()`, and by
/// `deinit` when its owner fails before that. Names carry the creating process's pid, so
/// what a run killed midway left behind is swept by the next one. Needs root, `ip`
/// (iproute2) and `nft` (nftables).
public final class LabNetwork: Sendable {
  /// Why hosts cannot be made here (not root, no `ip`, no `nft`), or nil.
  public static let unavailableReason: String? = {
    guard geteuid() == 0 else { return "making network namespaces needs root" }
    for tool in [ip, nft] where !FileManager.default.isExecutableFile(atPath: tool) {
      return "\(tool) is missing (scripts/setup.sh installs iproute2 and nftables)"
    }
    return nil
  }()

  /// Whether hosts can be made here.
  public static var isAvailable: Bool { unavailableReason == nil }

  /// The tools it runs.
  public static let ip = "/usr/sbin/ip"
  static let nft = "/usr/sbin/nft"

  /// The hosts, addressed 10.A.B.1, 10.A.B.2, …
  public let hosts: [LabHost]
  /// The creating process's own address on the hosts' network.
  public let outsideAddress: String
  private let bridge: String
  /// The root namespace's ends of the hosts' veth pairs.
  private let outerLinks: [String]
  private let removed = Mutex(false)

  private static let networksMade = Atomic<Int>(0)

  /// Makes `count` hosts on a new bridge.
  public init(hosts count: Int) throws {
    if let reason = Self.unavailableReason { throw LabError("no hosts: \(reason)") }
    Self.sweepLeftovers()
    let pid = getpid()
    let serial = Self.networksMade.add(1, ordering: .relaxed).oldValue
    let tag = "\(pid)n\(serial)"
    bridge = "wb\(tag)"
    // 10.A.B.0/24: B from the pid, A from the serial, so networks of parallel tests differ.
    let prefix = "10.\(100 + serial % 100).\(pid % 250)"
    outsideAddress = "\(prefix).254"
    hosts = (0..<count).map { LabHost(namespace: "weft-t-\(tag)-\($0)", address: "\(prefix).\($0 + 1)") }
    outerLinks = (0..<count).map { "wv\(tag)h\($0)" }
    do {
      try LabCommand.run(Self.ip, "link", "add", bridge, "type", "bridge")
      try LabCommand.run(Self.ip, "addr", "add", "\(outsideAddress)/24", "dev", bridge)
      try LabCommand.run(Self.ip, "link", "set", bridge, "up")
      for (index, host) in hosts.enumerated() {
        let outer = outerLinks[index]
        let inner = "wp\(tag)h\(index)"
        try LabCommand.run(Self.ip, "netns", "add", host.namespace)
        try LabCommand.run(Self.ip, "link", "add", outer, "type", "veth", "peer", "name", inner)
        try LabCommand.run(Self.ip, "link", "set", inner, "netns", host.namespace)
        try LabCommand.run(Self.ip, "link", "set", outer, "master", bridge, "up")
        try LabCommand.run(Self.ip, "-n", host.namespace, "link", "set", inner, "name", "eth0")
        try LabCommand.run(Self.ip, "-n", host.namespace, "addr", "add", "\(host.address)/24", "dev", "eth0")
        try LabCommand.run(Self.ip, "-n", host.namespace, "link", "set", "eth0", "up")
        try LabCommand.run(Self.ip, "-n", host.namespace, "link", "set", "lo", "up")
      }
    } catch {
      remove()
      throw error
    }
  }

  deinit { remove() }

  /// Kills what still runs in the hosts and deletes them and the bridge; later calls do nothing.
  public func remove() {
    let first = removed.withLock { removed in
      defer { removed = true }
      return !removed
    }
    guard first else { return }
    for host in hosts { Self.deleteNamespace(host.namespace) }
    // A namespace outlives its processes while the kernel still holds TCP connections of
    // it (retransmitting into a cut link); deleting our end of its veth pair now frees the
    // address range at once.
    for link in outerLinks { try? LabCommand.run(Self.ip, "link", "del", link) }
    try? LabCommand.run(Self.ip, "link", "del", bridge)
  }

  /// Deletes namespace `name` after killing the processes in it (a namespace with
  /// processes outlives its name, and with it the veth pair).
  private static func deleteNamespace(_ name: String) {
    if let pids = try? LabCommand.output(ip, "netns", "pids", name) {
      for pid in pids.split(whereSeparator: \.isWhitespace).compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
    }
    try? LabCommand.run(ip, "netns", "del", name)
  }

  /// Removes the hosts, bridges and veth pairs of test runs whose process is gone.
  private static func sweepLeftovers() {
    func isDead(_ pid: Int32) -> Bool { kill(pid, 0) != 0 && errno == ESRCH }
    for line in ((try? LabCommand.output(ip, "netns", "list")) ?? "").split(separator: "\n") {
      let name = String(line.split(separator: " ").first ?? "")
      let parts = name.split(separator: "-")
      guard name.hasPrefix("weft-t-"), parts.count == 4, let pid = Int32(parts[2].split(separator: "n").first ?? "") else { continue }
      if isDead(pid) { deleteNamespace(name) }
    }
    for line in ((try? LabCommand.output(ip, "-o", "link", "show")) ?? "").split(separator: "\n") {
      let fields = line.split(separator: " ")
      guard fields.count > 1 else { continue }
      let name = String(fields[1].split(separator: "@").first ?? "").trimmingCharacters(in: CharacterSet(charactersIn: ":"))
      guard name.hasPrefix("wb") || name.hasPrefix("wv"), let pid = Int32(name.dropFirst(2).split(separator: "n").first ?? "") else { continue }
      if isDead(pid) { try? LabCommand.run(ip, "link", "del", name) }
    }
  }
}

/// One host: a network namespace with one address.
public struct LabHost: Sendable {
  /// The namespace's name.
  public let namespace: String
  /// Its address on the network.
  public let address: String

  /// `tcp://ADDRESS:PORT`.
  public func endpoint(port: Int) -> String { "tcp://\(address):\(port)" }

  /// The `ip` arguments that run `executable` with `arguments` inside this host. `ip netns
  /// exec` execs the program itself, so the process started is the program (signals reach it).
  public func command(_ executable: String, _ arguments: [String]) -> [String] {
    ["netns", "exec", namespace, executable] + arguments
  }

  /// Cuts the host off silently: every packet in or out but loopback is dropped, with no
  /// reset or ICMP, as a pulled cable or a partition looks to its peers.
  public func cut() throws {
    try LabCommand.run(
      LabNetwork.ip, "netns", "exec", namespace, LabNetwork.nft, "-f", "-",
      input: """
        table inet weft_cut {
          chain input { type filter hook input priority 0; policy drop; iif "lo" accept; }
          chain output { type filter hook output priority 0; policy drop; oif "lo" accept; }
        }
        """)
  }

  /// Undoes `cut()`.
  public func heal() throws {
    try LabCommand.run(LabNetwork.ip, "netns", "exec", namespace, LabNetwork.nft, "delete", "table", "inet", "weft_cut")
  }
}

/// Why a host could not be made or changed.
public struct LabError: Error, CustomStringConvertible {
  public let description: String
  init(_ description: String) { self.description = description }
}

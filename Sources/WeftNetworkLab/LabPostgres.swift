import Foundation
import Synchronization
import WeftProcess

/// A PostgreSQL server of a test's or benchmark's own: a new cluster (`initdb`) in a
/// folder of its own, listening on 127.0.0.1 at a port nothing else uses, with a superuser
/// `weft` trusted from there, and a database `weft`, its data in a folder under `/tmp`.
///
/// `stop()` and `start()` take the server down and up again on the same folder and port,
/// as an outage looks to its clients. Everything is removed by `remove()`, and by `deinit`
/// when its owner fails first; a folder left by a killed run (its name carries the pid) is
/// swept by the next. Needs Debian's `postgresql` (scripts/setup.sh installs it); as root
/// the server runs as the `postgres` user, since PostgreSQL refuses to run as root.
public final class LabPostgres: Sendable {
  /// Why a server cannot be made here, or nil.
  public static let unavailableReason: String? = {
    guard binaries != nil else { return "PostgreSQL's server programs are missing (scripts/setup.sh installs postgresql)" }
    guard geteuid() != 0 || FileManager.default.isExecutableFile(atPath: runuser) else { return "\(runuser) is missing" }
    return nil
  }()

  /// The port it listens on, on 127.0.0.1.
  public let port: Int
  /// Its data folder.
  public let directory: String
  private let removed = Mutex(false)

  /// The newest installed server's programs: `/usr/lib/postgresql/VERSION/bin`.
  private static let binaries: String? = {
    let root = "/usr/lib/postgresql"
    let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
    guard let newest = versions.compactMap(Int.init).max() else { return nil }
    let folder = "\(root)/\(newest)/bin"
    return FileManager.default.isExecutableFile(atPath: "\(folder)/initdb") ? folder : nil
  }()
  private static let runuser = "/usr/sbin/runuser"
  private static let folderPrefix = "weft-pg-"
  /// `/tmp`, not `$TMPDIR`: the server runs as `postgres`, which must reach its folder, and
  /// a root-only temporary folder would not let it.
  private static let parentFolder = "/tmp"
  private static let serversMade = Atomic<Int>(0)
  private static let databasesMade = Atomic<Int>(0)
  private static let sharedServer = Mutex<LabPostgres?>(nil)

  /// One server for the whole process, started on first use and removed when the process
  /// exits: tests that need a database but not a server of their own take a new database
  /// on it (``createDatabase()``), so a suite starts one server, not one per test.
  public static func shared() throws -> LabPostgres {
    try sharedServer.withLock { server in
      if let server { return server }
      let made = try LabPostgres()
      server = made
      atexit { LabPostgres.sharedServer.withLock { $0?.remove() } }
      return made
    }
  }

  /// Makes a cluster and starts its server (waiting until it takes connections).
  public init() throws {
    if let reason = Self.unavailableReason { throw LabError("no PostgreSQL: \(reason)") }
    Self.sweepLeftovers()
    let serial = Self.serversMade.add(1, ordering: .relaxed).oldValue
    directory = "\(Self.parentFolder)/\(Self.folderPrefix)\(getpid())-\(serial)"
    port = try Self.freePort()
    do {
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
      if geteuid() == 0 { try LabCommand.run("/bin/chown", "postgres:", directory) }
      // No sync of the new files: the folder is thrown away; the server itself commits durably.
      try Self.tool("initdb", ["-D", directory, "-U", "weft", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])
      let settings = """

        listen_addresses = '127.0.0.1'
        port = \(port)
        unix_socket_directories = '\(directory)'
        max_connections = 200

        """
      let configuration = FileHandle(forWritingAtPath: "\(directory)/postgresql.conf")
      configuration?.seekToEndOfFile()
      configuration?.write(Data(settings.utf8))
      try configuration?.close()
      try start()
      try sql("CREATE DATABASE weft", database: "postgres")
    } catch {
      remove()
      throw error
    }
  }

  deinit { remove() }

  /// Makes a new, empty database and returns its URI.
  public func createDatabase() throws -> String {
    let name = "weft_\(Self.databasesMade.add(1, ordering: .relaxed).oldValue)"
    try sql("CREATE DATABASE \(name)", database: "postgres")
    return uri(database: name)
  }

  /// The libpq URI of `database` on this server.
  public func uri(database: String = "weft") -> String { "postgresql://weft@127.0.0.1:\(port)/\(database)" }

  /// Starts the server and waits (at most 60 s) until it takes connections.
  public func start() throws {
    try Self.tool("pg_ctl", ["-D", directory, "-l", "\(directory)/server.log", "-w", "-t", "60", "start"], timeout: 70)
  }

  /// Stops the server, ending its connections at once (`fast` shutdown).
  public func stop() throws {
    try Self.tool("pg_ctl", ["-D", directory, "-m", "fast", "-w", "-t", "60", "stop"], timeout: 70)
  }

  /// Runs SQL through `psql` and returns what it printed (unaligned, tuples only).
  @discardableResult
  public func sql(_ statement: String, database: String = "weft") throws -> String {
    try Self.tool("psql", ["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", "\(port)", "-U", "weft", "-d", database, "-c", statement])
      .trimmingCharacters(in: .whitespacesAndNewlines)
  }

  /// Stops the server at once and deletes its folder; later calls do nothing.
  public func remove() {
    let first = removed.withLock { removed in
      defer { removed = true }
      return !removed
    }
    guard first else { return }
    Self.discard(directory)
  }

  private static func discard(_ directory: String) {
    if FileManager.default.fileExists(atPath: "\(directory)/postmaster.pid") {
      _ = try? tool("pg_ctl", ["-D", directory, "-m", "immediate", "-w", "-t", "20", "stop"], timeout: 30)
    }
    try? FileManager.default.removeItem(atPath: directory)
  }

  /// Removes the servers of runs whose process is gone.
  private static func sweepLeftovers() {
    let temporary = parentFolder
    for name in (try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? [] where name.hasPrefix(folderPrefix) {
      guard let pid = Int32(name.dropFirst(folderPrefix.count).split(separator: "-").first ?? "") else { continue }
      if kill(pid, 0) != 0 && errno == ESRCH { discard("\(temporary)/\(name)") }
    }
  }

  /// Runs one of the server's programs, as `postgres` when this process is root.
  @discardableResult
  private static func tool(_ name: String, _ arguments: [String], timeout: TimeInterval = 60) throws -> String {
    let program = "\(binaries!)/\(name)"
    guard geteuid() == 0 else { return try LabCommand.output(program, arguments, timeout: timeout) }
    return try LabCommand.output(runuser, ["-u", "postgres", "--", program] + arguments, timeout: timeout)
  }

  /// A TCP port on 127.0.0.1 that nothing listens on now (the kernel's pick).
  private static func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw LabError("socket: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw LabError("bind: \(String(cString: strerror(errno)))") }
    return Int(UInt16(bigEndian: address.sin_port))
  }
}

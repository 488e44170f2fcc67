import CWeftSpawn
import Foundation
import Synchronization
import WeftProtocol

#if canImport(Glibc)
import Glibc
#endif

/// A child process started with `posix_spawn`, in place of Foundation's `Process`.
///
/// Foundation's `Process.run()` on Linux (Swift 6.3.1) scans `/proc/self/fd` by copying
/// 256 bytes out of every directory entry, which reads past glibc's buffer and crashes
/// the parent now and then (swift-corelibs-foundation pull request 5472); a process that
/// starts many children, like the test suite or `weft up`, meets it. This one asks the C
/// library to close every descriptor from 3 up in the child instead (`closefrom`).
///
/// A thread per child waits for it to exit, so `isRunning` and `terminationStatus` are
/// always current; the child gets its own process group and default signal handling, as
/// Foundation gives it.
public final class SpawnedProcess: Sendable {
  /// Where one of the child's standard streams goes.
  public enum Stream: Sendable {
    /// The same as the parent's.
    case inherit
    /// `/dev/null`.
    case null
    /// A new pipe; the parent's end is in ``input``, ``output`` or ``error``.
    case pipe
  }

  /// The child's process id.
  public let pid: Int32
  /// The parent's ends of the pipes asked for: write to `input`, read `output` and `error`.
  public let input: FileHandle?
  public let output: FileHandle?
  public let error: FileHandle?

  /// Filled by the thread that waits for the child.
  private final class Exit: Sendable {
    let status = Mutex<Int32?>(nil)
    let signalled = DispatchSemaphore(value: 0)
  }

  private let exit = Exit()

  /// Starts `executable` with `arguments` (not including the program name) and exactly
  /// `environment`.
  public init(
    executable: String, arguments: [String], environment: [String: String], input inputStream: Stream = .inherit,
    output outputStream: Stream = .inherit, error errorStream: Stream = .inherit
  ) throws {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    var parentEnds: [FileHandle?] = []
    var childEnds: [Int32] = []
    defer { for fd in childEnds { close(fd) } }
    for (target, stream) in [(Int32(0), inputStream), (1, outputStream), (2, errorStream)] {
      switch stream {
      case .inherit:
        parentEnds.append(nil)
      case .null:
        posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0)
        parentEnds.append(nil)
      case .pipe:
        var fds: [Int32] = [-1, -1]
        guard weft_pipe_cloexec(&fds) == 0 else { throw SupervisorError("pipe: \(String(cString: strerror(errno)))") }
        let (parent, child) = target == 0 ? (fds[1], fds[0]) : (fds[0], fds[1])
        posix_spawn_file_actions_adddup2(&actions, child, target)
        childEnds.append(child)
        parentEnds.append(FileHandle(fileDescriptor: parent, closeOnDealloc: true))
      }
    }
    // Nothing else of the parent's leaks into the child.
    weft_spawn_close_from(&actions, 3)

    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    // Its own process group; no signal blocked, and every one handled the default way
    // (one the parent ignores, like SIGPIPE or SIGINT, would stay ignored otherwise).
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    posix_spawnattr_setpgroup(&attributes, 0)
    var noSignals = sigset_t()
    sigemptyset(&noSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    var allSignals = sigset_t()
    sigfillset(&allSignals)
    posix_spawnattr_setsigdefault(&attributes, &allSignals)

    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { for pointer in argv + envp { free(pointer) } }
    var spawned: pid_t = 0
    let result = posix_spawn(&spawned, executable, &actions, &attributes, argv, envp)
    guard result == 0 else { throw SupervisorError("cannot start \(executable): \(String(cString: strerror(result)))") }
    let pid = spawned
    self.pid = pid
    (input, output, error) = (parentEnds[0], parentEnds[1], parentEnds[2])

    let exit = self.exit
    Thread.start(named: "weft-wait-\(pid)") {
      var raw: Int32 = 0
      while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
      // Exit code, or the signal that ended it (as Foundation's terminationStatus).
      let code = raw & 0x7f == 0 ? (raw >> 8) & 0xff : raw & 0x7f
      exit.status.withLock { $0 = code }
      exit.signalled.signal()
    }
  }

  /// Whether the child has not exited yet.
  public var isRunning: Bool { exit.status.withLock { $0 == nil } }

  /// Its exit code, or the signal that ended it; nil while it runs.
  public var terminationStatus: Int32? { exit.status.withLock { $0 } }

  /// Sends it a signal.
  public func signal(_ signal: Int32) { kill(pid, signal) }

  /// Blocks until it exits; returns ``terminationStatus``.
  @discardableResult
  public func waitUntilExit() -> Int32 {
    exit.signalled.wait()
    exit.signalled.signal()  // later waits return at once too
    return terminationStatus ?? -1
  }
}

import Foundation
import WeftProtocol

/// Children started by `weft up` or `weft-bench` carry this in their environment.
public let exitWithParentVariable = "WEFT_EXIT_WITH_PARENT"

/// When started by a supervisor, sends ourselves SIGTERM (a graceful drain) if that
/// supervisor goes away, even by SIGKILL, so no orphan keeps serving.
///
/// Not `prctl(PR_SET_PDEATHSIG)`: Linux sends that signal when the *thread* that
/// started the child exits, not the process. Foundation's `Process` starts children
/// from whichever thread runs the call, here a thread of the Swift concurrency pool,
/// which the runtime may retire while the supervisor lives on; the child would then be
/// stopped for nothing. Watching our parent's pid costs one `getppid()` every 250 ms on a
/// thread that lives as long as the process.
public func exitWithParentIfSupervised() {
  guard ProcessInfo.processInfo.environment[exitWithParentVariable] == "1" else { return }
  let parent = getppid()
  Thread.start(named: "weft-parent") {
    while getppid() == parent { Thread.sleep(forTimeInterval: 0.25) }
    kill(getpid(), SIGTERM)
  }
}

import Foundation

/// Children started by `weft up` or `weft bench` carry this in their environment.
let exitWithParentVariable = "WEFT_EXIT_WITH_PARENT"

/// When started by a supervisor, sends ourselves SIGTERM (a graceful drain) if that
/// supervisor goes away, even by SIGKILL, so no orphan keeps serving.
func exitWithParentIfSupervised() {
  guard ProcessInfo.processInfo.environment[exitWithParentVariable] == "1" else { return }
  let parent = getppid()
  let thread = Thread {
    while getppid() == parent { Thread.sleep(forTimeInterval: 0.25) }
    kill(getpid(), SIGTERM)
  }
  thread.name = "weft-parent-watch"
  thread.start()
}

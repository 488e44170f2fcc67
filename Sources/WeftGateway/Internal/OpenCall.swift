import WeftProtocol
import ZeroMQ

/// The gateway's part of a call that stays open (a client-streaming or bidirectional
/// method): the client's message window, and what waits for the call's worker.
///
/// The gateway holds a client to the window its worker granted, so a call never has more
/// than ``CallWindow/initialMessages`` messages in the gateway or on their way to the
/// worker; before the call has a worker, those are kept here.
final class OpenCall {
  /// Messages the client may still send before the worker grants more.
  var messagesAllowed = CallWindow.initialMessages
  /// The client half-closed: it sends no more messages.
  var halfClosed = false
  /// Before the call has a worker: its messages (body frames each), in order.
  var waitingMessages: [Frames] = []
  /// Before the call has a worker: responses the client granted beyond its OPEN's.
  var waitingCredit: UInt32 = 0
  /// When the gateway last sent the client anything on this call (for keep-alives).
  var lastSentToClient: UInt64

  init(firstMessage: Bool, at now: UInt64) {
    if firstMessage { messagesAllowed -= 1 }
    lastSentToClient = now
  }
}

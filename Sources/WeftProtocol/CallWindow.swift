/// Flow control on calls that stay open (client-streaming and bidirectional methods):
/// each side may send only as many messages as the other granted.
public enum CallWindow {
  /// Messages a client may send on a new call before the worker grants more (the OPEN's
  /// body, if any, is the first). The worker grants one back for each it has taken.
  public static let initialMessages = 8
  /// Responses a worker may send before the client grants more, when its OPEN names no
  /// `credit`.
  public static let defaultResponses = 16
  /// Most responses a client may have granted and not yet received.
  public static let maxResponses = 1_024

  /// The response window a client's OPEN asks for.
  public static func responses(requested credit: UInt32) -> Int {
    credit == 0 ? defaultResponses : min(Int(credit), maxResponses)
  }
}

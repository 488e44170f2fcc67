/// Metadata that closes the reward loop without the gateway reading a body.
///
/// A reply whose version a routing policy chose, or that was personalised, carries a
/// ``token``. Feedback sent on what that reply showed, with the token in the call's
/// metadata, is credited to the version that produced it: the recommender answers with
/// ``credit`` (how many events it applied and their rewards' sum), which the gateway
/// turns into rewards for the version, as `weft.mesh/reward` would.
public enum RewardMetadata {
  /// On a reply: the token to send back, under the same key, with feedback on it.
  public static let token = "weft-reward-token"
  /// On a `recommender/feedback` reply to a call that carried a token: `TOKEN COUNT SUM`.
  public static let credit = "weft-reward-credit"

  /// The text of ``credit``: `count` events applied, whose rewards (each in [-1, 1]) sum to `sum`.
  public static func creditText(token: String, count: Int, sum: Double) -> String { "\(token) \(count) \(sum)" }

  /// ``credit``'s parts, or nil for a text that is not one.
  public static func parseCredit(_ text: String) -> (token: String, count: Int, sum: Double)? {
    let parts = text.split(separator: " ")
    guard parts.count == 3, let count = Int(parts[1]), count > 0, let sum = Double(parts[2]), sum.isFinite,
      abs(sum) <= Double(count)
    else { return nil }
    return (String(parts[0]), count, sum)
  }
}

import WeftGateway

/// The reference of every key of the config file, written from the sections' key tables,
/// as `docs/CONFIGURATION.md` holds it (a test keeps the two equal) and `weft config
/// reference` prints it.
public enum ConfigurationReference {
  /// One Markdown table per section, in file order.
  public static var markdown: String {
    [
      table("(top level)", MeshFile.self),
      table("gateway", GatewayConfiguration.self),
      table("gateway.curve", GatewayCurveSection.self),
      table("workers[]", WorkerSection.self),
      table("workers[].curve, recommender.curve", PeerCurveSection.self),
      table("routes[]", RouteSpec.self),
      table("routes[].ramp", RouteSpec.Ramp.self),
      table("routes[].bandit", RouteSpec.Bandit.self),
      table("recommender", RecommenderSection.self),
    ].joined(separator: "\n")
  }

  private static func table<Section: ConfigurationSection>(_ title: String, _: Section.Type) -> String {
    let defaults = Section.defaults
    var lines = ["### `\(title)`", "", "| key | takes | default | meaning |", "|---|---|---|---|"]
    for key in Section.keys {
      lines.append("| `\(key.name)` | \(key.type) | \(key.isRequired ? "required" : key.defaultText(defaults)) | \(key.meaning) |")
    }
    return lines.joined(separator: "\n") + "\n"
  }
}

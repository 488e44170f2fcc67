/// Weft's release version, as `weft --version` and the HTTP server metadata report it.
public enum WeftVersion {
  /// The version string, `MAJOR.MINOR.PATCH`.
  public static let current = "0.1.0"
}

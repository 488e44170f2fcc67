import ArgumentParser
import WeftGateway

/// `weft keys generate`: a CURVE keypair as files.
struct KeysCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "keys", abstract: "Make CURVE keys for gateways, clients and workers.", subcommands: [Generate.self])

  struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Write NAME.key (the public key, to hand out) and NAME.secret (mode 0600) into a directory.",
      discussion: """
        The gateway lists allowed peers by putting their NAME.key files into its key
        directories, one per role (clients, workers, admins); see docs/SECURITY.md.
        """)
    @Option(help: "Directory for the two files (created if missing).")
    var out: String
    @Option(help: "The key's name: the files' stem, and how the gateway names the peer.")
    var name: String = "gateway"

    func validate() throws {
      guard !name.isEmpty, !name.contains("/"), !name.contains(":") else { throw ValidationError("--name must be a plain file name") }
    }

    func run() throws {
      let paths = try CurveKeyFiles.generate(in: out, name: name)
      print("wrote \(paths.publicKey) and \(paths.secretKey)")
    }
  }
}

import ArgumentParser
import WeftGateway

/// `weft keys generate|init`: CURVE keypairs as files.
struct KeysCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "keys", abstract: "Make CURVE keys for gateways, clients and workers.", subcommands: [Generate.self, Init.self])

  struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Write NAME.key (the public key, to hand out) and NAME.secret (mode 0600) into a directory.",
      discussion: """
        The gateway lists allowed peers by putting their NAME.key files into its key \
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

  struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Make a mesh key directory: the gateway's pair, a local worker pair, a local admin pair and an HTTP token.",
      discussion: """
        Keys already there are kept. Name the directory in the config as gateway.curve.keys_dir \
        and the gateway turns CURVE on; `weft up` then gives its workers the local worker pair, \
        and the CLI on this machine uses the admin pair without flags when the directory is the \
        default one. See docs/SECURITY.md.
        """)
    @Option(help: "The directory (default: $WEFT_KEYS, else ~/.local/state/weft/keys).")
    var dir: String = MeshKeys.defaultDirectory

    func run() throws {
      let keys = MeshKeys(directory: dir)
      let written = try keys.createMissing()
      print(written.isEmpty ? "\(keys.directory) has every key already" : "wrote \(written.joined(separator: ", ")) (and the pairs' .key files)")
      print("gateway public key (for clients and workers elsewhere): \(keys.gatewayPublicKey)")
      print("clients allowed: NAME.key files in \(keys.clientKeys)")
      print("HTTP bearer tokens accepted: NAME.token files in \(keys.httpTokens)")
    }
  }
}

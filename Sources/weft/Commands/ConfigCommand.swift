import ArgumentParser
import WeftConfiguration
import WeftGateway
import WeftProcess

/// `weft config`: checks a config file, or prints the reference of every key.
struct ConfigCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "config", abstract: "Check a mesh config file, or print every key it takes.",
    subcommands: [Check.self, Reference.self])

  struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Read a config file as `weft up` would; print what it runs, or the first problem with its line and key.")
    @Argument(help: "The YAML file.")
    var file: String = "deploy/weft.yaml"

    func run() throws {
      let mesh: MeshFile
      do {
        mesh = try MeshFile.load(path: file)
      } catch {
        complain("\(error)")
        throw ExitCode.failure
      }
      let workers = mesh.workers.map { "\($0.model)×\($0.replicas)" }.joined(separator: ", ")
      print(
        "\(file): gateway \(mesh.gateway.frontend) / \(mesh.gateway.backend); workers: \(workers.isEmpty ? "none" : workers); "
          + "routes: \(mesh.routes.count); recommender: \(mesh.recommender == nil ? "no" : "yes")")
    }
  }

  struct Reference: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Print every key of the config file with its type, default and meaning (Markdown).")

    func run() { print(ConfigurationReference.markdown, terminator: "") }
  }
}

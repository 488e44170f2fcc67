import Foundation
import WeftGateway
import WeftModels
import WeftProtocol
import WeftWorker
import ZeroMQ
import Yams

/// A whole mesh as its YAML config file describes it (`deploy/weft.yaml`): the schema of
/// every key lives in the sections' key tables, and `docs/CONFIGURATION.md` lists them.
///
/// Unknown keys, values of the wrong type or out of range, and missing required keys
/// are refused with the file, line and key: `deploy/weft.yaml:14: workers[2].max_batch_size:
/// must be 1 to 4096, got 0`.
public struct MeshFile: Sendable, ConfigurationSection {
  /// The gateway, its routes from `routes:` included.
  public var gateway = GatewayConfiguration()
  /// The workers `weft up` runs, in file order.
  public var workers: [WorkerSection] = []
  /// The routing policies as written.
  public var routes: [RouteSpec] = []
  /// The recommender, if the file has one.
  public var recommender: RecommenderSection?

  /// An empty file: a gateway with every default, no workers.
  public init() {}

  public static var defaults: MeshFile { MeshFile() }

  public static var keys: [ConfigurationKey<MeshFile>] {
    [
      ConfigurationKey("gateway", type: "mapping (gateway)", meaning: "the gateway", defaultText: { _ in "every default" }) {
        try $0.gateway.read($1, $2)
      },
      ConfigurationKey("workers", type: "list of mappings (workers[])", meaning: "the workers `weft up` runs", defaultText: { _ in "none" }) {
        file, node, reader in
        file.workers = try reader.sequence(node).enumerated().map { index, item in
          let itemReader = reader.item(index)
          let section = try WorkerSection.read(item, itemReader, from: .defaults)
          if section.settings.service != nil, ModelCatalog.entry(named: section.model)?.allowsServiceName != true {
            throw itemReader.child("service").error(item, "only the built-in models (echo, sleep) take another service name")
          }
          return section
        }
      },
      ConfigurationKey("routes", type: "list of mappings (routes[])", meaning: "version routing per service", defaultText: { _ in "none" }) {
        file, node, reader in
        var services = Set<String>()
        file.routes = try reader.sequence(node).enumerated().map { index, item in
          let itemReader = reader.item(index)
          let spec = try RouteSpec.read(item, itemReader, from: .defaults)
          guard services.insert(spec.service).inserted else { throw itemReader.error(item, "service '\(spec.service)' has a route already") }
          do {
            // The gateway's own checks, so a policy it would refuse is refused here, with its line.
            try RoutePolicyCheck.validate(try spec.policy())
          } catch let error as WeftError {
            throw itemReader.error(item, error.message)
          } catch {
            throw itemReader.error(item, "\(error)")
          }
          return spec
        }
      },
      ConfigurationKey(
        "recommender", type: "mapping (recommender)", meaning: "one `weft recommender` process", defaultText: { _ in "none" }
      ) {
        $0.recommender = try RecommenderSection.read($1, $2, from: .defaults)
      },
    ]
  }

  /// Reads and checks the config file at `path`; `creatingMeshKeys` makes the keys
  /// missing from a mesh key directory it names (`weft up`) instead of refusing it.
  public static func load(path: String, creatingMeshKeys: Bool = false) throws -> MeshFile {
    let text: String
    do {
      text = try String(contentsOfFile: path, encoding: .utf8)
    } catch {
      throw ConfigurationError("cannot read config file \(path): \(error.localizedDescription)")
    }
    return try parse(text, source: path, creatingMeshKeys: creatingMeshKeys)
  }

  /// Parses YAML text; `source` names it in errors.
  public static func parse(_ text: String, source: String, creatingMeshKeys: Bool = false) throws -> MeshFile {
    let root: Node?
    do {
      root = try Yams.compose(yaml: text)
    } catch {
      throw ConfigurationError("\(source): not YAML: \(error)")
    }
    var file = MeshFile()
    if let root { try file.read(root, ValueReader(source: source, path: "", createsMeshKeys: creatingMeshKeys)) }
    file.gateway.routes = try file.routes.map { try $0.policy() }
    if let keys = file.gateway.security?.meshKeys { try file.linkLocalPeers(with: keys, source: source) }
    return file
  }

  /// Gives the workers and the recommender that name no keys of their own the mesh key
  /// directory's local worker pair.
  private mutating func linkLocalPeers(with keys: MeshKeys, source: String) throws {
    let credentials: CurveClientCredentials
    do {
      credentials = try keys.workerCredentials()
    } catch {
      throw ConfigurationError("\(source): gateway.curve.keys_dir: \(error)")
    }
    for index in workers.indices where workers[index].link.curve == nil { workers[index].link.curve = credentials }
    if recommender?.link.curve == nil { recommender?.link.curve = credentials }
  }

  /// The worker section at `index` of `workers:`.
  public func worker(at index: Int, source: String) throws -> WorkerSection {
    guard workers.indices.contains(index) else {
      throw ConfigurationError("\(source): workers[\(index)]: the file has \(workers.count) workers")
    }
    return workers[index]
  }
}

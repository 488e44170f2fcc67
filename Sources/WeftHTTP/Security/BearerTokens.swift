import Foundation
import HTTPTypes
import Logging
import Synchronization
import WeftProtocol

/// The bearer tokens the HTTP side's model endpoints accept: one `NAME.token` file per
/// caller in a directory, its first line the token. Read at start and again on SIGHUP
/// (``reload()``), so removing a file revokes its token without a restart.
public final class BearerTokens: Sendable {
  /// The directory read.
  public let directory: String
  private let logger: Logger
  private let tokens: Mutex<[(name: String, token: [UInt8])]>

  /// The file suffix of a token.
  public static let fileExtension = "token"
  /// Shorter tokens are refused: they could be guessed.
  static let minimumLength = 16

  /// Reads the tokens in `directory`.
  /// - Throws: ``ConfigurationError`` when the directory cannot be read.
  public init(directory: String, logger: Logger) throws {
    self.directory = directory
    self.logger = logger
    tokens = Mutex(try Self.read(directory, logger: logger))
  }

  /// Reads the directory again; on an error the tokens read before stay.
  public func reload() {
    do {
      let read = try Self.read(directory, logger: logger)
      tokens.withLock { $0 = read }
      logger.info("HTTP bearer tokens reloaded", metadata: ["count": "\(read.count)", "directory": "\(directory)"])
    } catch {
      logger.error("HTTP bearer tokens not reloaded; the previous ones stay", metadata: ["error": "\(error)"])
    }
  }

  /// The name of the token an `Authorization` header carries.
  /// - Throws: ``InferenceError`` (401) when there is no bearer token or it is not known.
  func authorize(_ authorization: String?) throws -> String {
    guard let authorization, authorization.count > 7, authorization.prefix(7).lowercased() == "bearer " else {
      throw InferenceError(.unauthorized, "this gateway's models need `Authorization: Bearer TOKEN` (a NAME.token file of gateway.http_tokens)")
    }
    let given = Array(authorization.dropFirst(7).trimmingCharacters(in: .whitespaces).utf8)
    // Every known token is compared in full, so the time taken says nothing about which matched.
    let match = tokens.withLock { tokens in
      tokens.reduce(nil as String?) { found, entry in Self.equalInConstantTime(entry.token, given) ? entry.name : found }
    }
    guard let match else { throw InferenceError(.unauthorized, "the bearer token is not one this gateway accepts") }
    return match
  }

  private static func equalInConstantTime(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    return zip(a, b).reduce(0 as UInt8) { $0 | ($1.0 ^ $1.1) } == 0
  }

  private static func read(_ directory: String, logger: Logger) throws -> [(name: String, token: [UInt8])] {
    let names: [String]
    do {
      names = try FileManager.default.contentsOfDirectory(atPath: directory)
    } catch {
      throw ConfigurationError(
        "cannot read the HTTP token directory \(directory): \(error.localizedDescription) (`weft keys init --dir` makes one in a mesh key directory)")
    }
    return names.sorted().compactMap { file in
      guard (file as NSString).pathExtension == fileExtension else { return nil }
      let path = (directory as NSString).appendingPathComponent(file)
      guard let text = try? String(contentsOfFile: path, encoding: .utf8),
        let token = text.split(whereSeparator: \.isNewline).first?.trimmingCharacters(in: .whitespaces), token.count >= minimumLength
      else {
        logger.warning("HTTP token file skipped: it needs a token of at least \(minimumLength) characters on its first line", metadata: ["file": "\(path)"])
        return nil
      }
      return ((file as NSString).deletingPathExtension, Array(token.utf8))
    }
  }
}

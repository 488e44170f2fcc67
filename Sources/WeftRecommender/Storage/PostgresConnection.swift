import CPostgres
import Foundation

/// A failed PostgreSQL call, with the server's SQLSTATE and message.
public struct PostgresError: Error, CustomStringConvertible {
  /// The five-character SQLSTATE, e.g. `40P01` (deadlock); `08006` when the connection
  /// failed on the client's side.
  public let sqlState: String
  /// What PostgreSQL (or libpq) said, and what Weft was doing.
  public let message: String

  public var description: String { message }

  /// The server is unreachable, shutting down or refusing connections: worth retrying later.
  var isUnavailable: Bool {
    sqlState.hasPrefix("08") || ["57P01", "57P02", "57P03", "53300"].contains(sqlState)
  }
  /// Another transaction won a lock (deadlock or serialisation failure): run again.
  var isConflict: Bool { sqlState == "40001" || sqlState == "40P01" }
  /// Out of disk or memory on the server.
  var isFull: Bool { sqlState == "53100" || sqlState == "53200" }
  /// A statement or lock wait ran past its timeout.
  var isTimeout: Bool { sqlState == "57014" || sqlState == "55P03" }

  static let connectionFailure = "08006"
}

/// One statement of a pipeline: its SQL and the values bound to its parameters.
struct PostgresStatement {
  let sql: String
  let values: [PostgresValue]

  init(_ sql: String, _ values: [PostgresValue] = []) {
    self.sql = sql
    self.values = values
  }
}

/// A value bound to a statement's parameter, sent in PostgreSQL's binary format.
enum PostgresValue {
  case integer(Int64)
  case real(Double)
  case text(String)
  case bytes(Data)
}

/// One libpq connection and its prepared statements.
///
/// Not thread-safe: its owner (the profile store) is used from one thread at a time.
/// Parameters and results travel in binary, so vectors go as raw bytes and numbers
/// without printing and parsing.
final class PostgresConnection {
  private let handle: OpaquePointer
  private var statements: [String: String] = [:]
  /// The server process serving this connection, to tell its own notifications apart.
  let backendPID: Int32

  /// Connects to `location` (a libpq URI or key=value string), waiting at most
  /// `connectTimeoutSeconds`, and sets the session's statement timeout.
  init(location: String, connectTimeoutSeconds: Int, statementTimeoutMs: Int) throws {
    // Defaults first: values in `location` override them (libpq's expand_dbname rule).
    let keywords = ["connect_timeout", "application_name", "dbname"]
    let values = ["\(connectTimeoutSeconds)", "weft-recommender", location]
    let connection = keywords.withCStrings { keywordPointers in
      values.withCStrings { valuePointers in PQconnectdbParams(keywordPointers, valuePointers, 1) }
    }
    guard let connection else { throw PostgresError(sqlState: PostgresError.connectionFailure, message: "libpq: out of memory") }
    guard PQstatus(connection) == CONNECTION_OK else {
      let message = Self.trimmed(PQerrorMessage(connection))
      PQfinish(connection)
      throw PostgresError(sqlState: PostgresError.connectionFailure, message: "cannot connect to PostgreSQL: \(message)")
    }
    handle = connection
    weft_pq_silence_notices(connection)
    backendPID = PQbackendPID(connection)
    try execute("SET statement_timeout = \(statementTimeoutMs); SET lock_timeout = \(statementTimeoutMs)")
  }

  deinit { PQfinish(handle) }

  /// Whether the connection broke (the server went away); a broken one is replaced.
  var isBroken: Bool { PQstatus(handle) != CONNECTION_OK }

  /// Runs SQL without parameters (several statements allowed).
  func execute(_ sql: String) throws {
    let result = PQexec(handle, sql)
    defer { PQclear(result) }
    try check(result, sql)
  }

  /// Runs one statement with `values` bound, calling `row` for each result row; returns
  /// the rows it inserted, updated or deleted.
  @discardableResult
  func query(_ sql: String, _ values: [PostgresValue] = [], row: (PostgresRow) throws -> Void = { _ in }) throws -> Int {
    try pipeline([PostgresStatement(sql, values)]) { _, result in try row(result) }[0]
  }

  /// Sends every statement before reading any result (libpq's pipeline mode), so they
  /// cost one round trip together; `row` gets each result row with its statement's index.
  /// Returns each statement's count of rows inserted, updated or deleted. The first
  /// failure is thrown once every result was read; the statements after it did not run.
  @discardableResult
  func pipeline(_ statements: [PostgresStatement], row: (Int, PostgresRow) throws -> Void = { _, _ in }) throws -> [Int] {
    guard !statements.isEmpty else { return [] }
    let names = try statements.map { try prepared($0.sql, types: $0.values.map(\.typeOID)) }
    guard PQenterPipelineMode(handle) == 1 else { throw failure("entering pipeline mode") }
    defer { PQexitPipelineMode(handle) }
    for (statement, name) in zip(statements, names) {
      guard send(name, statement.values) else { throw failure("sending \(statement.sql.prefix(60))") }
    }
    guard PQpipelineSync(handle) == 1 else { throw failure("ending a pipeline") }
    var counts: [Int] = []
    var firstError: PostgresError?
    for (index, statement) in statements.enumerated() {
      // A statement's results end with a null; a lost connection ends them all.
      guard let result = PQgetResult(handle) else { throw failure("reading a result") }
      defer { PQclear(result) }
      while let extra = PQgetResult(handle) { PQclear(extra) }
      if PQresultStatus(result) == PGRES_PIPELINE_ABORTED {
        counts.append(0)
        continue
      }
      do {
        try check(result, statement.sql)
        for rowIndex in 0..<PQntuples(result) { try row(index, PostgresRow(result: result, row: rowIndex)) }
      } catch let error as PostgresError {
        firstError = firstError ?? error
      }
      counts.append(Int(String(cString: PQcmdTuples(result))) ?? 0)
    }
    // The pipeline's end, then the null after it.
    while let result = PQgetResult(handle) {
      let status = PQresultStatus(result)
      PQclear(result)
      if status == PGRES_PIPELINE_SYNC { break }
    }
    if let firstError { throw firstError }
    return counts
  }

  /// Queues one prepared statement's execution with its parameters in binary.
  private func send(_ name: String, _ values: [PostgresValue]) -> Bool {
    var encoded: [UInt8] = []
    var offsets: [Int] = []
    var lengths: [Int32] = []
    for value in values {
      offsets.append(encoded.count)
      value.append(to: &encoded)
      lengths.append(Int32(encoded.count - offsets.last!))
    }
    let formats = [Int32](repeating: 1, count: values.count)
    // libpq copies the parameters into its output buffer before returning.
    return encoded.withUnsafeBufferPointer { bytes in
      // A zero-length buffer may have no address; binary parameters only need a non-null one.
      let base = UnsafeRawPointer(bytes.baseAddress) ?? UnsafeRawPointer(bitPattern: 1)!
      let pointers: [UnsafePointer<CChar>?] = offsets.map { (base + $0).assumingMemoryBound(to: CChar.self) }
      return PQsendQueryPrepared(handle, name, Int32(values.count), pointers, lengths, formats, 1) == 1
    }
  }

  private func failure(_ doing: String) -> PostgresError {
    PostgresError(
      sqlState: isBroken ? PostgresError.connectionFailure : "XX000", message: "\(doing): \(Self.trimmed(PQerrorMessage(handle)))")
  }

  /// The payloads of notifications on `channel` from other sessions' transactions that
  /// committed before this call, read in one round trip to the server.
  ///
  /// Reading only what has already arrived is not enough: the server hands a notification
  /// to a listening session when that session next goes idle, which can be a moment after
  /// the notifying transaction's commit returned to its client. An empty query makes the
  /// session go idle once more, and the server sends what is pending before it reports
  /// ready, so a write another replica acknowledged before this call is always seen.
  func notifications(on channel: String) throws -> [String] {
    let roundTrip = PQexec(handle, "")
    defer { PQclear(roundTrip) }
    guard PQresultStatus(roundTrip) == PGRES_EMPTY_QUERY else { throw failure("reading notifications") }
    var payloads: [String] = []
    while let notification = PQnotifies(handle) {
      defer { PQfreemem(notification) }
      let pointee = notification.pointee
      guard pointee.be_pid != backendPID, String(cString: pointee.relname) == channel else { continue }
      payloads.append(String(cString: pointee.extra))
    }
    return payloads
  }

  private func prepared(_ sql: String, types: [Oid]) throws -> String {
    if let name = statements[sql] { return name }
    let name = "weft_\(statements.count)"
    let result = PQprepare(handle, name, sql, Int32(types.count), types)
    defer { PQclear(result) }
    try check(result, sql)
    statements[sql] = name
    return name
  }

  private func check(_ result: OpaquePointer?, _ sql: String) throws {
    let status = PQresultStatus(result)
    guard status != PGRES_COMMAND_OK, status != PGRES_TUPLES_OK else { return }
    let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
    let message = result.map { Self.trimmed(PQresultErrorMessage($0)) } ?? Self.trimmed(PQerrorMessage(handle))
    throw PostgresError(
      sqlState: state ?? (isBroken ? PostgresError.connectionFailure : "XX000"),
      message: "\(message.isEmpty ? "PostgreSQL failed" : message) (in: \(sql.prefix(60)))")
  }

  private static func trimmed(_ text: UnsafePointer<CChar>?) -> String {
    text.map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
  }
}

/// A row of a result, valid only inside `query`'s row closure. Columns are read in
/// PostgreSQL's binary formats: big-endian integers and IEEE floats.
struct PostgresRow {
  fileprivate let result: OpaquePointer
  fileprivate let row: Int32

  func isNull(_ column: Int32) -> Bool { PQgetisnull(result, row, column) == 1 }

  /// An `int8`, `int4` or `int2` column.
  func integer(_ column: Int32) -> Int64 {
    let bytes = raw(column)
    switch bytes.count {
    case 8: return Int64(bigEndian: bytes.loadUnaligned(as: Int64.self))
    case 4: return Int64(Int32(bigEndian: bytes.loadUnaligned(as: Int32.self)))
    case 2: return Int64(Int16(bigEndian: bytes.loadUnaligned(as: Int16.self)))
    default: return 0
    }
  }

  /// A `float8` or `float4` column.
  func real(_ column: Int32) -> Double {
    let bytes = raw(column)
    switch bytes.count {
    case 8: return Double(bitPattern: UInt64(bigEndian: bytes.loadUnaligned(as: UInt64.self)))
    case 4: return Double(Float(bitPattern: UInt32(bigEndian: bytes.loadUnaligned(as: UInt32.self))))
    default: return 0
    }
  }

  func text(_ column: Int32) -> String { String(decoding: raw(column), as: UTF8.self) }

  /// A `bytea` column's bytes, valid only inside the row closure.
  func raw(_ column: Int32) -> UnsafeRawBufferPointer {
    guard let value = PQgetvalue(result, row, column) else { return UnsafeRawBufferPointer(start: nil, count: 0) }
    return UnsafeRawBufferPointer(start: value, count: Int(PQgetlength(result, row, column)))
  }
}

extension PostgresValue {
  /// The type's OID in `pg_type`: int8, float8, text, bytea.
  fileprivate var typeOID: Oid {
    switch self {
    case .integer: 20
    case .real: 701
    case .text: 25
    case .bytes: 17
    }
  }

  fileprivate func append(to buffer: inout [UInt8]) {
    switch self {
    case .integer(let value): withUnsafeBytes(of: value.bigEndian) { buffer.append(contentsOf: $0) }
    case .real(let value): withUnsafeBytes(of: value.bitPattern.bigEndian) { buffer.append(contentsOf: $0) }
    case .text(let value): buffer.append(contentsOf: value.utf8)
    case .bytes(let value): buffer.append(contentsOf: value)
    }
  }
}

extension Array where Element == String {
  /// The strings as a null-terminated array of C strings, valid inside `body`.
  fileprivate func withCStrings<Result>(_ body: ([UnsafePointer<CChar>?]) -> Result) -> Result {
    let copies = map { strdup($0) }
    defer { copies.forEach { free($0) } }
    return body(copies.map { UnsafePointer($0) } + [nil])
  }
}

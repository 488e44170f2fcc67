import CSQLite
import Foundation

/// A failed SQLite call, with SQLite's own message.
public struct SQLiteError: Error, CustomStringConvertible {
  /// SQLite's primary result code, e.g. `SQLITE_FULL`.
  public let code: Int32
  /// What SQLite said, and what Weft was doing.
  public let message: String

  public var description: String { message }
}

/// A value bound to a statement's parameter.
enum SQLiteValue {
  case integer(Int64)
  case real(Double)
  case text(String)
  case blob(Data)
}

/// One SQLite connection and its prepared statements.
///
/// Not thread-safe: its owner (the profile store) is used from one thread at a time.
final class SQLiteConnection {
  private var handle: OpaquePointer?
  private var statements: [String: OpaquePointer] = [:]

  /// Opens (creating if needed) the database file at `path`.
  init(path: String) throws {
    let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
    let status = sqlite3_open_v2(path, &handle, flags, nil)
    guard status == SQLITE_OK else {
      let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
      sqlite3_close_v2(handle)
      throw SQLiteError(code: status, message: "cannot open \(path): \(message)")
    }
    sqlite3_extended_result_codes(handle, 1)
  }

  deinit {
    for statement in statements.values { sqlite3_finalize(statement) }
    sqlite3_close_v2(handle)
  }

  /// Runs SQL that returns no rows (several statements allowed).
  func execute(_ sql: String) throws {
    try check(sqlite3_exec(handle, sql, nil, nil, nil), sql)
  }

  /// Rows changed by the last INSERT, UPDATE or DELETE.
  var changes: Int { Int(sqlite3_changes(handle)) }

  /// Runs one statement with `values` bound, calling `row` for each result row.
  func query(_ sql: String, _ values: [SQLiteValue] = [], row: (SQLiteRow) throws -> Void = { _ in }) throws {
    let statement = try prepared(sql)
    defer {
      sqlite3_reset(statement)
      sqlite3_clear_bindings(statement)
    }
    for (index, value) in values.enumerated() {
      try bind(value, at: Int32(index + 1), in: statement, sql)
    }
    while true {
      let status = sqlite3_step(statement)
      if status == SQLITE_DONE { return }
      guard status == SQLITE_ROW else { try check(status, sql); return }
      try row(SQLiteRow(statement: statement))
    }
  }

  /// The first column of the first row, as an integer (0 when there is no row).
  func integer(_ sql: String, _ values: [SQLiteValue] = []) throws -> Int64 {
    var result: Int64 = 0
    try query(sql, values) { result = $0.integer(0) }
    return result
  }

  private func prepared(_ sql: String) throws -> OpaquePointer {
    if let statement = statements[sql] { return statement }
    var statement: OpaquePointer?
    try check(sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil), sql)
    statements[sql] = statement!
    return statement!
  }

  private func bind(_ value: SQLiteValue, at index: Int32, in statement: OpaquePointer, _ sql: String) throws {
    let status: Int32
    switch value {
    case .integer(let integer): status = sqlite3_bind_int64(statement, index, integer)
    case .real(let real): status = sqlite3_bind_double(statement, index, real)
    case .text(let text): status = sqlite3_bind_text(statement, index, text, -1, weft_sqlite_transient())
    case .blob(let data):
      status = data.withUnsafeBytes {
        sqlite3_bind_blob64(statement, index, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), UInt64($0.count), weft_sqlite_transient())
      }
    }
    try check(status, sql)
  }

  private func check(_ status: Int32, _ sql: String) throws {
    guard status != SQLITE_OK else { return }
    let message = String(cString: sqlite3_errmsg(handle))
    throw SQLiteError(code: status & 0xff, message: "\(message) (in: \(sql.prefix(60)))")
  }
}

/// The current result row of a statement, valid only inside `query`'s row closure.
struct SQLiteRow {
  fileprivate let statement: OpaquePointer

  func integer(_ column: Int32) -> Int64 { sqlite3_column_int64(statement, column) }
  func real(_ column: Int32) -> Double { sqlite3_column_double(statement, column) }
  func text(_ column: Int32) -> String {
    guard let bytes = sqlite3_column_text(statement, column) else { return "" }
    return String(cString: bytes)
  }
  func blob(_ column: Int32) -> Data {
    let count = Int(sqlite3_column_bytes(statement, column))
    guard count > 0, let bytes = sqlite3_column_blob(statement, column) else { return Data() }
    return Data(bytes: bytes, count: count)
  }
}

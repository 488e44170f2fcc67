import WeftProtocol

/// Who answers: the worker's name and its model's version, named in every reply's
/// ResponseHeader. Their two fields are encoded once, and a reply written straight to
/// bytes copies them.
struct ReplyOrigin: Sendable {
  /// The worker's name (ResponseHeader's `worker_id`).
  let workerName: String
  /// The model's version (ResponseHeader's `model_version`).
  let version: String
  /// `worker_id` and `model_version`, encoded in field order.
  let encodedFields: [UInt8]

  /// ResponseHeader's field numbers of the two.
  static let workerIDField: UInt64 = 5
  static let modelVersionField: UInt64 = 6

  init(workerName: String, version: String) {
    self.workerName = workerName
    self.version = version
    var writer = ProtobufWriter()
    writer.string(Self.workerIDField, workerName)
    writer.string(Self.modelVersionField, version)
    encodedFields = writer.bytes
  }
}

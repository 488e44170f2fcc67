import Foundation
import HTTPTypes
import Hummingbird
import WeftClient
import WeftProtocol

/// The Open Inference Protocol's model endpoints: metadata, readiness and inference, each
/// a call to the gateway through the in-process client.
struct InferenceEndpoints: Sendable {
  let mesh: WeftClient
  let limits: HTTPLimits
  let budget: RequestBodyBudget
  let tokens: BearerTokens?

  /// Where the JSON ends in a body with binary tensors (Triton's binary data extension).
  static let headerLengthField = HTTPField.Name("Inference-Header-Content-Length")!
  /// The end user a request is for: sticky A/B assignment and personalisation.
  static let userField = HTTPField.Name("Weft-User-Id")!

  init(mesh: WeftClient, limits: HTTPLimits, tokens: BearerTokens?) {
    self.mesh = mesh
    self.limits = limits
    self.tokens = tokens
    budget = RequestBodyBudget(limit: limits.bodyBudgetBytes)
  }

  func register(on router: Router<BasicRequestContext>) {
    let models = router.group("/v2/models").add(middleware: BearerTokenMiddleware(tokens: tokens))
    models.get(":name") { _, context in await metadata(context, version: nil) }
    models.get(":name/versions/:version") { _, context in await metadata(context, version: context.parameters.get("version")) }
    models.get(":name/ready") { _, context in await ready(context, version: nil) }
    models.get(":name/versions/:version/ready") { _, context in await ready(context, version: context.parameters.get("version")) }
    models.post(":name/infer") { request, context in await infer(request, context, version: nil) }
    models.post(":name/versions/:version/infer") { request, context in await infer(request, context, version: context.parameters.get("version")) }
  }

  // MARK: Metadata and readiness

  private func metadata(_ context: BasicRequestContext, version: String?) async -> Response {
    await answering {
      let (model, service) = try await served(context)
      let versions = service.versions.map(\.version)
      if let version, !versions.contains(version) { throw unknownVersion(version, of: model, versions) }
      var fields = model.metadata
      fields["versions"] = version.map { [$0] } ?? versions
      return JSONReply.make(.ok, fields)
    }
  }

  private func ready(_ context: BasicRequestContext, version: String?) async -> Response {
    await answering {
      let (model, service) = try await served(context)
      let versions = service.versions.filter { version == nil || $0.version == version }
      if let version, versions.isEmpty { throw unknownVersion(version, of: model, service.versions.map(\.version)) }
      let ready = Readiness.hasLiveWorker(versions)
      var fields: [String: Any] = ["name": model.name, "ready": ready]
      if let version { fields["version"] = version }
      return JSONReply.make(ready ? .ok : .serviceUnavailable, fields, error: ready ? nil : "no live worker serves '\(model.name)'")
    }
  }

  /// The model a URL names and the gateway's status of its service.
  private func served(_ context: BasicRequestContext) async throws -> (InferenceModel, Weft_V1_ServiceStatus) {
    let model = try Self.model(context)
    let status: MeshStatus
    do {
      status = try await mesh.meshStatus(timeout: HTTPFrontDoor.gatewayTimeout)
    } catch {
      throw InferenceError(.serviceUnavailable, "the gateway did not answer")
    }
    guard let service = status.services.first(where: { $0.name == model.service }) else {
      throw InferenceError(.notFound, "model '\(model.name)' is not served here: no worker of service '\(model.service)' has registered")
    }
    return (model, service)
  }

  private static func model(_ context: BasicRequestContext) throws -> InferenceModel {
    let name = context.parameters.get("name") ?? ""
    guard let model = InferenceModels.named(name) else {
      throw InferenceError(.notFound, "unknown model '\(name)'; models: \(InferenceModels.all.map(\.name).joined(separator: ", "))")
    }
    return model
  }

  private func unknownVersion(_ version: String, of model: InferenceModel, _ versions: [String]) -> InferenceError {
    InferenceError(.notFound, "model '\(model.name)' has no version '\(version)'; versions: \(versions.joined(separator: ", "))")
  }

  // MARK: Inference

  private func infer(_ request: Request, _ context: BasicRequestContext, version: String?) async -> Response {
    await answering {
      let model = try Self.model(context)
      let declared = try Self.size(in: request.headers, .contentLength)
      if let declared, declared > limits.maxBodyBytes { throw tooLarge() }
      if let encoding = request.headers[.contentEncoding], encoding.lowercased() != "identity" {
        throw InferenceError(.unsupportedMediaType, "Content-Encoding '\(encoding)' is not supported; send the body uncompressed")
      }
      let reservation = declared ?? limits.maxBodyBytes
      guard budget.reserve(reservation) else {
        throw InferenceError(.tooManyRequests, "the HTTP side holds \(limits.bodyBudgetBytes) bytes of request bodies already; retry later")
      }
      defer { budget.release(reservation) }

      let body = try await readBody(request)
      let jsonLength = try Self.size(in: request.headers, Self.headerLengthField)
      let parsed = try InferRequestBody(body, jsonLength: jsonLength)
      let inputs = try model.inputs(of: parsed)
      let frames = try model.request(inputs)
      let options = try callOptions(parsed, inputs, request.headers, version: version)
      let reply = try await mesh.call(model.service, model.method, body: frames, options: options)
      let outputs = try chosen(try model.reply(reply.body, inputs), parsed)
      let encoded = try InferResponseBody(
        model: model.name, version: reply.header.modelVersion, id: parsed.id, outputs: outputs, binary: binaryOutputs(parsed, outputs))
      var headers: HTTPFields = [.contentType: encoded.jsonLength == nil ? "application/json" : "application/octet-stream"]
      if let length = encoded.jsonLength { headers[Self.headerLengthField] = String(length) }
      return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: encoded.data)))
    }
  }

  /// A header that holds a byte count, if present.
  /// - Throws: ``InferenceError`` (400) when it is not a non-negative integer.
  private static func size(in headers: HTTPFields, _ field: HTTPField.Name) throws -> Int? {
    try headers[field].map { text in
      guard let size = Int(text), size >= 0 else { throw InferenceError(.badRequest, "\(field) '\(text)' is not a size") }
      return size
    }
  }

  /// The body, at most ``HTTPLimits/maxBodyBytes``, within ``HTTPLimits/bodyReadTimeout``.
  private func readBody(_ request: Request) async throws -> Data {
    let (limit, timeout) = (limits.maxBodyBytes, limits.bodyReadTimeout)
    let buffer = try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
      group.addTask { try await request.body.collect(upTo: limit) }
      group.addTask {
        try await Task.sleep(for: timeout)
        return nil
      }
      defer { group.cancelAll() }
      guard let first = try await group.next(), let buffer = first else {
        throw InferenceError(.requestTimeout, "the request body did not arrive within \(timeout)")
      }
      return buffer
    }
    return Data(buffer.readableBytesView)
  }

  private func tooLarge() -> InferenceError {
    InferenceError(.contentTooLarge, "the request body is over \(limits.maxBodyBytes) bytes (gateway.max_request_bytes)")
  }

  private func callOptions(_ request: InferRequestBody, _ inputs: ModelInputs, _ headers: HTTPFields, version: String?) throws -> CallOptions {
    let timeoutMicroseconds = try inputs.integer("timeout", in: 1...3_600_000_000, default: 0)
    var options = CallOptions(
      timeout: timeoutMicroseconds > 0 ? .microseconds(timeoutMicroseconds) : limits.defaultTimeout,
      version: version ?? "", personalize: try inputs.flag("personalize"),
      priority: UInt8(try inputs.integer("priority", in: 0...255, default: 0)))
    if let user = headers[Self.userField] {
      options.userID = user
    } else if case .string(let user)? = request.parameters["user_id"] {
      options.userID = user
    }
    return options
  }

  /// The outputs the request asked for, in its order; all of them when it named none.
  private func chosen(_ outputs: [InferTensor], _ request: InferRequestBody) throws -> [InferTensor] {
    guard let requested = request.requestedOutputs else { return outputs }
    return try requested.map { wanted in
      guard let output = outputs.first(where: { $0.name == wanted.name }) else {
        throw InferenceError(.badRequest, "output '\(wanted.name)' was not produced by this request (personalized outputs need parameter personalize)")
      }
      return output
    }
  }

  /// The outputs sent in binary: each requested output's `binary_data`, else the
  /// request's `binary_data_output`.
  private func binaryOutputs(_ request: InferRequestBody, _ outputs: [InferTensor]) -> Set<String> {
    var byDefault = false
    if case .bool(let flag)? = request.parameters["binary_data_output"] { byDefault = flag }
    return Set(
      outputs.map(\.name).filter { name in
        if case .bool(let flag)? = request.requestedOutputs?.first(where: { $0.name == name })?.parameters["binary_data"] { return flag }
        return byDefault
      })
  }

  /// Runs `work`, answering its errors as `{"error": ...}` with their status.
  private func answering(_ work: () async throws -> Response) async -> Response {
    do {
      return try await work()
    } catch let error as InferenceError {
      return JSONReply.make(error.status, [:], error: error.message)
    } catch let error as WeftError {
      let mapped = InferenceError(error)
      return JSONReply.make(mapped.status, [:], error: mapped.message)
    } catch let error as any HTTPResponseError {
      // Hummingbird's own: a body past the collect limit is 413.
      return JSONReply.make(error.status, [:], error: error.status == .contentTooLarge ? tooLarge().message : "\(error)")
    } catch {
      return JSONReply.make(.internalServerError, [:], error: "\(error)")
    }
  }
}

import ArgumentParser
import WeftProcess
import Foundation
import WeftClient
import SwiftProtobuf
import WeftProtocol

/// `weft call SERVICE.METHOD`: one request, its reply printed.
struct Call: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Call a method of a service and print the reply.",
    discussion: """
      Each --data or --file becomes one body frame. With --json the reply is printed as \
      a JSON object (status, worker, timings, and the body as UTF-8 text or base64). \
      Exits 1 when the call fails.
      """)

  @Argument(help: "SERVICE.METHOD or SERVICE/METHOD, e.g. echo.echo, recommender.catalog.upsert, weft.mesh/route.set")
  var target: String
  @Option(help: "A body frame holding this text; repeat for several.")
  var data: [String] = []
  @Option(help: "A body frame holding this file's bytes; repeat for several.")
  var file: [String] = []
  @Option(help: "text.embed: a text to embed; repeat for a batch. Sends an EmbedRequest.")
  var text: [String] = []
  @Option(help: "vision.classify / vision.embed: a JPEG or PNG file. Sends a ClassifyRequest or ImageEmbedRequest.")
  var image: String?
  @Option(help: "vision.classify: how many classes to print, best first.")
  var topK: Int = 5
  @Flag(help: "vision.classify: also print the 1000 logits.")
  var logits = false
  @Flag(help: "vision: resize the whole image to 224×224 instead of its centre crop.")
  var stretch = false
  @Option(help: "The request as JSON (protobuf's JSON mapping), for any method whose request is a message.")
  var bodyJson: String?
  @Option(help: "recommender.feedback: the item rated.")
  var item: String?
  @Option(help: "recommender.feedback: the reward, -1 to 1.")
  var reward: Float?
  @Option(help: "recommender.feedback: the event id (a retry with the same id counts once).")
  var eventId: String?
  @Option(help: "recommender.recommend: how many items.")
  var k: Int = 10
  @Option(help: "Call metadata as KEY=VALUE; repeat for several.")
  var metadata: [String] = []
  @Option(help: "The user the call is for.")
  var user: String = ""
  @Option(help: "Pin this model version.")
  var modelVersion: String = ""
  @Flag(help: "Pass the reply through the recommender for --user (text.similarity, vision.classify).")
  var personalize = false
  @Option(help: "Within this client's share of a service's queue, higher goes first (0 to 255).")
  var priority: UInt8 = 0
  @Flag(help: "Print every response of a streaming method as it arrives.")
  var stream = false
  @Flag(help: "Print JSON.")
  var json = false
  @OptionGroup(title: "Speech") var speech: SpeechCallOptions
  @OptionGroup var client: ClientOptions

  func validate() throws {
    guard let (service, method) = Self.split(target), !service.isEmpty, !method.isEmpty else {
      throw ValidationError("expected SERVICE.METHOD or SERVICE/METHOD, e.g. echo.echo; got '\(target)'")
    }
    if !text.isEmpty && (!data.isEmpty || !file.isEmpty) {
      throw ValidationError("--text builds the whole body; it cannot be combined with --data or --file")
    }
    if image != nil && (!data.isEmpty || !file.isEmpty || !text.isEmpty) {
      throw ValidationError("--image builds the whole body; it cannot be combined with --data, --file or --text")
    }
    if image != nil && Self.split(target)?.service != VisionService.name {
      throw ValidationError("--image is for the vision service's methods (vision.classify, vision.embed)")
    }
    try speech.validate(service: Self.split(target)?.service ?? "")
    guard (1...1000).contains(topK) else { throw ValidationError("--top-k must be between 1 and 1000") }
    for entry in metadata where !entry.contains("=") {
      throw ValidationError("metadata must be KEY=VALUE; got '\(entry)'")
    }
  }

  func run() async throws {
    let (service, method) = Self.split(target)!
    let declared = ServiceMethods.method(service: service, name: method)
    var body = data.map { Data($0.utf8) }
    if !text.isEmpty {
      var request = Weft_V1_EmbedRequest()
      request.texts = text
      body = [try request.serializedData()]
    }
    if let image {
      body = [try imageRequest(path: image, method: method)]
    }
    if declared?.kind.clientStreams == true {
      return try await callOpen(service, method, options: callOptions())
    }
    if let audio = try speech.body() { body = [audio] }
    if let bodyJson {
      guard let declared else { throw ValidationError("--body-json needs a method the protos declare; \(service)/\(method) is not one") }
      body = [try CallMessages.body(json: bodyJson, for: declared)]
    }
    if let declared, declared.service == RecommenderService.name, body.isEmpty && file.isEmpty {
      body = [
        try CallMessages.recommenderBody(method: declared, user: user, item: item, reward: reward, eventID: eventId, k: k)
      ]
    }
    for path in file {
      guard let contents = FileManager.default.contents(atPath: path) else {
        throw ValidationError("cannot read file \(path)")
      }
      body.append(contents)
    }
    let options = callOptions()

    do {
      let weft = try client.connect()
      defer { weft.close() }
      // A streaming method's segments come in its partial responses: print each.
      if stream || declared?.kind.serverStreams == true {
        for try await response in weft.stream(service, method, body: body, options: options) { printResponse(response) }
      } else {
        printResponse(try await weft.call(service, method, body: body, options: options))
      }
    } catch let error as WeftError {
      try fail(error)
    }
  }

  private func callOptions() -> CallOptions {
    var options = CallOptions(timeout: .milliseconds(client.timeoutMs), userID: user, version: modelVersion, personalize: personalize, priority: priority)
    for entry in metadata {
      let pair = entry.split(separator: "=", maxSplits: 1).map(String.init)
      options.metadata[pair[0]] = .text(pair.count > 1 ? pair[1] : "")
    }
    return options
  }

  /// A client-streaming or bidirectional method: each `--data` is one message, or
  /// `--audio` is sent in pieces (at real-time pace with `--realtime`); every response
  /// is printed as it arrives.
  private func callOpen(_ service: String, _ method: String, options: CallOptions) async throws {
    let messages: [[Data]] = try speech.livePieces().map { pieces in try pieces.map { [try $0.serializedData()] } }
      ?? data.map { [Data($0.utf8)] }
    let pacing = speech.pacing
    do {
      let weft = try client.connect()
      defer { weft.close() }
      let call = try weft.openCall(service, method, options: options)
      let sender = Task {
        for message in messages {
          try await call.send(message)
          if let pacing { try await Task.sleep(for: pacing) }
        }
        call.closeSend()
      }
      for try await response in call.responses { printResponse(response) }
      sender.cancel()
    } catch let error as WeftError {
      try fail(error)
    }
  }

  /// Prints a failed call's status and exits 1.
  private func fail(_ error: WeftError) throws -> Never {
    if json {
      print(ReplyFormatter.json(["status": error.code.name, "code": Int(error.code.rawValue), "message": error.message]))
    } else {
      complain("\(error.code.name): \(error.message)")
    }
    throw ExitCode.failure
  }

  /// The service and method of `target`: split at its `/` if it has one, else after the
  /// longest service name the protos declare that it starts with (service and method
  /// names may hold dots: `weft.mesh`, `catalog.upsert`), else at the first dot.
  static func split(_ target: String) -> (service: String, method: String)? {
    if let slash = target.firstIndex(of: "/") {
      return (String(target[..<slash]), String(target[target.index(after: slash)...]))
    }
    let declared = Set(ServiceMethods.all.map(\.service)).filter { target.hasPrefix($0 + ".") }
    if let service = declared.max(by: { $0.count < $1.count }) { return (service, String(target.dropFirst(service.count + 1))) }
    guard let dot = target.firstIndex(of: ".") else { return nil }
    return (String(target[..<dot]), String(target[target.index(after: dot)...]))
  }

  /// The body of a vision request for the image file at `path`.
  private func imageRequest(path: String, method: String) throws -> Data {
    guard let contents = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read image \(path)") }
    let resize: Weft_V1_ResizeMode = stretch ? .stretch : .centerCrop
    if method == VisionService.embed.name {
      var request = Weft_V1_ImageEmbedRequest()
      request.image.encoded = contents
      request.resize = resize
      return try request.serializedData()
    }
    var request = Weft_V1_ClassifyRequest()
    request.image.encoded = contents
    request.topK = UInt32(topK)
    request.includeLogits = logits
    request.resize = resize
    return try request.serializedData()
  }

  private func printResponse(_ response: Response) {
    var object = ReplyFormatter.object(response)
    // Known replies are decoded into their fields instead of shown as raw bytes.
    guard response.status == .ok, let frame = response.body.first, let (service, method) = Self.split(target),
      let known = KnownReply(service: service, method: method, body: frame)
    else {
      print(json ? ReplyFormatter.json(object) : ReplyFormatter.text(response))
      return
    }
    object["body"] = nil
    object.merge(known.fields) { _, new in new }
    if json {
      print(ReplyFormatter.json(object))
    } else {
      print(ReplyFormatter.text(Response(header: response.header, body: [])))
      known.lines.forEach { print($0) }
    }
  }
}

/// A reply of a built-in service, decoded: its fields for `--json`, lines for people.
struct KnownReply {
  var fields: [String: Any]
  var lines: [String]

  init?(service: String, method: String, body: Data) {
    guard let declared = ServiceMethods.method(service: service, name: method) else { return nil }
    switch declared {
    case TextService.embed.erased:
      guard let reply = try? Weft_V1_EmbedResponse(serializedBytes: body), let vectors = try? reply.vectors() else { return nil }
      fields = ["embeddings": vectors, "embedding": vectors.first as Any, "token_counts": reply.tokenCounts, "model": reply.model]
      lines = vectors.enumerated().map { "[\($0)] \(Self.preview($1))" }
    case VisionService.classify.erased:
      guard let reply = try? Weft_V1_ClassifyResponse(serializedBytes: body) else { return nil }
      fields = [
        "top": reply.top.map { ["index": Int($0.index), "label": $0.label, "probability": Double($0.probability)] as [String: Any] },
        "model": reply.model,
      ]
      if reply.hasLogits, let logits = try? reply.logits.float32Values() { fields["logits"] = logits }
      lines = reply.top.enumerated().map { rank, entry in
        String(format: "%2d. %5.1f%%  [%3d] ", rank + 1, entry.probability * 100, entry.index) + entry.label
      }
    case TextService.similarity.erased:
      guard let reply = CallMessages.similarity(body: body) else { return nil }
      (fields, lines) = reply
    case SpeechService.detect.erased, SpeechService.detectStream.erased, SpeechService.detectLive.erased:
      guard let reply = SpeechCallOptions.reply(body: body) else { return nil }
      (fields, lines) = reply
    case VisionService.embed.erased:
      guard let reply = try? Weft_V1_ImageEmbedResponse(serializedBytes: body), let vector = try? reply.embedding.float32Values()
      else { return nil }
      fields = ["embedding": vector, "model": reply.model]
      lines = [Self.preview(vector)]
    default:
      guard let reply = CallMessages.reply(of: declared, body: body) else { return nil }
      (fields, lines) = reply
    }
  }

  private static func preview(_ vector: [Float]) -> String {
    "\(vector.count) floats: \(vector.prefix(4).map { String(format: "%.4f", $0) }.joined(separator: " ")) …"
  }
}

/// Turns responses into what `weft call` prints.
enum ReplyFormatter {
  static func object(_ response: Response) -> [String: Any] {
    let header = response.header
    return [
      "status": response.status.name,
      "code": Int(response.status.rawValue),
      "message": header.message,
      "request_id": header.requestID,
      "worker": header.workerID,
      "version": header.modelVersion,
      "end_of_stream": header.endOfStream,
      "timings_us": [
        "total": header.totalUs, "compute": header.computeUs, "queue": header.queueUs,
        "gateway_queue": header.gatewayQueueUs,
      ],
      "batch_size": header.batchSize,
      "personalized": header.personalized,
      "body": response.body.map { frame -> Any in
        if let text = String(data: frame, encoding: .utf8) { return text }
        return ["base64": frame.base64EncodedString()]
      },
    ]
  }

  static func json(_ object: [String: Any]) -> String {
    guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return "{}" }
    return String(decoding: data, as: UTF8.self)
  }

  static func text(_ response: Response) -> String {
    let header = response.header
    var lines = [
      "\(response.status.name) from \(header.workerID) (version \(header.modelVersion)) in \(header.totalUs) µs "
        + "(compute \(header.computeUs) µs, batch \(header.batchSize))"
        + (header.personalized ? ", personalised" : "")
        + (header.metadata[PersonalizationMetadata.note].map { ", \($0.text)" } ?? "")
    ]
    for (index, frame) in response.body.enumerated() {
      if let text = String(data: frame, encoding: .utf8) {
        lines.append("[\(index)] \(text)")
      } else {
        lines.append("[\(index)] \(frame.count) bytes of binary")
      }
    }
    return lines.joined(separator: "\n")
  }
}

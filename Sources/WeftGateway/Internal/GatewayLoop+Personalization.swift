import SwiftProtobuf
import WeftProtocol
import ZeroMQ

/// Personalised requests: model → recommender → client. The recommender gets the model
/// request's body and the model's reply, and returns the reply re-ranked for the user. If
/// it is absent, fails or takes longer than its share of the deadline, the client gets
/// the model's reply as it was, marked not personalised, never an error.
extension GatewayLoop {

  /// Whether `request`'s final reply, with status `code`, goes through the recommender.
  func wantsPersonalization(_ request: InFlightRequest, code: StatusCode) -> Bool {
    request.personalize && code == .ok && !request.isShadow && !request.streamed && !request.userID.isEmpty
      && request.service != RecommenderService.name
  }

  /// Starts the recommender stage for `model`'s OK reply (``replySource``). Returns nil once
  /// the stage is on its way (it answers the client), or why it was skipped (the caller
  /// then sends the model's reply).
  func startPersonalization(of model: InFlightRequest, at now: UInt64) -> String? {
    guard let entry = routing.services[RecommenderService.name],
      routing.hasLiveWorker(service: RecommenderService.name), entry.serves(method: RecommenderService.rerank.name)
    else { return "no recommender is serving" }
    let remaining = model.deadline > now ? model.deadline - now : 0
    let share = UInt64(Double(model.deadline &- model.receivedAt) * configuration.personalizeShare)
    let budget = min(remaining, share)
    guard budget >= 1_000 else { return "no time left for the recommender" }
    guard inFlight.count < configuration.maxInFlight else { return "the gateway is at its in-flight limit" }

    var fields = RoutingFields()
    fields.requestID = model.requestID
    fields.service = RecommenderService.name
    fields.method = RecommenderService.rerank.name
    fields.userID = model.userID
    fields.timeoutMilliseconds = UInt32(clamping: budget / 1_000)
    let (version, figures) = chooseVersion(entry, named: "", userID: model.userID)
    let worker = routing.pickWorker(service: RecommenderService.name, version: version)
    if worker == nil && routing.queueDepth(service: RecommenderService.name) >= configuration.queueLimit {
      return "the recommender's queue is full"
    }
    let header: [UInt8]
    do {
      header = try stageHeader(fields, model: model)
    } catch {
      return "the recommender's request could not be written: \(error)"
    }

    let stage = takeRequest()
    stage.frames.append(copyOf: model.frames, at: 0)
    stage.frames.append(header)
    stage.frames.append(copiesOf: model.frames, range: 2..<model.frames.count)
    appendReplyBody(to: stage.frames, copying: true)
    stage.modelReply.append(replyHeader)
    appendReplyBody(to: stage.modelReply, copying: true)
    stage.startPersonalization(of: model, fields, version: version, deadline: now &+ budget, at: now)
    // The client's request goes on as the stage: it keeps its place in the client's budget.
    (stage.client, model.client) = (model.client, nil)
    stage.figures = figures
    let id = inFlight.insert(stage)
    deadlines.insert(id: id, deadline: stage.deadline)
    if let worker {
      dispatch(id, to: worker, at: now)
    } else {
      enqueue(id, stage, version: version)
    }
    return nil
  }

  /// The rerank request's header: the user, the budget, and which model method the
  /// body's frames belong to.
  private func stageHeader(_ fields: RoutingFields, model: InFlightRequest) throws -> [UInt8] {
    var header = RequestHeader()
    header.requestID = fields.requestID
    header.service = fields.service
    header.method = fields.method
    header.userID = fields.userID
    header.timeoutMs = fields.timeoutMilliseconds
    header.metadata = [
      PersonalizationMetadata.modelService: .with { $0.text = model.service },
      PersonalizationMetadata.modelMethod: .with { $0.text = model.method },
      PersonalizationMetadata.requestFrames: .with { $0.text = "\(model.frames.count - 2)" },
    ]
    return try header.serializedBytes()
  }

  /// The recommender's body (the reply being handled) under the model's header, marked personalised.
  func sendPersonalizedReply(_ stage: InFlightRequest, at now: UInt64) {
    personalizations.count(service: stage.personalizedService, .personalized)
    var patch = ResponseHeaderPatch()
    patch.personalized = true
    sendToClient(stage, header: stage.modelReply[0], patch: patch, finalStatus: .ok, at: now) { appendReplyBody(to: $0, copying: false) }
  }

  /// The model's reply as it was, with `note` saying why it is not personalised.
  func sendModelReply(_ stage: InFlightRequest, note: String, at now: UInt64) {
    personalizations.count(service: stage.personalizedService, .fallback)
    var patch = ResponseHeaderPatch()
    patch.metadata = [(PersonalizationMetadata.note, "skipped: \(note)")]
    sendToClient(stage, header: stage.modelReply[0], patch: patch, finalStatus: .ok, at: now) { frames in
      frames.append(moving: stage.modelReply, range: 1..<stage.modelReply.count)
    }
  }
}

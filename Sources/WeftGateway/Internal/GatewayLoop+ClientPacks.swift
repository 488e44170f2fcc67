import WeftProtocol
import ZeroMQ

/// Final replies packed for one client since the last flush, sent as one packed message
/// ([identity, `WFP` signature, pack]). Pooled by the loop, with its storage.
final class ClientPack {
  /// Whose replies these are (its budget key).
  @exclusivity(unchecked) var client = PeerID.anonymous
  /// The client's routing identity frame, copied from its first packed reply's request.
  let identity = Frames(capacity: 1)
  @exclusivity(unchecked) var pack = FramePack()
}

/// Packed client messages: a client with several requests to send at once may put them
/// in one message (`WFP` + version, then a ``FramePack`` of [RequestHeader, body…]
/// messages), and the small final replies to those requests then go back packed too, per
/// client and turn, as the replies to a worker's packed requests do. A burst then costs
/// libzmq, its I/O threads and the client one message instead of one per request. A
/// client that never packs never gets a pack.
extension GatewayLoop {
  /// Handles each request of the packed message in `received` = [identity, signature,
  /// pack] as if it had come alone, in order. A pack that does not parse is refused whole
  /// (nothing of it is read, so no request id is known: the answer has id 0).
  func readClientPack(at now: UInt64) {
    guard received.count == 3 else {
      noteMalformed(.clientPacked, at: now, "\(received.count - 1) frames")
      return rejectReceived(
        0, .invalidArgument, "a packed message has \(received.count - 1) frames; expected the signature and one pack")
    }
    do {
      // Each request is read into [identity, signature, header, body…]: two frames more.
      _ = try FramePack.validate(received[2], maxFrames: maxFrames - 2)
    } catch {
      noteMalformed(.clientPacked, at: now, "\(error)")
      return rejectReceived(0, .invalidArgument, "the pack does not parse: \(error)")
    }
    statistics.clientPacks += 1
    clientPack.removeAll()
    clientPack.append(moving: received, range: 0..<3)
    readingClientPack = true
    defer {
      readingClientPack = false
      clientPack.removeAll()
    }
    FramePack.forEachMessage(in: clientPack[2]) { message in
      received.removeAll()
      received.append(copyOf: clientPack, at: 0)
      received.append(Signature.client)
      for frame in message { received.append(frame) }
      statistics.packedRequests += 1
      handleClientMessage(at: now)
      // As between received messages: a large pack neither holds its requests back nor
      // piles up its refusals (a pack may hold far more calls than the client's budget).
      if workerMessagesWaiting >= Self.workerOutboxFlushCount || toClients.count >= Self.outboxFlushCount { flushOutboxes() }
    }
  }

  /// Packs the final reply being handled, its header in `headerScratch` and `bodyFrames`
  /// body frames from the worker's reply, into the open pack of `request`'s client.
  func packReplyToClient(_ request: InFlightRequest, bodyFrames: Int) {
    let client = request.clientKey
    let index: Int
    if let open = clientPacks.firstIndex(where: { $0.client == client }) {
      index = open
    } else {
      let made = spareClientPacks.popLast() ?? ClientPack()
      made.client = client
      made.identity.append(copyOf: request.frames, at: 0)
      index = clientPacks.count
      clientPacks.append(made)
    }
    let open = clientPacks[index]
    open.pack.startMessage(frameCount: 1 + bodyFrames)
    headerScratch.withUnsafeBytes { open.pack.appendFrame($0) }
    forEachReplyBodyFrame { open.pack.appendFrame($0) }
    repliesPackedSinceFlush += 1
    if open.pack.isFull { closeClientPack(at: index) }
  }

  /// Moves open client pack `index` into the clients' outbox as one packed message.
  func closeClientPack(at index: Int) {
    let open = clientPacks.remove(at: index)
    let frames = toClients.frames
    frames.append(moving: open.identity, at: 0)
    frames.append(Signature.clientPacked)
    open.pack.bytes.withUnsafeBytes { frames.append($0) }
    toClients.endMessage(ClientDelivery(client: open.client, requestID: 0, kind: .packedReplies(count: open.pack.messageCount)))
    open.identity.removeAll()
    open.pack.removeAll()
    if spareClientPacks.count < 8 { spareClientPacks.append(open) }
  }
}

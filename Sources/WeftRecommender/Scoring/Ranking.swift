import Foundation
import WeftProtocol

/// A personalised ranking before it is encoded: the `RankedItems` message is made from
/// it for Swift callers, and its bytes are written straight from it for the wire, without
/// a hundred `ScoredCandidate` messages in between. Both say the same (tested byte for byte).
struct Ranking {
  let ids: [String]
  let labels: [[String]]
  let parts: ScoreParts
  /// Item indices, best first, cut to the call's `top_k`.
  let order: ArraySlice<Int>
  let modelRanks: [UInt32]
  let profileEvents: UInt64

  var message: Weft_V1_RankedItems {
    var reply = Weft_V1_RankedItems()
    reply.profileEvents = profileEvents
    reply.items = order.map { index in
      Recommender.scored(ids[index], labels: labels[index], parts: parts, index: index, modelRank: modelRanks[index])
    }
    return reply
  }

  /// The encoded `RankedItems` (ranking.proto's field numbers, in their order).
  func serialized() -> Data {
    var writer = ProtobufWriter(capacity: order.count * 64)
    for index in order {
      let (total, model, affinity, exploration) = (parts.total(index), parts.modelPart[index], parts.affinity[index], parts.exploration[index])
      var length =
        ProtobufWriter.size(string: 1, ids[index]) + ProtobufWriter.size(float: 2, total) + ProtobufWriter.size(float: 3, model)
        + ProtobufWriter.size(float: 4, affinity) + ProtobufWriter.size(float: 5, exploration)
        + ProtobufWriter.size(varint: 6, UInt64(modelRanks[index])) + ProtobufWriter.size(varint: 8, UInt64(index))
      for label in labels[index] { length += ProtobufWriter.size(string: 7, label) }
      writer.message(1, length: length) { item in
        item.string(1, ids[index])
        item.float(2, total)
        item.float(3, model)
        item.float(4, affinity)
        item.float(5, exploration)
        item.varint(6, UInt64(modelRanks[index]))
        for label in labels[index] { item.string(7, label) }
        item.varint(8, UInt64(index))
      }
    }
    writer.varint(2, profileEvents)
    return Data(writer.bytes)
  }
}

import Foundation
import Hummingbird

/// JSON bodies the way the Open Inference Protocol writes them; errors are `{"error": "..."}`.
enum JSONReply {
  static func make(_ status: HTTPResponse.Status, _ fields: [String: Any], error: String? = nil) -> Response {
    var fields = fields
    if let error { fields["error"] = error }
    let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])) ?? Data("{}".utf8)
    return Response(
      status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
  }
}

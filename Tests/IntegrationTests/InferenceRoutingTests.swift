import Foundation
import Testing
import WeftClient
import WeftProtocol

/// Version routing over HTTP: the Weft-User-Id header (or `user_id`) keeps a user on one
/// version of an A/B split, a URL version pins one, and the reply names the version.
@Suite(.serialized) struct InferenceRoutingTests {
  private struct Answer: Decodable {
    let model_version: String
  }

  private func version(_ base: String, path: String = "echo/infer", user: String?, parameter: String? = nil) async throws -> String {
    let parameters = parameter.map { #","parameters":{"user_id":"\#($0)"}"# } ?? ""
    let body = Data(#"{"inputs":[{"name":"input","datatype":"BYTES","shape":[1],"data":["x"]}]\#(parameters)}"#.utf8)
    let reply = try await HTTPCall.post("\(base)/v2/models/\(path)", body: body, headers: user.map { ["Weft-User-Id": $0] } ?? [:])
    guard reply.status == 200 else { throw TestFailure("\(path): \(reply.status) \(reply.body)") }
    return try JSONDecoder().decode(Answer.self, from: Data(reply.body.utf8)).model_version
  }

  @Test func aUserStaysOnOneVersionAndUsersSplitBetweenThem() async throws {
    let (mesh, base) = try await TestMesh.withHTTP()
    for version in ["1", "2"] {
      try await mesh.startWorker(name: "echo-\(version)", ["--model", "echo", "--model-version", version, "--capacity", "64"])
    }
    try await mesh.client.setRoute(RoutePolicy(service: "echo", split: [("1", 50), ("2", 50)]))

    var ada: Set<String> = []
    for _ in 0..<20 { ada.insert(try await version(base, user: "ada")) }
    #expect(ada.count == 1, "ada was served by versions \(ada)")
    // The parameter does what the header does: the same user, the same version.
    #expect(try await version(base, user: nil, parameter: "ada") == ada.first)

    var byUser: Set<String> = []
    for index in 0..<40 { byUser.insert(try await version(base, user: "user-\(index)")) }
    #expect(byUser == ["1", "2"], "40 users of a 50/50 split all landed on \(byUser)")

    // A version in the URL wins over the split.
    for _ in 0..<5 { #expect(try await version(base, path: "echo/versions/2/infer", user: "ada") == "2") }
  }
}

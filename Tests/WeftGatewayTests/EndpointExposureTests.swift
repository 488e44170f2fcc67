import Testing

@testable import WeftGateway

/// Which endpoints the gateway warns about when CURVE is off.
@Suite struct EndpointExposureTests {
  @Test func onlyLoopbackIPCAndInProcessEndpointsCountAsLocal() {
    for local in ["tcp://127.0.0.1:5555", "tcp://127.0.0.2:1", "tcp://localhost:5555", "tcp://[::1]:5555", "ipc:///tmp/weft", "inproc://gw"] {
      #expect(GatewayLoop.isLocal(local), "\(local)")
    }
    for open in ["tcp://*:5555", "tcp://0.0.0.0:5555", "tcp://10.0.0.5:5555", "tcp://[::]:5555", "tcp://eth0:5555"] {
      #expect(!GatewayLoop.isLocal(open), "\(open)")
    }
  }
}

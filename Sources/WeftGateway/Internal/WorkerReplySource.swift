import ZeroMQ

/// Where the worker reply (PARTIAL or FINAL) the gateway is handling lies: in its receive
/// buffer as [identity, envelope, header?, body…], or in place in a PACKED message's pack,
/// for which no frames are made.
enum WorkerReplySource {
  case received
  /// A packed reply's header and its body frames, pointing into the pack being read:
  /// valid only while that pack is handled.
  case packed(header: UnsafeRawBufferPointer, body: FramePack.Message.Iterator)
}

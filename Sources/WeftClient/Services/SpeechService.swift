import Foundation
import SwiftProtobuf
import WeftProtocol

extension WeftClient {
  /// Voice activity detection from the `speech` service: the speech probability of every
  /// 32 ms chunk and the speech segments of one WAV file.
  ///
  /// - Parameters:
  ///   - wav: a WAV file's bytes (PCM or float, any rate and channel count).
  ///   - options: segment rules; nil for the silero-vad package's defaults. When given,
  ///     every field is taken as given.
  /// - Throws: ``WeftError``; `INVALID_ARGUMENT` naming what is wrong with a bad WAV.
  public func detectSpeech(
    wav: Data, options segmentOptions: Weft_V1_SegmentOptions? = nil, omitProbabilities: Bool = false,
    options: CallOptions = CallOptions()
  ) async throws -> Weft_V1_DetectResponse {
    try await call(SpeechService.detect, Self.detectRequest(wav, segmentOptions, omitProbabilities), options: options)
  }

  /// `speech/detect.stream`: each segment of a long WAV as soon as the worker has found
  /// it (one response per segment), then a last response with any segment still open at
  /// the end of the audio, the duration and (unless omitted) the probabilities.
  public func detectSpeechStream(
    wav: Data, options segmentOptions: Weft_V1_SegmentOptions? = nil, omitProbabilities: Bool = true,
    options: CallOptions = CallOptions()
  ) throws -> AsyncThrowingStream<Weft_V1_DetectResponse, any Error> {
    try stream(SpeechService.detectStream, Self.detectRequest(wav, segmentOptions, omitProbabilities), options: options)
  }

  /// `speech/detect.live`: live detection over one call. Each piece of `pieces` is sent
  /// as it comes (the first sets the format: encoding, rate, channels, options); each
  /// response carries the segments that became final (and, when asked, the probabilities
  /// of the chunks processed), and the last one the rest and the duration. Together they
  /// equal `detectSpeech` on the whole recording.
  public func detectSpeechLive<Pieces: AsyncSequence & Sendable>(
    _ pieces: Pieces, options: CallOptions = CallOptions(timeout: .seconds(3_600))
  ) throws -> some AsyncSequence<Weft_V1_DetectResponse, any Error> where Pieces.Element == Weft_V1_LiveAudio {
    let messages = pieces.map { piece in [try piece.serializedData()] }
    return try streamingCall(SpeechService.name, SpeechService.detectLive.name, messages: messages, options: options)
      .map { response in try Weft_V1_DetectResponse(serializedBytes: response.body.first ?? Data()) }
  }

  private static func detectRequest(
    _ wav: Data, _ segmentOptions: Weft_V1_SegmentOptions?, _ omitProbabilities: Bool
  ) -> Weft_V1_DetectRequest {
    var request = Weft_V1_DetectRequest()
    request.audio.wav = wav
    if let segmentOptions { request.options = segmentOptions }
    request.omitProbabilities = omitProbabilities
    return request
  }
}

/// The metadata keys of the personalisation pipeline (model → `recommender/rerank` →
/// client), which the gateway sets and the recommender and clients read.
public enum PersonalizationMetadata {
  /// On a reply that asked to be personalised and is not: why (`skipped: …`).
  public static let note = "weft-personalize"
  /// On a `recommender/rerank` call: the model's service.
  public static let modelService = "weft-model-service"
  /// On a `recommender/rerank` call: the model's method.
  public static let modelMethod = "weft-model-method"
  /// On a `recommender/rerank` call: how many of the body frames are the model request's
  /// (the rest are its reply's).
  public static let requestFrames = "weft-request-frames"
}

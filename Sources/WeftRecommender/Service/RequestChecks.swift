import WeftProtocol

/// The rules every recommender request is checked against, each failure an
/// INVALID_ARGUMENT that names the field and the rule.
struct RequestChecks {
  let embeddingDimensions: Int

  /// The request's user, or the header's when the request names none.
  func user(_ requested: String, header: String) throws -> String {
    let user = requested.isEmpty ? header : requested
    guard !user.isEmpty else {
      throw WeftError(.invalidArgument, "no user: set the request's user field or the header's user id")
    }
    try identifier(user, "user id")
    return user
  }

  // `what` is an autoclosure: its interpolated text is built only for an error, not for
  // every candidate that passes.
  func identifier(_ value: String, _ what: @autoclosure () -> String) throws {
    guard !value.isEmpty else { throw WeftError(.invalidArgument, "\(what()) is empty") }
    guard value.utf8.count <= RecommenderConfiguration.maxIdentifierBytes else {
      throw WeftError(
        .invalidArgument, "\(what()) is \(value.utf8.count) bytes; at most \(RecommenderConfiguration.maxIdentifierBytes)")
    }
  }

  func count(_ count: Int, of what: String) throws {
    guard count > 0 else { throw WeftError(.invalidArgument, "no \(what)") }
    guard count <= RecommenderConfiguration.maxItemsPerCall else {
      throw WeftError(.invalidArgument, "\(count) \(what); at most \(RecommenderConfiguration.maxItemsPerCall) per call")
    }
  }

  /// An embedding, which may be absent (`required` false) or must have the space's length.
  func embedding(_ values: [Float], of item: String, required: Bool) throws {
    if values.isEmpty && !required { return }
    guard values.count == embeddingDimensions else {
      throw WeftError(
        .invalidArgument, "item '\(item)': embedding has \(values.count) values; the recommender's space has \(embeddingDimensions)")
    }
    guard values.allFinite else {
      throw WeftError(.invalidArgument, "item '\(item)': embedding holds a NaN or infinite value")
    }
  }

  /// A FLOAT32 [rows, embeddingDimensions] matrix's values, checked.
  func embeddingMatrix(_ matrix: PersonalizeInput.Matrix, rows: Int) throws -> [Float] {
    guard matrix.shape == [Int64(rows), Int64(embeddingDimensions)] else {
      throw WeftError(
        .invalidArgument, "embeddings have shape \(matrix.shape); expected [\(rows), \(embeddingDimensions)] (candidates × dimensions)")
    }
    guard matrix.dtype == .float32 else { throw WeftError(.invalidArgument, "embeddings are \(matrix.dtype), expected FLOAT32") }
    guard matrix.byteCount == rows * embeddingDimensions * 4 else {
      throw WeftError(.invalidArgument, "embeddings have \(matrix.byteCount) bytes; shape [\(rows), \(embeddingDimensions)] needs \(rows * embeddingDimensions * 4)")
    }
    guard matrix.values.allFinite else { throw WeftError(.invalidArgument, "embeddings hold a NaN or infinite value") }
    return matrix.values
  }

  func labels(_ labels: [String], of item: String) throws {
    guard labels.count <= RecommenderConfiguration.maxLabelsPerItem else {
      throw WeftError(
        .invalidArgument, "item '\(item)' has \(labels.count) labels; at most \(RecommenderConfiguration.maxLabelsPerItem)")
    }
    for label in labels { try identifier(label, "a label of item '\(item)'") }
  }

  func finite(_ value: Float, _ what: @autoclosure () -> String) throws {
    guard value.isFinite else { throw WeftError(.invalidArgument, "\(what()) is not a finite number") }
  }

  func exploration(_ request: Weft_V1_Exploration?, default fallback: Float) throws -> Float {
    guard let request else { return fallback }
    guard request.scale.isFinite, request.scale >= 0, request.scale <= 100 else {
      throw WeftError(.invalidArgument, "exploration scale must be between 0 and 100; got \(request.scale)")
    }
    return request.scale
  }

  /// Ids of one call must be unique: a ranking or an upsert of one id twice is ambiguous.
  func unique(_ ids: some Sequence<String>, _ what: String) throws {
    var seen = Set<String>(minimumCapacity: ids.underestimatedCount)
    for id in ids where !seen.insert(id).inserted {
      throw WeftError(.invalidArgument, "\(what) '\(id)' appears twice")
    }
  }
}

import WeftModels
import WeftProtocol

/// Maps embeddings (e.g. 384 values) into the smaller space profiles learn in.
///
/// A profile keeps a full precision matrix over its space, so its size is the square of
/// the space's: 32 values keep a profile at 4 KiB where 384 would need 600 KiB. The map
/// is a Gaussian random projection (entries N(0, 1/k)), which keeps inner products and
/// lengths on average (Johnson–Lindenstrauss), made again from the store's seed in every
/// process. When the spaces are the same size it is the identity.
struct Projection: Sendable {
  let layout: ProfileLayout
  /// `embeddingDimensions × profileDimensions`, row-major; empty for the identity.
  private let matrix: [Float]

  init(layout: ProfileLayout) {
    self.layout = layout
    let (rows, columns) = (layout.embeddingDimensions, layout.profileDimensions)
    guard rows != columns else {
      matrix = []
      return
    }
    var random = SplitMix64(seed: layout.projectionSeed)
    let scale = 1 / Double(columns).squareRoot()
    matrix = (0..<(rows * columns)).map { _ in Float(random.nextStandardNormal() * scale) }
  }

  /// Projects `count` row-major embeddings into `output` (`count × profileDimensions`).
  func project(_ embeddings: UnsafePointer<Float>, count: Int, into output: UnsafeMutablePointer<Float>) {
    guard !matrix.isEmpty else {
      output.update(from: embeddings, count: count * layout.embeddingDimensions)
      return
    }
    matrix.withUnsafeBufferPointer { matrix in
      Gemm.multiply(
        embeddings, matrix.baseAddress!, into: output, m: count, n: layout.profileDimensions,
        k: layout.embeddingDimensions, bTransposed: false)
    }
  }

  /// The embedding-space vector `u` with `u · x = v · project(x)` for every embedding
  /// `x`: scoring n embeddings against a profile-space `v` then costs n·E, not n·E·k.
  func lift(_ vector: [Float]) -> [Float] {
    guard !matrix.isEmpty else { return vector }
    let rows = layout.embeddingDimensions
    return [Float](unsafeUninitializedCapacity: rows) { output, initialized in
      matrix.withUnsafeBufferPointer { matrix in
        vector.withUnsafeBufferPointer { vector in
          Gemm.multiply(
            matrix.baseAddress!, vector: vector.baseAddress!, into: output.baseAddress!, rows: rows,
            columns: layout.profileDimensions)
        }
      }
      initialized = rows
    }
  }

  /// Projects one embedding.
  func project(_ embedding: [Float]) -> [Float] {
    var output = [Float](repeating: 0, count: layout.profileDimensions)
    embedding.withUnsafeBufferPointer { input in
      output.withUnsafeMutableBufferPointer { project(input.baseAddress!, count: 1, into: $0.baseAddress!) }
    }
    return output
  }
}

/// A linear layer split over the lanes by output columns.
extension ComputeLanes {
  /// `output[rows × outputs] = input · weightᵀ + bias`, each lane computing a range of at
  /// least `minimumColumns` output columns for every row: for few rows, where splitting by
  /// rows would make every lane read (and sgemm pack) all the weights. Up to
  /// `unpackedRows` rows it runs on ``Gemm/linearFewRows``, above on sgemm. `finish`, if
  /// given, then runs on the same lane once per row, with the lane's columns of that row
  /// (`line` points at the first): for an element-wise step while they are in its cache.
  func linearByColumns(
    _ input: UnsafePointer<Float>, rows: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, outputs: Int,
    inputs: Int, into output: UnsafeMutablePointer<Float>, minimumColumns: Int, unpackedRows: Int,
    finish: (@Sendable (_ line: UnsafeMutablePointer<Float>, _ row: Int, _ columns: Range<Int>) -> Void)? = nil
  ) {
    let (input, weight, bias, output) = (
      SendableReadPointer(input), SendableReadPointer(weight), SendableReadPointer(bias), SendablePointer(output)
    )
    forEachBlock(of: outputs, minimumRows: minimumColumns) { columns in
      let first = columns.lowerBound
      // This lane's columns of row 0; row r's are `outputs` floats further on each time.
      let corner = output.pointer + first
      let (weights, biases) = (weight.pointer + first * inputs, bias.pointer + first)
      Gemm.linear(
        input.pointer, rows: rows, weight: weights, bias: biases, outputs: columns.count, inputs: inputs, into: corner,
        outputStride: outputs, unpackedRows: unpackedRows)
      guard let finish else { return }
      for row in 0..<rows { finish(corner + row * outputs, row, columns) }
    }
  }
}

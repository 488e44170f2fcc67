import ArgumentParser
import Foundation
import WeftModels

/// `weft-bench kernels`: where the unpacked few-rows kernel stops beating sgemm, per layer shape.
struct KernelsBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "kernels",
    abstract: "Time Gemm.linearFewRows against sgemm (Gemm.linear) on one core, by rows, for the models' layer shapes.",
    discussion: """
      Each shape's weights are laid out in enough copies to exceed the last-level cache and \
      cycled through, so every call reads its weights from memory, as a forward pass does. \
      Prints the best of --repeats calls per kernel and sgemm's time over the kernel's (above \
      1: the unpacked kernel is faster). Gemm.fewRows is set from these figures.
      """)

  @Option(help: "Calls per kernel, shape and row count; the fastest is kept.")
  var repeats = 120

  /// (outputs, inputs): the text encoder's projections, a late vision 1×1 convolution, and narrow early ones.
  static let shapes = [(384, 384), (1_536, 384), (384, 1_536), (1_280, 320), (96, 16), (128, 64)]
  static let rowCounts = [1, 2, 3, 4, 8, 12, 16, 20, 24]
  /// Bytes of weights cycled through per shape: past a 32 MiB last-level cache.
  static let streamedBytes = 96 << 20

  func run() throws {
    Gemm.setThreads(1)
    print("sgemm time / few-rows time, best of \(repeats) calls, 1 thread (above 1: few-rows is faster)")
    print("outputs × inputs " + Self.rowCounts.map { "\($0) rows".padding(toLength: 8, withPad: " ", startingAt: 0) }.joined())
    for (outputs, inputs) in Self.shapes {
      let size = outputs * inputs
      let copies = max(1, Self.streamedBytes / (size * 4))
      let weights = (0..<size * copies).map { Float(($0 * 7_919) % 101) / 101 }
      let input = (0..<(Self.rowCounts.max()! * inputs)).map { Float(($0 * 31) % 97) / 97 }
      let bias = [Float](repeating: 0.1, count: outputs)
      var output = [Float](repeating: 0, count: Self.rowCounts.max()! * outputs)
      var ratios: [String] = []
      for rows in Self.rowCounts {
        let times = [false, true].map { unpacked in
          weights.withUnsafeBufferPointer { weights in
            input.withUnsafeBufferPointer { input in
              bias.withUnsafeBufferPointer { bias in
                output.withUnsafeMutableBufferPointer { output in
                  best(repeats) { call in
                    let weight = weights.baseAddress! + (call % copies) * size
                    if unpacked {
                      Gemm.linearFewRows(input.baseAddress!, rows: rows, weight: weight, bias: bias.baseAddress!, outputs: outputs, inputs: inputs, into: output.baseAddress!)
                    } else {
                      Gemm.linear(input.baseAddress!, rows: rows, weight: weight, bias: bias.baseAddress!, outputs: outputs, inputs: inputs, into: output.baseAddress!)
                    }
                  }
                }
              }
            }
          }
        }
        ratios.append(String(format: "%-8.2f", times[0] / times[1]))
      }
      print("\(outputs) × \(inputs)".padding(toLength: 17, withPad: " ", startingAt: 0) + ratios.joined())
    }
  }

  /// The fastest of `count` runs of `body` (given the call's index), in seconds.
  private func best(_ count: Int, _ body: (Int) -> Void) -> Double {
    var fastest = Double.infinity
    for call in 0..<count {
      let start = DispatchTime.now().uptimeNanoseconds
      body(call)
      fastest = min(fastest, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    return fastest
  }
}

#!/usr/bin/env python3
"""onnxruntime baseline for `weft-bench speech`: the silero-vad package's ONNX model.

    python3 onnxruntime_reference.py MODEL.onnx THREADS ROUNDS < request.json

Reads {"samples": "PATH" (raw little-endian float32, 16 kHz, a whole number of
512-sample chunks), "streams": [N, ...]} on stdin. Runs the model the way the package's
OnnxWrapper does (one session, one intra-op and one inter-op thread, 64 samples of
context prepended to each 512-sample chunk, the state fed back). Prints as JSON:
- "per-chunk": seconds per chunk for one stream, once per round;
- "streams N": seconds per chunk over all chunks of N streams, each on its own session
  and thread (onnxruntime releases the GIL while it runs), once per round.
"""
import json
import sys
import threading
import time

import numpy as np
import onnxruntime


def make_session(path):
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])


def run_stream(session, audio):
    state = np.zeros((2, 1, 128), dtype=np.float32)
    context = np.zeros((1, 64), dtype=np.float32)
    rate = np.array(16000, dtype=np.int64)
    for start in range(0, len(audio), 512):
        x = np.concatenate([context, audio[None, start:start + 512]], axis=1)
        _, state = session.run(None, {"input": x, "state": state, "sr": rate})
        context = x[:, -64:]


def main():
    path, threads, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    request = json.load(sys.stdin)
    audio = np.fromfile(request["samples"], dtype="<f4")
    chunks = len(audio) // 512
    session = make_session(path)
    run_stream(session, audio[:512 * 32])  # warm up
    results = {"per-chunk": []}
    for _ in range(rounds):
        start = time.perf_counter()
        run_stream(session, audio)
        results["per-chunk"].append((time.perf_counter() - start) / chunks)
    for streams in request["streams"]:
        sessions = [make_session(path) for _ in range(streams)]
        times = []
        for _ in range(max(1, rounds // 4)):
            workers = [threading.Thread(target=run_stream, args=(s, audio)) for s in sessions]
            start = time.perf_counter()
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            times.append((time.perf_counter() - start) / (chunks * streams))
        results[f"streams {streams}"] = times
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()

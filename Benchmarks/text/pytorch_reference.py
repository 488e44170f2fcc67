#!/usr/bin/env python3
"""PyTorch baseline for `weft-bench text`: sentence-transformers on the same weights.

    python3 pytorch_reference.py MODEL_DIR THREADS ROUNDS < texts.json

Reads {"batches": {"name": [texts...]}} on stdin; for each, times `encode` on that
batch ROUNDS times and prints {"name": [seconds per call, ...]} as JSON on stdout.
"""
import json
import sys
import time

import torch
from sentence_transformers import SentenceTransformer


def main():
    model_dir, threads, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(threads)
    model = SentenceTransformer(model_dir, device="cpu")
    model.max_seq_length = 256
    batches = json.load(sys.stdin)["batches"]
    results = {}
    with torch.inference_mode():
        for name, texts in batches.items():
            model.encode(texts, batch_size=len(texts), normalize_embeddings=True)  # warm up
            times = []
            for _ in range(rounds):
                start = time.perf_counter()
                model.encode(texts, batch_size=len(texts), normalize_embeddings=True)
                times.append(time.perf_counter() - start)
            results[name] = times
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()

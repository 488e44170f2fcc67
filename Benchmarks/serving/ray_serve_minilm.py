#!/usr/bin/env python3
"""Ray Serve peer for `weft-bench serving`: MiniLM with sentence-transformers on torch.

    python ray_serve_minilm.py MODEL_DIR PORT THREADS

POST /embed {"text": "..."} answers {"embedding": [384 floats]}; requests are batched by
@serve.batch (up to 32, 5 ms). Prints "ready" once it answers.
"""
import sys
import time

import ray
import torch
from ray import serve
from sentence_transformers import SentenceTransformer
from starlette.requests import Request

MODEL_DIR, PORT, THREADS = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


@serve.deployment(max_ongoing_requests=128, ray_actor_options={"num_cpus": 1})
class MiniLM:
    def __init__(self, model_dir, threads):
        torch.set_num_threads(threads)
        self.model = SentenceTransformer(model_dir, device="cpu")
        self.model.max_seq_length = 256

    @serve.batch(max_batch_size=32, batch_wait_timeout_s=0.005)
    async def embed(self, texts):
        with torch.inference_mode():
            vectors = self.model.encode(texts, batch_size=len(texts), normalize_embeddings=True)
        return [vector.tolist() for vector in vectors]

    async def __call__(self, request: Request):
        body = await request.json()
        return {"embedding": await self.embed(body["text"])}


if __name__ == "__main__":
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    serve.start(http_options={"host": "127.0.0.1", "port": PORT})
    serve.run(MiniLM.bind(MODEL_DIR, THREADS), route_prefix="/embed")
    print("ready", flush=True)
    while True:
        time.sleep(3600)

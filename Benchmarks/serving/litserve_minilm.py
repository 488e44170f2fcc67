#!/usr/bin/env python3
"""LitServe peer for `weft-bench serving`: MiniLM with sentence-transformers on torch.

    python litserve_minilm.py MODEL_DIR PORT THREADS

POST /predict {"text": "..."} answers {"embedding": [384 floats]}; requests are batched
(up to 32, 5 ms). weft-bench waits for /health.
"""
import sys

import litserve as ls
import torch
from sentence_transformers import SentenceTransformer

MODEL_DIR, PORT, THREADS = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


class MiniLM(ls.LitAPI):
    def setup(self, device):
        torch.set_num_threads(THREADS)
        self.model = SentenceTransformer(MODEL_DIR, device="cpu")
        self.model.max_seq_length = 256

    def decode_request(self, request):
        return request["text"]

    def predict(self, texts):
        with torch.inference_mode():
            return self.model.encode(list(texts), batch_size=len(texts), normalize_embeddings=True)

    def unbatch(self, output):
        return list(output)

    def encode_response(self, output):
        return {"embedding": output.tolist()}


if __name__ == "__main__":
    server = ls.LitServer(MiniLM(max_batch_size=32, batch_timeout=0.005), accelerator="cpu", workers_per_device=1)
    server.run(port=PORT, host="127.0.0.1", generate_client_file=False)

"""Calls a Weft mesh from Python: echo, streaming, text embeddings, status, errors.

    python example.py [tcp://127.0.0.1:5555]
"""

import asyncio
import sys

from weft_client import AsyncClient, Client, DeadlineExceeded, WeftError

GATEWAY = sys.argv[1] if len(sys.argv) > 1 else "tcp://127.0.0.1:5555"

with Client(GATEWAY) as client:
    reply = client.call("echo", "echo", [b"hello"], timeout=5, metadata={"trace": "example"})
    print("echo:", reply.body, "from", reply.worker_id, f"in {reply.total_us} µs")
    print("stream:", [r.body[0] for r in client.stream("echo", "stream", [b"a", b"b", b"c"])])
    vectors = client.embed(["A man is eating food.", "A man is riding a horse."], timeout=10)
    print("text.embed:", vectors.shape, "cosine", float(vectors[0] @ vectors[1]))
    print("text.similarity:", client.similarity("food", ["A man is eating.", "A car drives."]))
    print("services:", [service.name for service in client.mesh_status().services])
    try:
        client.call("sleep", "sleep", timeout=0.05, metadata={"sleep_ms": "500"})
    except DeadlineExceeded as error:
        print("deadline:", error)
    try:
        client.call("no-such-service", "run", timeout=5)
    except WeftError as error:
        print("error:", error.code.name, error.message)


async def main():
    async with AsyncClient(GATEWAY) as client:
        replies = await asyncio.gather(*[client.call("echo", "echo", [str(i).encode()]) for i in range(100)])
        print("asyncio: 100 calls in flight,", sum(r.body == [str(i).encode()] for i, r in enumerate(replies)), "matched")


asyncio.run(main())

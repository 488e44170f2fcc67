"""Round trips and throughput through a gateway's echo service from the Python client.

    python bench.py ENDPOINT [ROUND_TRIPS] [MESSAGES] [IN_FLIGHT]

Prints one JSON object per path (blocking client, asyncio client): p50/p99 round trip
in µs, pipelined messages/s and this process's CPU µs per message. `weft-bench clients`
runs it beside the Swift and C clients.
"""

import asyncio
import json
import sys
import time

from weft_client import AsyncClient, Client

BODY = b"x" * 64


def percentile(samples, fraction):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def blocking(endpoint, round_trips, messages, window):
    with Client(endpoint) as client:
        for _ in range(200):
            client.call("echo", "echo", [BODY])
        samples = []
        for _ in range(round_trips):
            start = time.perf_counter()
            client.call("echo", "echo", [BODY])
            samples.append((time.perf_counter() - start) * 1e6)
        sent = received = failures = 0
        start, cpu = time.perf_counter(), time.process_time()
        while received < messages:
            while sent < messages and sent - received < window:
                client.send("echo", "echo", [BODY])
                sent += 1
            reply = client.poll(timeout=5)
            if reply is None:
                failures += messages - received
                break
            failures += reply.status != 0
            received += 1
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"path": "python blocking", "p50_us": percentile(samples, 0.5), "p99_us": percentile(samples, 0.99),
            "per_second": messages / elapsed, "cpu_us_per_message": cpu * 1e6 / messages, "failures": failures}


async def asynchronous(endpoint, round_trips, messages, window):
    async with AsyncClient(endpoint) as client:
        for _ in range(200):
            await client.call("echo", "echo", [BODY])
        samples = []
        for _ in range(round_trips):
            start = time.perf_counter()
            await client.call("echo", "echo", [BODY])
            samples.append((time.perf_counter() - start) * 1e6)

        async def lane(count):
            for _ in range(count):
                await client.call("echo", "echo", [BODY])

        start, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*[lane(messages // window) for _ in range(window)])
        done = messages // window * window
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"path": "python asyncio", "p50_us": percentile(samples, 0.5), "p99_us": percentile(samples, 0.99),
            "per_second": done / elapsed, "cpu_us_per_message": cpu * 1e6 / done, "failures": 0}


def main():
    endpoint = sys.argv[1]
    given = [int(value) for value in sys.argv[2:5]]
    round_trips, messages, window = given + [2000, 20000, 64][len(given):]
    print(json.dumps(blocking(endpoint, round_trips, messages, window)))
    print(json.dumps(asyncio.run(asynchronous(endpoint, round_trips, messages, window))))


if __name__ == "__main__":
    main()

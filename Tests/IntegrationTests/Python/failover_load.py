"""Keeps idempotent `sleep` calls in flight through the gateways given until a stop file
appears, then prints one JSON line: calls made, calls that failed or came back with
another call's body, and the slowest call. MultiHostTests kills or cuts a gateway under it.

    failover_load.py --gateway tcp://A:5555 --gateway tcp://B:5555 --stop FILE
"""

import argparse
import json
import os
import time
from typing import Dict

from weft_client import CallOptions, Client


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gateway", action="append", required=True)
    parser.add_argument("--stop", required=True, help="stop once this file exists")
    parser.add_argument("--in-flight", type=int, default=32)
    parser.add_argument("--timeout", type=float, default=8.0)
    parser.add_argument("--max-seconds", type=float, default=60.0)
    args = parser.parse_args()

    client = Client(args.gateway)
    options = CallOptions(timeout=args.timeout)
    started: Dict[int, float] = {}
    bodies: Dict[int, bytes] = {}
    calls = ok = lost = 0
    failures: Dict[str, int] = {}
    slowest = 0.0
    announced = False
    give_up = time.monotonic() + args.max_seconds

    def send() -> None:
        nonlocal calls
        body = str(calls).encode()
        request_id = client.send("sleep", "sleep", [body], options)
        started[request_id], bodies[request_id] = time.monotonic(), body
        calls += 1

    while True:
        stopping = os.path.exists(args.stop) or time.monotonic() > give_up
        while not stopping and client.pending < args.in_flight:
            send()
        if stopping and not client.pending:
            break
        response = client.poll(0.05)
        if response is None or not response.end_of_stream:
            continue
        slowest = max(slowest, time.monotonic() - started.pop(response.request_id))
        body = bodies.pop(response.request_id)
        if response.status.name == "OK" and response.body == [body]:
            ok += 1
        else:
            lost += 1
            failures[response.status.name] = failures.get(response.status.name, 0) + 1
        if ok >= 50 and not announced:
            print("load running", flush=True)
            announced = True
    client.close()
    print(json.dumps({"calls": calls, "ok": ok, "lost": lost, "failures": failures, "slowest_s": slowest}), flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Plots `weft-bench serving` results: p50 and p99 latency against requests in flight.

    python plot_serving.py RESULTS.json OUT.png

RESULTS.json: {"targets": {"name": [{"in_flight": n, "rps": r, "p50_ms": a, "p99_ms": b}, ...]}}.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def main():
    results = json.load(open(sys.argv[1]))["targets"]
    figure, (latency, throughput) = plt.subplots(1, 2, figsize=(12, 4.5))
    for name, points in results.items():
        load = [point["in_flight"] for point in points]
        line = latency.plot(load, [point["p50_ms"] for point in points], marker="o", label=f"{name} p50")[0]
        latency.plot(load, [point["p99_ms"] for point in points], marker="x", linestyle="--", color=line.get_color(), label=f"{name} p99")
        throughput.plot(load, [point["rps"] for point in points], marker="o", color=line.get_color(), label=name)
    for axis in (latency, throughput):
        axis.set_xscale("log", base=2)
        axis.set_xlabel("requests in flight (offered load)")
        axis.grid(True, alpha=0.3)
    latency.set_yscale("log")
    latency.set_ylabel("latency, ms")
    latency.set_title("MiniLM, one short sentence per request")
    throughput.set_ylabel("requests/s")
    throughput.set_title("throughput")
    latency.legend(fontsize=7, ncol=2)
    throughput.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(sys.argv[2], dpi=110)


if __name__ == "__main__":
    main()

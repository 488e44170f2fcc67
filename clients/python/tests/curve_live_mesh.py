"""The Python client through CURVE, against a live mesh with CURVE on.

Needs ``WEFT_GATEWAY`` and ``WEFT_CURVE_KEYS`` (the key directories of the Swift test
``SecurityTests``, which starts such a mesh and runs this file by name).
"""

import asyncio
import os
import unittest

from weft_client import AsyncClient, Client, CurveCredentials, DeadlineExceeded, StatusCode, WeftError, methods
from weft_client._proto.weft.v1 import routing_pb2

GATEWAY = os.environ.get("WEFT_GATEWAY", "")
KEYS = os.environ.get("WEFT_CURVE_KEYS", "")


def credentials(directory: str, name: str) -> CurveCredentials:
    return CurveCredentials.from_files(f"{KEYS}/gw/gateway.key", f"{KEYS}/{directory}/{name}.secret")


@unittest.skipUnless(GATEWAY and KEYS, "WEFT_GATEWAY and WEFT_CURVE_KEYS not set")
class CurveTests(unittest.TestCase):
    def test_a_listed_key_calls_and_a_client_key_cannot_change_routes(self) -> None:
        with Client(GATEWAY, curve=credentials("clients", "carol")) as client:
            self.assertEqual(client.call("echo", "echo", [b"over curve"], timeout=5).body, [b"over curve"])
            update = routing_pb2.RouteUpdate(policy=routing_pb2.RoutePolicy(service="echo", split=[routing_pb2.VersionWeight(version="1", weight=1)]))
            with self.assertRaises(WeftError) as caught:
                client.call_method(methods.WEFT_MESH_ROUTE_SET, [update.SerializeToString()], timeout=5)
            self.assertEqual(caught.exception.code, StatusCode.PERMISSION_DENIED)

    def test_the_async_client_calls_through_curve(self) -> None:
        async def scenario() -> list:
            async with AsyncClient(GATEWAY, curve=credentials("clients", "carol")) as client:
                return (await client.call("echo", "echo", [b"async"], timeout=5)).body

        self.assertEqual(asyncio.run(scenario()), [b"async"])

    def test_an_unknown_key_gets_no_reply(self) -> None:
        with Client(GATEWAY, curve=credentials("strangers", "eve")) as client:
            with self.assertRaises(DeadlineExceeded):
                client.call("echo", "echo", [b"x"], timeout=0.3)


if __name__ == "__main__":
    unittest.main()

"""Python client for the Weft model-serving mesh.

>>> from weft_client import Client
>>> with Client("tcp://127.0.0.1:5555") as client:
...     vectors = client.embed(["A man is eating food."])   # numpy array [1, 384]

``AsyncClient`` is the asyncio twin. Failed calls raise :class:`WeftError` subclasses
carrying the gRPC status code, message and reply metadata.
"""

from weft_client.aio import AsyncClient
from weft_client.client import Client
from weft_client.status import (
    Cancelled,
    DeadlineExceeded,
    Internal,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    StatusCode,
    Unavailable,
    Unimplemented,
    WeftError,
)
from weft_client.wire import MAX_IN_FLIGHT, CallOptions, CurveCredentials, Response, encode_header

__all__ = [
    "AsyncClient", "Client", "CallOptions", "Response", "StatusCode", "WeftError", "InvalidArgument",
    "DeadlineExceeded", "NotFound", "ResourceExhausted", "Unimplemented", "Unavailable", "Cancelled", "Internal",
    "MAX_IN_FLIGHT", "encode_header", "CurveCredentials",
]

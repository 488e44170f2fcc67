"""Weft wire protocol v1 (docs/PROTOCOL.md): request frames out, reply frames in.

A request is ``[b"WFC\\x01", RequestHeader, body...]``; a reply ``[b"WFC\\x01",
ResponseHeader, body...]``. Shared by the blocking and the asyncio clients.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence

import zmq

from weft_client._proto.weft.v1 import header_pb2
from weft_client.status import MetadataValue, StatusCode, WeftError

SIGNATURE = b"WFC\x01"
DEFAULT_TIMEOUT = 30.0
#: Extra time after a deadline before the client stops waiting for the gateway.
DEADLINE_GRACE = 0.25
#: The most requests one client keeps in flight; more raise RESOURCE_EXHAUSTED locally.
MAX_IN_FLIGHT = 16384


@dataclass(frozen=True)
class CurveCredentials:
    """What a client needs for a gateway with CURVE on: the gateway's public key and its
    own keypair, each as 40-character Z85 text."""

    server_key: bytes
    public_key: bytes
    secret_key: bytes

    @classmethod
    def from_files(cls, gateway_key: str, secret_key: str) -> "CurveCredentials":
        """Reads the gateway's ``NAME.key`` and this client's ``NAME.secret`` (the files
        ``weft keys generate`` writes); the public half is derived from the secret."""
        with open(gateway_key, "rb") as handle:
            server = handle.read().strip()
        with open(secret_key, "rb") as handle:
            secret = handle.read().strip()
        return cls(server, zmq.curve_public(secret), secret)


def check_capacity(pending: int) -> None:
    """Raises RESOURCE_EXHAUSTED when ``pending`` requests already fill the client."""
    if pending >= MAX_IN_FLIGHT:
        raise WeftError.of(StatusCode.RESOURCE_EXHAUSTED, f"{MAX_IN_FLIGHT} requests already in flight")


@dataclass
class CallOptions:
    """Per-call settings."""

    #: Deadline in seconds, sent to the gateway as a relative deadline.
    timeout: float = DEFAULT_TIMEOUT
    #: Call metadata: ``str`` values are text, ``bytes`` values binary.
    metadata: Mapping[str, MetadataValue] = field(default_factory=dict)
    #: The end user the call is for (A/B stickiness, personalisation).
    user_id: str = ""
    #: Pin a model version; empty lets the gateway choose.
    version: str = ""
    #: The call may be run again on another worker if its worker dies.
    idempotent: bool = True
    #: Pass the reply through the recommender.
    personalize: bool = False
    #: Within this client's share of a service's queue, higher goes first (0 to 255).
    priority: int = 0


#: Reply metadata of a personalised or policy-routed reply, and call metadata of feedback
#: about it (the Swift side's ``RewardMetadata.token``; docs/ROUTING.md).
REWARD_TOKEN = "weft-reward-token"


@dataclass
class Response:
    """One reply: status, body frames, metadata and the mesh's timings."""

    request_id: int
    status: StatusCode
    message: str
    end_of_stream: bool
    body: List[bytes]
    metadata: Dict[str, MetadataValue]
    worker_id: str = ""
    model_version: str = ""
    queue_us: int = 0
    compute_us: int = 0
    total_us: int = 0
    gateway_queue_us: int = 0
    batch_size: int = 0
    personalized: bool = False
    #: On a call that stays open: how many more messages the client may send.
    credit: int = 0
    #: The reply carries no message, only ``credit`` (0: a keep-alive).
    flow_control: bool = False

    @property
    def reward_token(self) -> Optional[str]:
        """The token to send with feedback on what this reply showed, if it has one."""
        token = self.metadata.get(REWARD_TOKEN)
        return token if isinstance(token, str) else None

    def raise_for_status(self) -> "Response":
        """Raises the matching :class:`WeftError` unless the status is OK; returns self."""
        if self.status != StatusCode.OK:
            raise WeftError.of(self.status, self.message, self.metadata)
        return self


def encode_header(request_id: int, service: str, method: str, options: CallOptions) -> bytes:
    """The request header frame. Metadata is encoded sorted by key, as the Swift and C
    clients do, so all three produce the same bytes."""
    if not service or not method:
        raise WeftError.of(StatusCode.INVALID_ARGUMENT, "a request needs a service and a method")
    header = header_pb2.RequestHeader(
        request_id=request_id,
        service=service,
        method=method,
        timeout_ms=timeout_ms(options.timeout),
        idempotent=options.idempotent,
        personalize=options.personalize,
        version=options.version,
        user_id=options.user_id,
        priority=options.priority,
    )
    for key, value in options.metadata.items():
        if isinstance(value, (bytes, bytearray, memoryview)):
            header.metadata[key].binary = bytes(value)
        elif isinstance(value, str):
            header.metadata[key].text = value
        else:
            raise WeftError.of(StatusCode.INVALID_ARGUMENT, f"metadata {key!r} must be str or bytes")
    return header.SerializeToString(deterministic=True)


#: Messages a client may send on a new call before its worker grants more (docs/PROTOCOL.md).
INITIAL_MESSAGES = 8
#: Responses a call's worker may send before the client grants more, unless it asks otherwise.
DEFAULT_RESPONSES = 16
#: The largest response window a client may ask for.
MAX_RESPONSES = 1024


class ReadGrants:
    """Counts the responses read on an open call and says when to grant its worker room
    for more: half a window at a time."""

    def __init__(self, window: int):
        self._every = max(1, window // 2)
        self._unread = 0

    def read(self) -> int:
        """One more response read; returns the credit to send now (0: none yet)."""
        self._unread += 1
        if self._unread < self._every:
            return 0
        granted, self._unread = self._unread, 0
        return granted


def open_call_frames(request_id: int, service: str, method: str, options: CallOptions, response_window: int) -> List[bytes]:
    """The OPEN of a call that stays open: never sent again elsewhere, with its response window."""
    header = header_pb2.RequestHeader()
    header.ParseFromString(encode_header(request_id, service, method, options))
    header.idempotent = False
    header.credit = max(1, min(response_window, MAX_RESPONSES))
    return [SIGNATURE, header.SerializeToString(deterministic=True)]


def call_frames(request_id: int, frame: int, body: Sequence[bytes] = (), credit: int = 0) -> List[bytes]:
    """A MESSAGE (with its body frames), HALF_CLOSE or CREDIT on open call ``request_id``."""
    header = header_pb2.RequestHeader(request_id=request_id, frame=frame, credit=credit)  # type: ignore[arg-type]
    return [SIGNATURE, header.SerializeToString(), *body]


def timeout_ms(timeout: float) -> int:
    """The header's relative deadline: at least 1 ms, at most what uint32 holds."""
    return max(1, min(int(round(timeout * 1000)), 0xFFFFFFFF))


def request_frames(request_id: int, service: str, method: str, body: Sequence[bytes], options: CallOptions) -> List[bytes]:
    """Every frame of one request."""
    return [SIGNATURE, encode_header(request_id, service, method, options), *body]


def decode_reply(frames: Sequence[bytes]) -> Optional[Response]:
    """The reply in ``frames``, or None if they are not a well-formed reply."""
    if len(frames) < 2 or bytes(frames[0]) != SIGNATURE:
        return None
    header = header_pb2.ResponseHeader()
    try:
        header.ParseFromString(bytes(frames[1]))
    except Exception:  # a malformed header: the reply is skipped, like the other clients do
        return None
    try:
        status = StatusCode(header.status)
    except ValueError:
        status = StatusCode.UNKNOWN
    metadata: Dict[str, MetadataValue] = {
        key: (value.binary if value.WhichOneof("value") == "binary" else value.text) for key, value in header.metadata.items()
    }
    return Response(
        request_id=header.request_id,
        status=status,
        message=header.message,
        end_of_stream=header.end_of_stream,
        body=[bytes(frame) for frame in frames[2:]],
        metadata=metadata,
        worker_id=header.worker_id,
        model_version=header.model_version,
        queue_us=header.queue_us,
        compute_us=header.compute_us,
        total_us=header.total_us,
        gateway_queue_us=header.gateway_queue_us,
        batch_size=header.batch_size,
        personalized=header.personalized,
        credit=header.credit,
        flow_control=header.flow_control,
    )


def local_deadline_reply(request_id: int) -> Response:
    """The reply the client makes itself when the gateway did not answer in time."""
    return Response(request_id, StatusCode.DEADLINE_EXCEEDED, "no reply from the gateway before the deadline", True, [], {})

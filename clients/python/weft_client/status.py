"""Status codes (gRPC's numbers, ``Protos/weft/v1/status.proto``) and the errors they raise."""

from __future__ import annotations

import enum
from typing import Dict, Mapping, Optional, Type, Union

MetadataValue = Union[str, bytes]


class StatusCode(enum.IntEnum):
    """The status of a reply."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


class WeftError(Exception):
    """A call that did not return OK: its status code, message and reply metadata."""

    code: StatusCode = StatusCode.UNKNOWN

    def __init__(self, code: StatusCode, message: str, metadata: Optional[Mapping[str, MetadataValue]] = None):
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
        self.metadata: Dict[str, MetadataValue] = dict(metadata or {})

    @staticmethod
    def of(code: int, message: str, metadata: Optional[Mapping[str, MetadataValue]] = None) -> "WeftError":
        """The most specific error class for ``code``."""
        try:
            status = StatusCode(code)
        except ValueError:
            status = StatusCode.UNKNOWN
            message = f"unknown status {code}: {message}"
        return _BY_CODE.get(status, WeftError)(status, message, metadata)


class InvalidArgument(WeftError):
    """INVALID_ARGUMENT: the request was malformed or had bad values."""


class DeadlineExceeded(WeftError):
    """DEADLINE_EXCEEDED: no reply before the deadline."""


class NotFound(WeftError):
    """NOT_FOUND: no such method, or no live worker of the pinned version."""


class ResourceExhausted(WeftError):
    """RESOURCE_EXHAUSTED: a queue is full or the body too large."""


class Unimplemented(WeftError):
    """UNIMPLEMENTED: the protocol version or method is not supported."""


class Unavailable(WeftError):
    """UNAVAILABLE: no live worker serves the service, or the gateway is going away."""


class Cancelled(WeftError):
    """CANCELLED: the call was cancelled."""


class Internal(WeftError):
    """INTERNAL: the server failed."""


_BY_CODE: Dict[StatusCode, Type[WeftError]] = {
    StatusCode.INVALID_ARGUMENT: InvalidArgument,
    StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    StatusCode.NOT_FOUND: NotFound,
    StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    StatusCode.UNIMPLEMENTED: Unimplemented,
    StatusCode.UNAVAILABLE: Unavailable,
    StatusCode.CANCELLED: Cancelled,
    StatusCode.INTERNAL: Internal,
}

from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

ABORTED: StatusCode
ALREADY_EXISTS: StatusCode
CANCELLED: StatusCode
DATA_LOSS: StatusCode
DEADLINE_EXCEEDED: StatusCode
DESCRIPTOR: _descriptor.FileDescriptor
FAILED_PRECONDITION: StatusCode
INTERNAL: StatusCode
INVALID_ARGUMENT: StatusCode
NOT_FOUND: StatusCode
OK: StatusCode
OUT_OF_RANGE: StatusCode
PERMISSION_DENIED: StatusCode
RESOURCE_EXHAUSTED: StatusCode
UNAUTHENTICATED: StatusCode
UNAVAILABLE: StatusCode
UNIMPLEMENTED: StatusCode
UNKNOWN: StatusCode

class StatusCode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

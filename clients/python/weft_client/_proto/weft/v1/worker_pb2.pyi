from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MethodDescriptor(_message.Message):
    __slots__ = ["client_streaming", "input_kind", "name", "output_kind", "streaming"]
    CLIENT_STREAMING_FIELD_NUMBER: _ClassVar[int]
    INPUT_KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_KIND_FIELD_NUMBER: _ClassVar[int]
    STREAMING_FIELD_NUMBER: _ClassVar[int]
    client_streaming: bool
    input_kind: str
    name: str
    output_kind: str
    streaming: bool
    def __init__(self, name: _Optional[str] = ..., streaming: bool = ..., input_kind: _Optional[str] = ..., output_kind: _Optional[str] = ..., client_streaming: bool = ...) -> None: ...

class WorkerReady(_message.Message):
    __slots__ = ["capacity", "heartbeat_interval_ms", "inline_headers", "instance", "max_batch_delay_us", "max_batch_size", "methods", "name", "reads_packed", "service", "version"]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    INLINE_HEADERS_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_DELAY_US_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    METHODS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    READS_PACKED_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    capacity: int
    heartbeat_interval_ms: int
    inline_headers: bool
    instance: int
    max_batch_delay_us: int
    max_batch_size: int
    methods: _containers.RepeatedCompositeFieldContainer[MethodDescriptor]
    name: str
    reads_packed: bool
    service: str
    version: str
    def __init__(self, service: _Optional[str] = ..., version: _Optional[str] = ..., capacity: _Optional[int] = ..., max_batch_size: _Optional[int] = ..., max_batch_delay_us: _Optional[int] = ..., methods: _Optional[_Iterable[_Union[MethodDescriptor, _Mapping]]] = ..., name: _Optional[str] = ..., heartbeat_interval_ms: _Optional[int] = ..., instance: _Optional[int] = ..., inline_headers: bool = ..., reads_packed: bool = ...) -> None: ...

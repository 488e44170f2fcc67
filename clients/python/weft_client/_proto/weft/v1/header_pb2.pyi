from weft_client._proto.weft.v1 import status_pb2 as _status_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Mapping as _Mapping, Optional as _Optional, Union as _Union

CALL_FRAME_CREDIT: CallFrame
CALL_FRAME_HALF_CLOSE: CallFrame
CALL_FRAME_MESSAGE: CallFrame
CALL_FRAME_OPEN: CallFrame
DESCRIPTOR: _descriptor.FileDescriptor

class MetadataValue(_message.Message):
    __slots__ = ["binary", "text"]
    BINARY_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    binary: bytes
    text: str
    def __init__(self, text: _Optional[str] = ..., binary: _Optional[bytes] = ...) -> None: ...

class OpaqueFrames(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class RequestHeader(_message.Message):
    __slots__ = ["cancel", "credit", "frame", "idempotent", "metadata", "method", "personalize", "priority", "request_id", "service", "timeout_ms", "user_id", "version"]
    class MetadataEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: MetadataValue
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[MetadataValue, _Mapping]] = ...) -> None: ...
    CANCEL_FIELD_NUMBER: _ClassVar[int]
    CREDIT_FIELD_NUMBER: _ClassVar[int]
    FRAME_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENT_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    PERSONALIZE_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    cancel: bool
    credit: int
    frame: CallFrame
    idempotent: bool
    metadata: _containers.MessageMap[str, MetadataValue]
    method: str
    personalize: bool
    priority: int
    request_id: int
    service: str
    timeout_ms: int
    user_id: str
    version: str
    def __init__(self, request_id: _Optional[int] = ..., service: _Optional[str] = ..., method: _Optional[str] = ..., timeout_ms: _Optional[int] = ..., idempotent: bool = ..., personalize: bool = ..., version: _Optional[str] = ..., user_id: _Optional[str] = ..., metadata: _Optional[_Mapping[str, MetadataValue]] = ..., priority: _Optional[int] = ..., cancel: bool = ..., frame: _Optional[_Union[CallFrame, str]] = ..., credit: _Optional[int] = ...) -> None: ...

class ResponseHeader(_message.Message):
    __slots__ = ["batch_size", "compute_us", "credit", "end_of_stream", "flow_control", "gateway_queue_us", "message", "metadata", "model_version", "personalized", "queue_us", "request_id", "status", "total_us", "worker_id"]
    class MetadataEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: MetadataValue
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[MetadataValue, _Mapping]] = ...) -> None: ...
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_US_FIELD_NUMBER: _ClassVar[int]
    CREDIT_FIELD_NUMBER: _ClassVar[int]
    END_OF_STREAM_FIELD_NUMBER: _ClassVar[int]
    FLOW_CONTROL_FIELD_NUMBER: _ClassVar[int]
    GATEWAY_QUEUE_US_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    PERSONALIZED_FIELD_NUMBER: _ClassVar[int]
    QUEUE_US_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_US_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    batch_size: int
    compute_us: int
    credit: int
    end_of_stream: bool
    flow_control: bool
    gateway_queue_us: int
    message: str
    metadata: _containers.MessageMap[str, MetadataValue]
    model_version: str
    personalized: bool
    queue_us: int
    request_id: int
    status: _status_pb2.StatusCode
    total_us: int
    worker_id: str
    def __init__(self, request_id: _Optional[int] = ..., status: _Optional[_Union[_status_pb2.StatusCode, str]] = ..., message: _Optional[str] = ..., end_of_stream: bool = ..., worker_id: _Optional[str] = ..., model_version: _Optional[str] = ..., queue_us: _Optional[int] = ..., compute_us: _Optional[int] = ..., total_us: _Optional[int] = ..., batch_size: _Optional[int] = ..., personalized: bool = ..., metadata: _Optional[_Mapping[str, MetadataValue]] = ..., gateway_queue_us: _Optional[int] = ..., credit: _Optional[int] = ..., flow_control: bool = ...) -> None: ...

class CallFrame(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

from weft_client._proto.weft.v1 import ranking_pb2 as _ranking_pb2
from weft_client._proto.weft.v1 import tensor_pb2 as _tensor_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
RESIZE_MODE_CENTER_CROP: ResizeMode
RESIZE_MODE_STRETCH: ResizeMode

class Classification(_message.Message):
    __slots__ = ["index", "label", "probability"]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    index: int
    label: str
    probability: float
    def __init__(self, index: _Optional[int] = ..., label: _Optional[str] = ..., probability: _Optional[float] = ...) -> None: ...

class ClassifyRequest(_message.Message):
    __slots__ = ["image", "include_logits", "resize", "top_k"]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_LOGITS_FIELD_NUMBER: _ClassVar[int]
    RESIZE_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    image: Image
    include_logits: bool
    resize: ResizeMode
    top_k: int
    def __init__(self, image: _Optional[_Union[Image, _Mapping]] = ..., top_k: _Optional[int] = ..., include_logits: bool = ..., resize: _Optional[_Union[ResizeMode, str]] = ...) -> None: ...

class ClassifyResponse(_message.Message):
    __slots__ = ["logits", "model", "personalized", "top"]
    LOGITS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PERSONALIZED_FIELD_NUMBER: _ClassVar[int]
    TOP_FIELD_NUMBER: _ClassVar[int]
    logits: _tensor_pb2.Tensor
    model: str
    personalized: _ranking_pb2.RankedItems
    top: _containers.RepeatedCompositeFieldContainer[Classification]
    def __init__(self, top: _Optional[_Iterable[_Union[Classification, _Mapping]]] = ..., logits: _Optional[_Union[_tensor_pb2.Tensor, _Mapping]] = ..., model: _Optional[str] = ..., personalized: _Optional[_Union[_ranking_pb2.RankedItems, _Mapping]] = ...) -> None: ...

class Image(_message.Message):
    __slots__ = ["encoded", "rgb"]
    ENCODED_FIELD_NUMBER: _ClassVar[int]
    RGB_FIELD_NUMBER: _ClassVar[int]
    encoded: bytes
    rgb: _tensor_pb2.Tensor
    def __init__(self, encoded: _Optional[bytes] = ..., rgb: _Optional[_Union[_tensor_pb2.Tensor, _Mapping]] = ...) -> None: ...

class ImageEmbedRequest(_message.Message):
    __slots__ = ["image", "resize"]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    RESIZE_FIELD_NUMBER: _ClassVar[int]
    image: Image
    resize: ResizeMode
    def __init__(self, image: _Optional[_Union[Image, _Mapping]] = ..., resize: _Optional[_Union[ResizeMode, str]] = ...) -> None: ...

class ImageEmbedResponse(_message.Message):
    __slots__ = ["embedding", "model"]
    EMBEDDING_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    embedding: _tensor_pb2.Tensor
    model: str
    def __init__(self, embedding: _Optional[_Union[_tensor_pb2.Tensor, _Mapping]] = ..., model: _Optional[str] = ...) -> None: ...

class ResizeMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RankedItems(_message.Message):
    __slots__ = ["catalog_size", "items", "profile_events"]
    CATALOG_SIZE_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    PROFILE_EVENTS_FIELD_NUMBER: _ClassVar[int]
    catalog_size: int
    items: _containers.RepeatedCompositeFieldContainer[ScoredCandidate]
    profile_events: int
    def __init__(self, items: _Optional[_Iterable[_Union[ScoredCandidate, _Mapping]]] = ..., profile_events: _Optional[int] = ..., catalog_size: _Optional[int] = ...) -> None: ...

class ScoredCandidate(_message.Message):
    __slots__ = ["affinity", "exploration", "id", "index", "labels", "model_part", "model_rank", "score"]
    AFFINITY_FIELD_NUMBER: _ClassVar[int]
    EXPLORATION_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    MODEL_PART_FIELD_NUMBER: _ClassVar[int]
    MODEL_RANK_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    affinity: float
    exploration: float
    id: str
    index: int
    labels: _containers.RepeatedScalarFieldContainer[str]
    model_part: float
    model_rank: int
    score: float
    def __init__(self, id: _Optional[str] = ..., score: _Optional[float] = ..., model_part: _Optional[float] = ..., affinity: _Optional[float] = ..., exploration: _Optional[float] = ..., model_rank: _Optional[int] = ..., labels: _Optional[_Iterable[str]] = ..., index: _Optional[int] = ...) -> None: ...

from weft_client._proto.weft.v1 import tensor_pb2 as _tensor_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Candidate(_message.Message):
    __slots__ = ["embedding", "id", "labels", "model_score"]
    EMBEDDING_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    MODEL_SCORE_FIELD_NUMBER: _ClassVar[int]
    embedding: _containers.RepeatedScalarFieldContainer[float]
    id: str
    labels: _containers.RepeatedScalarFieldContainer[str]
    model_score: float
    def __init__(self, id: _Optional[str] = ..., model_score: _Optional[float] = ..., embedding: _Optional[_Iterable[float]] = ..., labels: _Optional[_Iterable[str]] = ...) -> None: ...

class CatalogItem(_message.Message):
    __slots__ = ["base_score", "embedding", "id", "labels"]
    BASE_SCORE_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    base_score: float
    embedding: _containers.RepeatedScalarFieldContainer[float]
    id: str
    labels: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., embedding: _Optional[_Iterable[float]] = ..., labels: _Optional[_Iterable[str]] = ..., base_score: _Optional[float] = ...) -> None: ...

class CatalogUpsertRequest(_message.Message):
    __slots__ = ["items"]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[CatalogItem]
    def __init__(self, items: _Optional[_Iterable[_Union[CatalogItem, _Mapping]]] = ...) -> None: ...

class CatalogUpsertResponse(_message.Message):
    __slots__ = ["catalog_size", "upserted"]
    CATALOG_SIZE_FIELD_NUMBER: _ClassVar[int]
    UPSERTED_FIELD_NUMBER: _ClassVar[int]
    catalog_size: int
    upserted: int
    def __init__(self, upserted: _Optional[int] = ..., catalog_size: _Optional[int] = ...) -> None: ...

class Exploration(_message.Message):
    __slots__ = ["scale"]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    scale: float
    def __init__(self, scale: _Optional[float] = ...) -> None: ...

class Feedback(_message.Message):
    __slots__ = ["embedding", "event_id", "item", "labels", "reward", "user"]
    EMBEDDING_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    REWARD_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    embedding: _containers.RepeatedScalarFieldContainer[float]
    event_id: str
    item: str
    labels: _containers.RepeatedScalarFieldContainer[str]
    reward: float
    user: str
    def __init__(self, user: _Optional[str] = ..., item: _Optional[str] = ..., reward: _Optional[float] = ..., event_id: _Optional[str] = ..., embedding: _Optional[_Iterable[float]] = ..., labels: _Optional[_Iterable[str]] = ...) -> None: ...

class FeedbackRequest(_message.Message):
    __slots__ = ["events"]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[Feedback]
    def __init__(self, events: _Optional[_Iterable[_Union[Feedback, _Mapping]]] = ...) -> None: ...

class FeedbackResponse(_message.Message):
    __slots__ = ["applied", "duplicates"]
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    applied: int
    duplicates: int
    def __init__(self, applied: _Optional[int] = ..., duplicates: _Optional[int] = ...) -> None: ...

class LabelAffinity(_message.Message):
    __slots__ = ["affinity", "events", "label"]
    AFFINITY_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    affinity: float
    events: int
    label: str
    def __init__(self, label: _Optional[str] = ..., affinity: _Optional[float] = ..., events: _Optional[int] = ...) -> None: ...

class PersonalizeRequest(_message.Message):
    __slots__ = ["candidates", "embeddings", "exploration", "top_k", "user"]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    EMBEDDINGS_FIELD_NUMBER: _ClassVar[int]
    EXPLORATION_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    candidates: _containers.RepeatedCompositeFieldContainer[Candidate]
    embeddings: _tensor_pb2.Tensor
    exploration: Exploration
    top_k: int
    user: str
    def __init__(self, user: _Optional[str] = ..., candidates: _Optional[_Iterable[_Union[Candidate, _Mapping]]] = ..., exploration: _Optional[_Union[Exploration, _Mapping]] = ..., top_k: _Optional[int] = ..., embeddings: _Optional[_Union[_tensor_pb2.Tensor, _Mapping]] = ...) -> None: ...

class Profile(_message.Message):
    __slots__ = ["events", "exists", "labels", "mean_reward", "preference", "rated_items", "updated_unix_ms", "user"]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    EXISTS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    MEAN_REWARD_FIELD_NUMBER: _ClassVar[int]
    PREFERENCE_FIELD_NUMBER: _ClassVar[int]
    RATED_ITEMS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    events: int
    exists: bool
    labels: _containers.RepeatedCompositeFieldContainer[LabelAffinity]
    mean_reward: float
    preference: _containers.RepeatedScalarFieldContainer[float]
    rated_items: int
    updated_unix_ms: int
    user: str
    def __init__(self, user: _Optional[str] = ..., exists: bool = ..., events: _Optional[int] = ..., mean_reward: _Optional[float] = ..., preference: _Optional[_Iterable[float]] = ..., labels: _Optional[_Iterable[_Union[LabelAffinity, _Mapping]]] = ..., rated_items: _Optional[int] = ..., updated_unix_ms: _Optional[int] = ...) -> None: ...

class ProfileDeleteResponse(_message.Message):
    __slots__ = ["events_removed", "existed"]
    EVENTS_REMOVED_FIELD_NUMBER: _ClassVar[int]
    EXISTED_FIELD_NUMBER: _ClassVar[int]
    events_removed: int
    existed: bool
    def __init__(self, existed: bool = ..., events_removed: _Optional[int] = ...) -> None: ...

class ProfileRequest(_message.Message):
    __slots__ = ["user"]
    USER_FIELD_NUMBER: _ClassVar[int]
    user: str
    def __init__(self, user: _Optional[str] = ...) -> None: ...

class RecommendRequest(_message.Message):
    __slots__ = ["exploration", "include_rated", "k", "user"]
    EXPLORATION_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_RATED_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    exploration: Exploration
    include_rated: bool
    k: int
    user: str
    def __init__(self, user: _Optional[str] = ..., k: _Optional[int] = ..., include_rated: bool = ..., exploration: _Optional[_Union[Exploration, _Mapping]] = ...) -> None: ...

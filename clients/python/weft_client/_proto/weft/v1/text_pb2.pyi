from weft_client._proto.weft.v1 import ranking_pb2 as _ranking_pb2
from weft_client._proto.weft.v1 import tensor_pb2 as _tensor_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EmbedRequest(_message.Message):
    __slots__ = ["texts"]
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    texts: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, texts: _Optional[_Iterable[str]] = ...) -> None: ...

class EmbedResponse(_message.Message):
    __slots__ = ["embeddings", "model", "token_counts"]
    EMBEDDINGS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TOKEN_COUNTS_FIELD_NUMBER: _ClassVar[int]
    embeddings: _tensor_pb2.Tensor
    model: str
    token_counts: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, embeddings: _Optional[_Union[_tensor_pb2.Tensor, _Mapping]] = ..., token_counts: _Optional[_Iterable[int]] = ..., model: _Optional[str] = ...) -> None: ...

class SimilarityRequest(_message.Message):
    __slots__ = ["candidates", "query"]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    candidates: _containers.RepeatedScalarFieldContainer[str]
    query: str
    def __init__(self, query: _Optional[str] = ..., candidates: _Optional[_Iterable[str]] = ...) -> None: ...

class SimilarityResponse(_message.Message):
    __slots__ = ["candidate_embeddings", "model", "personalized", "scores"]
    CANDIDATE_EMBEDDINGS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PERSONALIZED_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    candidate_embeddings: _tensor_pb2.Tensor
    model: str
    personalized: _ranking_pb2.RankedItems
    scores: _tensor_pb2.Tensor
    def __init__(self, scores: _Optional[_Union[_tensor_pb2.Tensor, _Mapping]] = ..., model: _Optional[str] = ..., candidate_embeddings: _Optional[_Union[_tensor_pb2.Tensor, _Mapping]] = ..., personalized: _Optional[_Union[_ranking_pb2.RankedItems, _Mapping]] = ...) -> None: ...

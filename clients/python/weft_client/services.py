"""Typed bodies for the mesh's services: text embeddings and similarity, image
classification and features, mesh status, version routes and rewards, and the
recommender.

Results are numpy arrays when numpy is installed, nested lists of floats otherwise.
"""

from __future__ import annotations

import array
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Generic, List, NamedTuple, Optional, Sequence, Tuple, TypeVar

from weft_client import methods
from weft_client._proto.weft.v1 import mesh_pb2, ranking_pb2, recommender_pb2, routing_pb2, speech_pb2, tensor_pb2, text_pb2, vision_pb2
from weft_client.methods import Method
from weft_client.status import StatusCode, WeftError
from weft_client.wire import REWARD_TOKEN, Response

numpy: Any
try:  # numpy is optional
    import numpy
except ImportError:  # pragma: no cover - exercised only without numpy
    numpy = None


def embed_request(texts: Sequence[str]) -> bytes:
    """The body of ``text.embed``."""
    return text_pb2.EmbedRequest(texts=list(texts)).SerializeToString()


def embed_result(response: Response) -> Any:
    """``text.embed``'s ``[n, 384]`` float32 embeddings."""
    reply = text_pb2.EmbedResponse()
    reply.ParseFromString(_single_body(response))
    return tensor_values(reply.embeddings)


def similarity_request(query: str, candidates: Sequence[str]) -> bytes:
    """The body of ``text.similarity``."""
    return text_pb2.SimilarityRequest(query=query, candidates=list(candidates)).SerializeToString()


def similarity_result(response: Response) -> Any:
    """``text.similarity``'s cosine score per candidate."""
    reply = text_pb2.SimilarityResponse()
    reply.ParseFromString(_single_body(response))
    return tensor_values(reply.scores)


class Classification(NamedTuple):
    """``vision.classify``'s answer: ``top`` as (index, label, probability), best first;
    ``logits`` (1000 floats) when asked for."""

    top: List[Tuple[int, str, float]]
    logits: Optional[Any]


def classify_request(image: bytes, top_k: int = 5, include_logits: bool = False, stretch: bool = False) -> bytes:
    """The body of ``vision.classify`` for JPEG or PNG bytes."""
    request = vision_pb2.ClassifyRequest(top_k=top_k, include_logits=include_logits, resize=_resize(stretch))
    request.image.encoded = image
    return request.SerializeToString()


def classify_result(response: Response) -> Classification:
    reply = vision_pb2.ClassifyResponse()
    reply.ParseFromString(_single_body(response))
    top = [(item.index, item.label, item.probability) for item in reply.top]
    return Classification(top, tensor_values(reply.logits) if reply.HasField("logits") else None)


def image_embedding_request(image: bytes, stretch: bool = False) -> bytes:
    """The body of ``vision.embed`` for JPEG or PNG bytes."""
    request = vision_pb2.ImageEmbedRequest(resize=_resize(stretch))
    request.image.encoded = image
    return request.SerializeToString()


def image_embedding_result(response: Response) -> Any:
    """``vision.embed``'s 1280 pooled features."""
    reply = vision_pb2.ImageEmbedResponse()
    reply.ParseFromString(_single_body(response))
    return tensor_values(reply.embedding)


class SpeechDetection(NamedTuple):
    """``speech.detect``'s answer: ``segments`` as (start, end) in seconds; the speech
    probability of each 32 ms chunk (None when omitted); the audio's length in seconds."""

    segments: List[Tuple[float, float]]
    probabilities: Optional[Any]
    duration: float


def detect_request(wav: bytes, omit_probabilities: bool = False, **rules: Any) -> bytes:
    """The body of ``speech.detect`` / ``speech.detect.stream`` for a WAV file's bytes.
    ``rules`` sets segment options by their SegmentOptions names (threshold,
    neg_threshold, min_speech_ms, min_silence_ms, speech_pad_ms, max_speech_s); the
    ones not given keep the silero-vad package's defaults."""
    request = speech_pb2.DetectRequest(omit_probabilities=omit_probabilities)
    request.audio.wav = wav
    if rules:
        options: Dict[str, Any] = dict(
            threshold=0.5, neg_threshold=0.0, min_speech_ms=250, min_silence_ms=100, speech_pad_ms=30, max_speech_s=0.0)
        unknown = set(rules) - set(options)
        if unknown:
            raise TypeError(f"unknown segment options: {sorted(unknown)}")
        options.update(rules)
        request.options.CopyFrom(speech_pb2.SegmentOptions(**options))
    return request.SerializeToString()


def detect_result(response: Response) -> SpeechDetection:
    reply = speech_pb2.DetectResponse()
    reply.ParseFromString(_single_body(response))
    probabilities = tensor_values(reply.probabilities) if reply.HasField("probabilities") else None
    return SpeechDetection([(s.start, s.end) for s in reply.segments], probabilities, reply.duration)


def _resize(stretch: bool) -> vision_pb2.ResizeMode:
    return vision_pb2.RESIZE_MODE_STRETCH if stretch else vision_pb2.RESIZE_MODE_CENTER_CROP


def mesh_status_result(response: Response) -> mesh_pb2.MeshStatus:
    """The gateway's ``weft.mesh/status`` reply."""
    status = mesh_pb2.MeshStatus()
    status.ParseFromString(_single_body(response))
    return status


def route_table_result(response: Response) -> routing_pb2.RouteTable:
    """The gateway's ``weft.mesh/routes`` reply: every service's policy and shares now."""
    table = routing_pb2.RouteTable()
    table.ParseFromString(_single_body(response))
    return table


def reward_request(rewards: Sequence[Tuple[str, str, float]]) -> bytes:
    """A ``RewardBatch`` of (service, version, reward in [0, 1]) entries."""
    batch = routing_pb2.RewardBatch()
    for service, version, reward in rewards:
        batch.rewards.add(service=service, version=version, reward=reward)
    return batch.SerializeToString()


def float32_tensor(rows: Any) -> tensor_pb2.Tensor:
    """A FLOAT32 tensor of a 2-D array (numpy array or list of equal-length lists)."""
    if numpy is not None:
        matrix = numpy.asarray(rows, dtype="<f4")
        if matrix.ndim != 2:
            raise ValueError(f"expected a 2-D array, got shape {matrix.shape}")
        return tensor_pb2.Tensor(dtype=tensor_pb2.FLOAT32, shape=list(matrix.shape), data=matrix.tobytes())
    rows = [list(row) for row in rows]
    width = len(rows[0]) if rows else 0
    if any(len(row) != width for row in rows):
        raise ValueError("rows of different lengths")
    values = array.array("f", [value for row in rows for value in row])
    if sys.byteorder == "big":  # pragma: no cover
        values.byteswap()
    return tensor_pb2.Tensor(dtype=tensor_pb2.FLOAT32, shape=[len(rows), width], data=values.tobytes())


def personalize_request(
    user: str, candidates: Sequence[Tuple[str, float]], embeddings: Any = None,
    labels: Optional[Sequence[Sequence[str]]] = None, exploration: Optional[float] = None, top_k: int = 0,
) -> bytes:
    """A ``PersonalizeRequest``: (id, model score) candidates, their embeddings as one
    [candidates, dimensions] matrix, optional labels per candidate."""
    request = recommender_pb2.PersonalizeRequest(user=user, top_k=top_k)
    for index, (item, score) in enumerate(candidates):
        candidate = request.candidates.add(id=item, model_score=score)
        if labels is not None:
            candidate.labels.extend(labels[index])
    if embeddings is not None:
        request.embeddings.CopyFrom(float32_tensor(embeddings))
    if exploration is not None:
        request.exploration.scale = exploration
    return request.SerializeToString()


def feedback_request(events: Sequence[Tuple[str, str, float, str]]) -> bytes:
    """A ``FeedbackRequest`` of (user, item, reward in [-1, 1], event id) events."""
    request = recommender_pb2.FeedbackRequest()
    for user, item, reward, event_id in events:
        request.events.add(user=user, item=item, reward=reward, event_id=event_id)
    return request.SerializeToString()


def catalog_upsert_request(items: Sequence[Tuple[str, Sequence[float], Sequence[str], float]]) -> bytes:
    """A ``CatalogUpsertRequest`` of (id, embedding, labels, base score) items."""
    request = recommender_pb2.CatalogUpsertRequest()
    for item, embedding, labels, base_score in items:
        request.items.add(id=item, embedding=[float(value) for value in embedding], labels=list(labels), base_score=base_score)
    return request.SerializeToString()


def recommend_request(user: str, k: int, include_rated: bool = False, exploration: Optional[float] = None) -> bytes:
    """A ``RecommendRequest``."""
    request = recommender_pb2.RecommendRequest(user=user, k=k, include_rated=include_rated)
    if exploration is not None:
        request.exploration.scale = exploration
    return request.SerializeToString()


def profile_request(user: str) -> bytes:
    """A ``ProfileRequest``."""
    return recommender_pb2.ProfileRequest(user=user).SerializeToString()


def message_result(response: Response, method: Method) -> Any:
    """The reply's single body frame parsed as ``method``'s response message."""
    if method.response is None:
        raise TypeError(f"{method.service}/{method.name} does not answer with a message")
    message = method.response()
    message.ParseFromString(_single_body(response))
    return message


def tensor_values(tensor: tensor_pb2.Tensor) -> Any:
    """A FLOAT32 tensor's values in its shape (numpy array, or nested lists)."""
    shape = list(tensor.shape)
    count = 1
    for size in shape:
        count *= size
    if tensor.dtype != tensor_pb2.FLOAT32 or len(tensor.data) != 4 * count:
        raise WeftError.of(StatusCode.DATA_LOSS, f"expected a float32 tensor of shape {shape}")
    if numpy is not None:
        return numpy.frombuffer(tensor.data, dtype="<f4").reshape(shape)
    values = array.array("f", tensor.data)
    if sys.byteorder == "big":  # pragma: no cover
        values.byteswap()
    return _nest(values.tolist(), shape)


def _nest(values: List[float], shape: List[int]) -> Any:
    if len(shape) <= 1:
        return values
    step = len(values) // shape[0]
    return [_nest(values[index * step:(index + 1) * step], shape[1:]) for index in range(shape[0])]


def _single_body(response: Response) -> bytes:
    if len(response.body) != 1:
        raise WeftError.of(StatusCode.DATA_LOSS, f"expected one body frame, got {len(response.body)}")
    return response.body[0]


ResultT = TypeVar("ResultT")


@dataclass(frozen=True)
class TypedCall(Generic[ResultT]):
    """What one typed helper sends and how it reads the reply, shared by :class:`Client`
    and :class:`AsyncClient`: the method, its body frames, the reply reader, and default
    call settings (e.g. a longer timeout) that the caller's settings override."""

    method: Method
    body: List[bytes]
    result: Callable[[Response], ResultT]
    defaults: Dict[str, Any] = field(default_factory=dict)

    def settings(self, given: Dict[str, Any]) -> Dict[str, Any]:
        """The call settings: the defaults with ``given`` over them."""
        return {**self.defaults, **given}


def embed(texts: Sequence[str]) -> TypedCall[Any]:
    """``text.embed``: one L2-normalised 384-float embedding per text."""
    return TypedCall(methods.TEXT_EMBED, [embed_request(texts)], embed_result)


def similarity(query: str, candidates: Sequence[str]) -> TypedCall[Any]:
    """``text.similarity``: the cosine score of each candidate against the query."""
    return TypedCall(methods.TEXT_SIMILARITY, [similarity_request(query, candidates)], similarity_result)


def classify(image: bytes, top_k: int = 5, include_logits: bool = False) -> TypedCall[Classification]:
    """``vision.classify``: the ``top_k`` ImageNet classes of a JPEG or PNG image."""
    return TypedCall(methods.VISION_CLASSIFY, [classify_request(image, top_k, include_logits)], classify_result)


def image_embedding(image: bytes) -> TypedCall[Any]:
    """``vision.embed``: the 1280 pooled EfficientNet-Lite0 features of a JPEG or PNG image."""
    return TypedCall(methods.VISION_EMBED, [image_embedding_request(image)], image_embedding_result)


def detect_speech(wav: bytes, omit_probabilities: bool, timeout: float, **rules: Any) -> TypedCall[SpeechDetection]:
    """``speech.detect``: speech segments and per-chunk probabilities of a WAV file;
    ``rules`` are segment options (see :func:`detect_request`)."""
    return TypedCall(methods.SPEECH_DETECT, [detect_request(wav, omit_probabilities, **rules)], detect_result, {"timeout": timeout})


def detect_speech_stream(wav: bytes, timeout: float, **rules: Any) -> TypedCall[List[Tuple[float, float]]]:
    """``speech.detect.stream``: each partial response's speech segments (start, end in
    seconds), as soon as the worker has found them."""
    return TypedCall(
        methods.SPEECH_DETECT_STREAM, [detect_request(wav, True, **rules)], lambda response: detect_result(response).segments,
        {"timeout": timeout})


def live_detect_result(response: Response) -> speech_pb2.DetectResponse:
    """One ``speech.detect.live`` response: its segments, probabilities and progress."""
    reply = speech_pb2.DetectResponse()
    reply.ParseFromString(response.body[0] if response.body else b"")
    return reply


def mesh_status(timeout: float) -> TypedCall[mesh_pb2.MeshStatus]:
    """The gateway's services, versions and workers."""
    return TypedCall(methods.WEFT_MESH_STATUS, [], mesh_status_result, {"timeout": timeout})


def routes(timeout: float) -> TypedCall[routing_pb2.RouteTable]:
    """Every service's version routing policy, with the shares now."""
    return TypedCall(methods.WEFT_MESH_ROUTES, [], route_table_result, {"timeout": timeout})


def reward(rewards: Sequence[Tuple[str, str, float]], timeout: float) -> TypedCall[None]:
    """Credits rewards (service, version, reward in [0, 1]) to the versions that served
    what was rewarded, for the A/B figures and a bandit policy. All or none are taken."""
    return TypedCall(methods.WEFT_MESH_REWARD, [reward_request(rewards)], lambda _: None, {"timeout": timeout})


def personalize(
    user: str, candidates: Sequence[Tuple[str, float]], embeddings: Any = None,
    labels: Optional[Sequence[Sequence[str]]] = None, exploration: Optional[float] = None, top_k: int = 0,
) -> TypedCall[ranking_pb2.RankedItems]:
    """``recommender.personalize``: (id, model score) candidates re-ranked for ``user``,
    each with its score's parts; ``embeddings`` is one [candidates, dimensions] array."""
    body = [personalize_request(user, candidates, embeddings, labels, exploration, top_k)]
    return TypedCall(methods.RECOMMENDER_PERSONALIZE, body, _reply_of(methods.RECOMMENDER_PERSONALIZE))


def feedback(
    events: Sequence[Tuple[str, str, float, str]], reward_token: Optional[str] = None
) -> TypedCall[recommender_pb2.FeedbackResponse]:
    """``recommender.feedback``: (user, item, reward, event id) events, acknowledged once
    durable; a retried event id counts once. With the ``reward_token`` of the reply the
    events are about (:attr:`Response.reward_token`), the version that produced that reply
    is credited with their mean reward, once per token."""
    defaults: Dict[str, Any] = {"metadata": {REWARD_TOKEN: reward_token}} if reward_token else {}
    return TypedCall(
        methods.RECOMMENDER_FEEDBACK, [feedback_request(events)], _reply_of(methods.RECOMMENDER_FEEDBACK), defaults
    )


def upsert_catalog(
    items: Sequence[Tuple[str, Sequence[float], Sequence[str], float]],
) -> TypedCall[recommender_pb2.CatalogUpsertResponse]:
    """``recommender.catalog.upsert``: (id, embedding, labels, base score) items."""
    body = [catalog_upsert_request(items)]
    return TypedCall(methods.RECOMMENDER_CATALOG_UPSERT, body, _reply_of(methods.RECOMMENDER_CATALOG_UPSERT))


def recommend(
    user: str, k: int = 10, include_rated: bool = False, exploration: Optional[float] = None,
) -> TypedCall[ranking_pb2.RankedItems]:
    """``recommender.recommend``: the catalogue's best ``k`` items for ``user``."""
    body = [recommend_request(user, k, include_rated, exploration)]
    return TypedCall(methods.RECOMMENDER_RECOMMEND, body, _reply_of(methods.RECOMMENDER_RECOMMEND))


def profile(user: str) -> TypedCall[recommender_pb2.Profile]:
    """``recommender.profile.get``: what the recommender holds about ``user``."""
    return TypedCall(methods.RECOMMENDER_PROFILE_GET, [profile_request(user)], _reply_of(methods.RECOMMENDER_PROFILE_GET))


def delete_profile(user: str) -> TypedCall[recommender_pb2.ProfileDeleteResponse]:
    """``recommender.profile.delete``: removes everything held about ``user``."""
    return TypedCall(methods.RECOMMENDER_PROFILE_DELETE, [profile_request(user)], _reply_of(methods.RECOMMENDER_PROFILE_DELETE))


def _reply_of(method: Method) -> Callable[[Response], Any]:
    return lambda response: message_result(response, method)

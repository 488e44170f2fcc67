"""The blocking client: many requests in flight over one or more gateways."""

from __future__ import annotations

import collections
import heapq
import itertools
import time
from typing import Any, Deque, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, TypeVar, Union

import zmq

from weft_client import services
from weft_client.gateways import RETRY_INTERVAL, Gateways
from weft_client._proto.weft.v1 import header_pb2, mesh_pb2, ranking_pb2, recommender_pb2, routing_pb2, speech_pb2
from weft_client.methods import Method
from weft_client.wire import (
    DEADLINE_GRACE,
    DEFAULT_RESPONSES,
    INITIAL_MESSAGES,
    CallOptions,
    ReadGrants,
    CurveCredentials,
    Response,
    call_frames,
    check_capacity,
    local_deadline_reply,
    open_call_frames,
    request_frames,
)

ResultT = TypeVar("ResultT")


class Client:
    """A blocking client of a Weft mesh. Not thread-safe: one client per thread.

    ``call`` waits for one request; ``send`` and ``poll`` keep many in flight. Every
    request ends with exactly one final reply, by its deadline: if the gateway does not
    answer within the deadline plus a short grace, the client answers DEADLINE_EXCEEDED
    itself. With several gateways, a lost gateway's idempotent requests are sent again
    through a live one (see :mod:`weft_client.gateways`).
    """

    def __init__(
        self, gateways: Union[str, Sequence[str]], context: Optional["zmq.Context[zmq.Socket[bytes]]"] = None,
        curve: Optional[CurveCredentials] = None,
    ):
        self._gateways = Gateways(context or zmq.Context.instance(), gateways, curve)
        self._poller = zmq.Poller()
        for socket in self._gateways.sockets:
            self._poller.register(socket, zmq.POLLIN)
        self._ids = itertools.count(1)
        self._pending: Dict[int, float] = {}  # request id → local give-up time
        self._deadlines: List[Tuple[float, int]] = []  # heap; stale entries skipped
        self._stash: Deque[Response] = collections.deque()  # replies read by call() for others
        self._ready: Deque[Response] = collections.deque()  # replies read, not yet returned

    def close(self) -> None:
        """Closes the sockets; pending requests are forgotten."""
        self._gateways.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def pending(self) -> int:
        """How many requests await their final reply."""
        return len(self._pending)

    def send(self, service: str, method: str, body: Sequence[bytes] = (), options: Optional[CallOptions] = None, **settings: Any) -> int:
        """Sends a request without waiting; returns its id. Replies come from ``poll``."""
        options = options or CallOptions(**settings)
        check_capacity(len(self._pending))
        request_id = next(self._ids)
        frames = request_frames(request_id, service, method, body, options)
        give_up = time.monotonic() + options.timeout + DEADLINE_GRACE
        self._gateways.submit(request_id, frames, options.idempotent)
        self._pending[request_id] = give_up
        if len(self._deadlines) > 2 * len(self._pending) + 1024:  # drop answered requests' entries
            self._deadlines = [(t, i) for t, i in self._deadlines if self._pending.get(i) == t]
            heapq.heapify(self._deadlines)
        heapq.heappush(self._deadlines, (give_up, request_id))
        return request_id

    def poll(self, timeout: Optional[float] = None) -> Optional[Response]:
        """The next reply to any pending request (partial or final), waiting up to
        ``timeout`` seconds (None: until one comes); None if nothing came in time or
        nothing is pending. Non-OK replies are returned, not raised."""
        if self._stash:
            return self._stash.popleft()
        return self._next_reply(timeout)

    def cancel(self, request_id: int) -> bool:
        """Cancels a pending request: the gateway takes it out of its queue or cancels it
        at its worker; replies to it, if any come, are dropped."""
        if self._pending.pop(request_id, None) is None:
            return False
        self._gateways.cancel(request_id)
        return True

    def call(self, service: str, method: str, body: Sequence[bytes] = (), options: Optional[CallOptions] = None, **settings: Any) -> Response:
        """Calls ``service.method`` and returns its final reply; raises :class:`WeftError`
        on a non-OK status (``DeadlineExceeded`` when no reply came in time)."""
        request_id = self.send(service, method, body, options, **settings)
        for response in self._replies_to(request_id):
            if response.end_of_stream:
                return response.raise_for_status()
        raise AssertionError("unreachable: every request gets a final reply")

    def stream(self, service: str, method: str, body: Sequence[bytes] = (), options: Optional[CallOptions] = None, **settings: Any) -> Iterator[Response]:
        """Calls a streaming method; yields each reply with a body as it arrives, and
        raises :class:`WeftError` if the stream ends with a non-OK status."""
        request_id = self.send(service, method, body, options, **settings)
        try:
            for response in self._replies_to(request_id):
                response.raise_for_status()
                if response.body or not response.end_of_stream:
                    yield response
                if response.end_of_stream:
                    return
        finally:
            self.cancel(request_id)

    def stream_call(
        self, service: str, method: str, messages: Iterable[Sequence[bytes]], options: Optional[CallOptions] = None,
        response_window: int = DEFAULT_RESPONSES, **settings: Any,
    ) -> Iterator[Response]:
        """A call that stays open (a client-streaming or bidirectional method): sends each
        element of ``messages`` (one message's body frames) as its worker grants room,
        half-closes when they end, and yields each response with a message as it arrives;
        raises :class:`WeftError` if the call ends with a non-OK status.

        Sending and reading share this thread: a message is taken from ``messages`` only
        when there is room for it, and responses are read in between. Reading grants the
        worker room for more, half a window at a time. Leaving the loop early cancels the call."""
        options = options or CallOptions(**settings)
        check_capacity(len(self._pending))
        request_id = next(self._ids)
        window = max(1, min(response_window, 1024))
        give_up = time.monotonic() + options.timeout + DEADLINE_GRACE
        self._gateways.submit(request_id, open_call_frames(request_id, service, method, options, window), False)
        self._pending[request_id] = give_up
        heapq.heappush(self._deadlines, (give_up, request_id))
        credit, grants = INITIAL_MESSAGES, ReadGrants(window)
        source: Optional[Iterator[Sequence[bytes]]] = iter(messages)
        finished = False
        try:
            while True:
                while source is not None and credit > 0:
                    body = next(source, None)
                    if body is None:
                        self._gateways.follow(request_id, call_frames(request_id, header_pb2.CALL_FRAME_HALF_CLOSE))
                        source = None
                    else:
                        self._gateways.follow(request_id, call_frames(request_id, header_pb2.CALL_FRAME_MESSAGE, list(body)))
                        credit -= 1
                response = next(self._replies_to(request_id))
                if response.flow_control:
                    credit += response.credit
                    continue
                finished = response.end_of_stream
                response.raise_for_status()
                if response.body or not finished:
                    yield response
                if finished:
                    return
                granted = grants.read()
                if granted:
                    self._gateways.follow(request_id, call_frames(request_id, header_pb2.CALL_FRAME_CREDIT, credit=granted))
        finally:
            if not finished:
                self.cancel(request_id)

    def detect_speech_live(self, pieces: Iterable[speech_pb2.LiveAudio], timeout: float = 3600.0) -> Iterator[speech_pb2.DetectResponse]:
        """``speech.detect.live``: live detection over one call. The first piece sets the
        format (encoding, sample_rate, channels, options, include_probabilities); each
        response carries the segments that became final, the last one the rest and the
        duration: together, what ``detect_speech`` finds in the whole recording."""
        messages = ([piece.SerializeToString()] for piece in pieces)
        for response in self.stream_call("speech", "detect.live", messages, timeout=timeout):
            yield services.live_detect_result(response)

    def call_method(self, method: Method, body: Sequence[bytes] = (), options: Optional[CallOptions] = None, **settings: Any) -> Response:
        """Calls a method of the generated table (``methods.TEXT_EMBED``, …) as :meth:`call` does."""
        return self.call(method.service, method.name, body, options, **settings)

    def stream_method(self, method: Method, body: Sequence[bytes] = (), options: Optional[CallOptions] = None, **settings: Any) -> Iterator[Response]:
        """Calls a streaming method of the generated table as :meth:`stream` does."""
        return self.stream(method.service, method.name, body, options, **settings)

    def embed(self, texts: Sequence[str], **settings: Any) -> Any:
        """``text.embed``: one L2-normalised 384-float embedding per text."""
        return self._typed(services.embed(texts), settings)

    def similarity(self, query: str, candidates: Sequence[str], **settings: Any) -> Any:
        """``text.similarity``: the cosine score of each candidate against the query."""
        return self._typed(services.similarity(query, candidates), settings)

    def classify(self, image: bytes, top_k: int = 5, include_logits: bool = False, **settings: Any) -> services.Classification:
        """``vision.classify``: the ``top_k`` ImageNet classes of a JPEG or PNG image."""
        return self._typed(services.classify(image, top_k, include_logits), settings)

    def image_embedding(self, image: bytes, **settings: Any) -> Any:
        """``vision.embed``: the 1280 pooled EfficientNet-Lite0 features of a JPEG or PNG image."""
        return self._typed(services.image_embedding(image), settings)

    def detect_speech(self, wav: bytes, omit_probabilities: bool = False, timeout: float = 30.0, **rules: Any) -> services.SpeechDetection:
        """``speech.detect``: speech segments and per-chunk probabilities of a WAV file;
        ``rules`` are segment options (see :func:`services.detect_request`)."""
        return self._typed(services.detect_speech(wav, omit_probabilities, timeout, **rules), {})

    def detect_speech_stream(self, wav: bytes, timeout: float = 300.0, **rules: Any) -> Iterator[Tuple[float, float]]:
        """``speech.detect.stream``: yields each speech segment (start, end in seconds)
        as soon as the worker has found it."""
        call = services.detect_speech_stream(wav, timeout, **rules)
        for response in self.stream_method(call.method, call.body, **call.settings({})):
            yield from call.result(response)

    def mesh_status(self, timeout: float = 5.0) -> mesh_pb2.MeshStatus:
        """The gateway's services, versions and workers."""
        return self._typed(services.mesh_status(timeout), {})

    def routes(self, timeout: float = 5.0) -> routing_pb2.RouteTable:
        """Every service's version routing policy, with the shares now."""
        return self._typed(services.routes(timeout), {})

    def reward(self, rewards: Sequence[Tuple[str, str, float]], timeout: float = 5.0) -> None:
        """Credits rewards (service, version, reward in [0, 1]) to the versions that served
        what was rewarded, for the A/B figures and a bandit policy. All or none are taken."""
        self._typed(services.reward(rewards, timeout), {})

    def personalize(
        self, user: str, candidates: Sequence[Tuple[str, float]], embeddings: Any = None,
        labels: Optional[Sequence[Sequence[str]]] = None, exploration: Optional[float] = None, top_k: int = 0,
        **settings: Any,
    ) -> ranking_pb2.RankedItems:
        """``recommender.personalize``: (id, model score) candidates re-ranked for ``user``,
        each with its score's parts; ``embeddings`` is one [candidates, dimensions] array."""
        return self._typed(services.personalize(user, candidates, embeddings, labels, exploration, top_k), settings)

    def feedback(
        self, events: Sequence[Tuple[str, str, float, str]], reward_token: Optional[str] = None, **settings: Any
    ) -> recommender_pb2.FeedbackResponse:
        """``recommender.feedback``: (user, item, reward, event id) events, acknowledged once
        durable; a retried event id counts once. ``reward_token``: the token of the reply
        the events are about, crediting the version that produced it."""
        return self._typed(services.feedback(events, reward_token), settings)

    def upsert_catalog(
        self, items: Sequence[Tuple[str, Sequence[float], Sequence[str], float]], **settings: Any
    ) -> recommender_pb2.CatalogUpsertResponse:
        """``recommender.catalog.upsert``: (id, embedding, labels, base score) items."""
        return self._typed(services.upsert_catalog(items), settings)

    def recommend(
        self, user: str, k: int = 10, include_rated: bool = False, exploration: Optional[float] = None, **settings: Any
    ) -> ranking_pb2.RankedItems:
        """``recommender.recommend``: the catalogue's best ``k`` items for ``user``."""
        return self._typed(services.recommend(user, k, include_rated, exploration), settings)

    def profile(self, user: str, **settings: Any) -> recommender_pb2.Profile:
        """``recommender.profile.get``: what the recommender holds about ``user``."""
        return self._typed(services.profile(user), settings)

    def delete_profile(self, user: str, **settings: Any) -> recommender_pb2.ProfileDeleteResponse:
        """``recommender.profile.delete``: removes everything held about ``user``."""
        return self._typed(services.delete_profile(user), settings)

    def _typed(self, call: services.TypedCall[ResultT], settings: Dict[str, Any]) -> ResultT:
        return call.result(self.call_method(call.method, call.body, **call.settings(settings)))

    def _replies_to(self, request_id: int) -> Iterator[Response]:
        """Replies to one request until its final one; others are kept for ``poll``."""
        while True:
            response = self._next_reply(None)
            if response is None:
                continue
            if response.request_id != request_id:
                self._stash.append(response)
                continue
            yield response
            if response.end_of_stream:
                return

    def _take_ready(self) -> Optional[Response]:
        """The next reply read but not yet returned whose request still waits for it."""
        while self._ready:
            response = self._ready.popleft()
            if response.request_id not in self._pending:
                continue  # cancelled or answered locally since it was read
            if response.end_of_stream:
                del self._pending[response.request_id]
            return response
        return None

    def _next_reply(self, timeout: Optional[float]) -> Optional[Response]:
        ready = self._take_ready()
        if ready is not None:
            return ready
        limit = None if timeout is None else time.monotonic() + timeout
        while True:
            now = time.monotonic()
            expiry = self._next_expiry()
            if expiry is not None and expiry <= now:
                request_id = heapq.heappop(self._deadlines)[1]
                del self._pending[request_id]
                self._gateways.forget(request_id)
                return local_deadline_reply(request_id)
            if not self._pending:
                return None
            if self._gateways.waiting:
                expiry = min(expiry, now + RETRY_INTERVAL) if expiry is not None else now + RETRY_INTERVAL
            wake = min(t for t in (expiry, limit) if t is not None) if (expiry or limit) else None
            wait_ms = None if wake is None else max(0, int((wake - now) * 1000) + 1)
            readable = dict(self._poller.poll(wait_ms))
            self._ready.extend(self._gateways.on_readable(readable))
            ready = self._take_ready()
            if ready is not None:
                return ready
            if limit is not None and time.monotonic() >= limit:
                return None

    def _next_expiry(self) -> Optional[float]:
        while self._deadlines:
            give_up, request_id = self._deadlines[0]
            if self._pending.get(request_id) == give_up:
                return give_up
            heapq.heappop(self._deadlines)
        return None

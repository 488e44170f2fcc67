"""The asyncio client: many coroutines share the client's gateway connections."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any, AsyncIterable, AsyncIterator, Dict, Iterable, Optional, Sequence, Tuple, TypeVar, Union

import zmq.asyncio

from weft_client import services
from weft_client.gateways import RETRY_INTERVAL, Gateways
from weft_client.methods import Method
from weft_client._proto.weft.v1 import header_pb2, mesh_pb2, ranking_pb2, recommender_pb2, routing_pb2, speech_pb2
from weft_client.status import StatusCode
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


class AsyncClient:
    """An asyncio client of a Weft mesh, for use from one event loop.

    A background task reads replies and hands each to the coroutine waiting for it.
    Every call ends by its deadline: if the gateway does not answer within the deadline
    plus a short grace, the call raises ``DeadlineExceeded``. With several gateways, a
    lost gateway's idempotent calls are sent again through a live one (see
    :mod:`weft_client.gateways`); a call whose task is cancelled is cancelled at the
    gateway and its worker too.
    """

    def __init__(
        self, gateways: Union[str, Sequence[str]], context: Optional[zmq.asyncio.Context] = None,
        curve: Optional[CurveCredentials] = None,
    ):
        self._gateways = Gateways(context or zmq.asyncio.Context.instance(), gateways, curve)
        self._ids = itertools.count(1)
        self._pending: Dict[int, "asyncio.Queue[Response]"] = {}
        # Open calls' message windows, refilled by the reader from the worker's grants.
        self._windows: Dict[int, asyncio.Semaphore] = {}
        self._reader: Optional["asyncio.Task[None]"] = None
        # Wakes the reader: set by the sockets' descriptors and after every send (a send
        # can consume the edge that would otherwise wake it).
        self._wake: Optional[asyncio.Event] = None

    async def close(self) -> None:
        """Stops the reader and closes the sockets; waiting calls raise ``Cancelled``."""
        if self._reader:
            self._reader.cancel()
            try:
                await self._reader
            except asyncio.CancelledError:
                pass
        for queue in self._pending.values():
            queue.put_nowait(Response(0, StatusCode.CANCELLED, "client closed", True, [], {}))
        self._pending.clear()
        self._gateways.close()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def call(self, service: str, method: str, body: Sequence[bytes] = (), options: Optional[CallOptions] = None, **settings: Any) -> Response:
        """Calls ``service.method`` and returns its final reply; raises :class:`WeftError`
        on a non-OK status."""
        async for response in self._replies(service, method, body, options or CallOptions(**settings)):
            if response.end_of_stream:
                return response.raise_for_status()
        raise AssertionError("unreachable: every request gets a final reply")

    async def stream(self, service: str, method: str, body: Sequence[bytes] = (), options: Optional[CallOptions] = None, **settings: Any) -> AsyncIterator[Response]:
        """Calls a streaming method; yields each reply with a body as it arrives."""
        async for response in self._replies(service, method, body, options or CallOptions(**settings)):
            response.raise_for_status()
            if response.body or not response.end_of_stream:
                yield response

    async def stream_call(
        self, service: str, method: str, messages: Union[AsyncIterable[Sequence[bytes]], Iterable[Sequence[bytes]]],
        options: Optional[CallOptions] = None, response_window: int = DEFAULT_RESPONSES, **settings: Any,
    ) -> AsyncIterator[Response]:
        """A call that stays open (a client-streaming or bidirectional method): a task
        sends each element of ``messages`` (one message's body frames) as the worker grants
        room and half-closes when they end, while this yields each response with a message
        as it arrives; raises :class:`WeftError` if the call ends with a non-OK status.
        Reading grants the worker room for more; leaving the loop early cancels the call."""
        options = options or CallOptions(**settings)
        check_capacity(len(self._pending))
        request_id = next(self._ids)
        window = max(1, min(response_window, 1024))
        queue, wake = self._register(request_id)
        credit = asyncio.Semaphore(INITIAL_MESSAGES)
        self._windows[request_id] = credit
        loop = asyncio.get_running_loop()
        give_up = loop.time() + options.timeout + DEADLINE_GRACE

        async def send_all() -> None:
            try:
                if isinstance(messages, AsyncIterable):
                    async for body in messages:
                        await credit.acquire()
                        self._follow(request_id, call_frames(request_id, header_pb2.CALL_FRAME_MESSAGE, list(body)))
                else:
                    for body in messages:
                        await credit.acquire()
                        self._follow(request_id, call_frames(request_id, header_pb2.CALL_FRAME_MESSAGE, list(body)))
                self._follow(request_id, call_frames(request_id, header_pb2.CALL_FRAME_HALF_CLOSE))
            except Exception as error:  # the caller's messages failed: the call ends
                queue.put_nowait(Response(request_id, StatusCode.CANCELLED, f"sending the messages failed: {error!r}", True, [], {}))

        finished = False
        sender: Optional["asyncio.Task[None]"] = None
        try:
            self._gateways.submit(request_id, open_call_frames(request_id, service, method, options, window), False)
            wake.set()
            sender = loop.create_task(send_all())
            grants = ReadGrants(window)
            while True:
                response = await self._next_reply(queue, request_id, give_up)
                finished = response.end_of_stream
                response.raise_for_status()
                if response.body or not finished:
                    yield response
                if finished:
                    return
                granted = grants.read()
                if granted:
                    self._follow(request_id, call_frames(request_id, header_pb2.CALL_FRAME_CREDIT, credit=granted))
        finally:
            if sender is not None:
                sender.cancel()
            self._pending.pop(request_id, None)
            self._windows.pop(request_id, None)
            if finished:
                self._gateways.forget(request_id)
            else:
                self._gateways.cancel(request_id)
                wake.set()

    async def detect_speech_live(
        self, pieces: Union[AsyncIterable[speech_pb2.LiveAudio], Iterable[speech_pb2.LiveAudio]], timeout: float = 3600.0,
    ) -> AsyncIterator[speech_pb2.DetectResponse]:
        """``speech.detect.live`` (see :meth:`Client.detect_speech_live`), fed from an
        iterable or an async iterable of pieces (a microphone, say)."""
        async def messages() -> AsyncIterator[Sequence[bytes]]:
            if isinstance(pieces, AsyncIterable):
                async for piece in pieces:
                    yield [piece.SerializeToString()]
            else:
                for piece in pieces:
                    yield [piece.SerializeToString()]
        async for response in self.stream_call("speech", "detect.live", messages(), timeout=timeout):
            yield services.live_detect_result(response)

    @staticmethod
    async def _next_reply(queue: "asyncio.Queue[Response]", request_id: int, give_up: float) -> Response:
        """The call's next reply, or the client's own DEADLINE_EXCEEDED once ``give_up`` (loop time) passes."""
        try:
            return await asyncio.wait_for(queue.get(), max(0.0, give_up - asyncio.get_running_loop().time()))
        except asyncio.TimeoutError:
            return local_deadline_reply(request_id)

    def _follow(self, request_id: int, frames: "list[bytes]") -> None:
        self._gateways.follow(request_id, frames)
        if self._wake is not None:
            self._wake.set()

    def _register(self, request_id: int) -> "Tuple[asyncio.Queue[Response], asyncio.Event]":
        """A reply queue for ``request_id``, with the reader running."""
        queue: "asyncio.Queue[Response]" = asyncio.Queue()
        self._pending[request_id] = queue
        if self._wake is None:
            self._wake = asyncio.Event()
        if self._reader is None or self._reader.done():
            self._reader = asyncio.get_running_loop().create_task(self._read(self._wake))
        return queue, self._wake

    async def call_method(self, method: Method, body: Sequence[bytes] = (), options: Optional[CallOptions] = None, **settings: Any) -> Response:
        """Calls a method of the generated table (``methods.TEXT_EMBED``, …) as :meth:`call` does."""
        return await self.call(method.service, method.name, body, options, **settings)

    def stream_method(self, method: Method, body: Sequence[bytes] = (), options: Optional[CallOptions] = None, **settings: Any) -> AsyncIterator[Response]:
        """Calls a streaming method of the generated table as :meth:`stream` does."""
        return self.stream(method.service, method.name, body, options, **settings)

    async def embed(self, texts: Sequence[str], **settings: Any) -> Any:
        """``text.embed``: one L2-normalised 384-float embedding per text."""
        return await self._typed(services.embed(texts), settings)

    async def similarity(self, query: str, candidates: Sequence[str], **settings: Any) -> Any:
        """``text.similarity``: the cosine score of each candidate against the query."""
        return await self._typed(services.similarity(query, candidates), settings)

    async def classify(self, image: bytes, top_k: int = 5, include_logits: bool = False, **settings: Any) -> services.Classification:
        """``vision.classify``: the ``top_k`` ImageNet classes of a JPEG or PNG image."""
        return await self._typed(services.classify(image, top_k, include_logits), settings)

    async def image_embedding(self, image: bytes, **settings: Any) -> Any:
        """``vision.embed``: the 1280 pooled EfficientNet-Lite0 features of a JPEG or PNG image."""
        return await self._typed(services.image_embedding(image), settings)

    async def detect_speech(self, wav: bytes, omit_probabilities: bool = False, timeout: float = 30.0, **rules: Any) -> services.SpeechDetection:
        """``speech.detect``: speech segments and per-chunk probabilities of a WAV file;
        ``rules`` are segment options (see :func:`services.detect_request`)."""
        return await self._typed(services.detect_speech(wav, omit_probabilities, timeout, **rules), {})

    async def detect_speech_stream(self, wav: bytes, timeout: float = 300.0, **rules: Any) -> AsyncIterator[Tuple[float, float]]:
        """``speech.detect.stream``: yields each speech segment (start, end in seconds)
        as soon as the worker has found it."""
        call = services.detect_speech_stream(wav, timeout, **rules)
        async for response in self.stream_method(call.method, call.body, **call.settings({})):
            for segment in call.result(response):
                yield segment

    async def mesh_status(self, timeout: float = 5.0) -> mesh_pb2.MeshStatus:
        """The gateway's services, versions and workers."""
        return await self._typed(services.mesh_status(timeout), {})

    async def routes(self, timeout: float = 5.0) -> routing_pb2.RouteTable:
        """Every service's version routing policy, with the shares now."""
        return await self._typed(services.routes(timeout), {})

    async def reward(self, rewards: Sequence[Tuple[str, str, float]], timeout: float = 5.0) -> None:
        """Credits rewards (service, version, reward in [0, 1]) to the versions that served
        what was rewarded, for the A/B figures and a bandit policy. All or none are taken."""
        await self._typed(services.reward(rewards, timeout), {})

    async def personalize(
        self, user: str, candidates: Sequence[Tuple[str, float]], embeddings: Any = None,
        labels: Optional[Sequence[Sequence[str]]] = None, exploration: Optional[float] = None, top_k: int = 0,
        **settings: Any,
    ) -> ranking_pb2.RankedItems:
        """``recommender.personalize``: (id, model score) candidates re-ranked for ``user``,
        each with its score's parts; ``embeddings`` is one [candidates, dimensions] array."""
        return await self._typed(services.personalize(user, candidates, embeddings, labels, exploration, top_k), settings)

    async def feedback(
        self, events: Sequence[Tuple[str, str, float, str]], reward_token: Optional[str] = None, **settings: Any
    ) -> recommender_pb2.FeedbackResponse:
        """``recommender.feedback``: (user, item, reward, event id) events, acknowledged once
        durable; a retried event id counts once. ``reward_token``: the token of the reply
        the events are about, crediting the version that produced it."""
        return await self._typed(services.feedback(events, reward_token), settings)

    async def upsert_catalog(
        self, items: Sequence[Tuple[str, Sequence[float], Sequence[str], float]], **settings: Any
    ) -> recommender_pb2.CatalogUpsertResponse:
        """``recommender.catalog.upsert``: (id, embedding, labels, base score) items."""
        return await self._typed(services.upsert_catalog(items), settings)

    async def recommend(
        self, user: str, k: int = 10, include_rated: bool = False, exploration: Optional[float] = None, **settings: Any
    ) -> ranking_pb2.RankedItems:
        """``recommender.recommend``: the catalogue's best ``k`` items for ``user``."""
        return await self._typed(services.recommend(user, k, include_rated, exploration), settings)

    async def profile(self, user: str, **settings: Any) -> recommender_pb2.Profile:
        """``recommender.profile.get``: what the recommender holds about ``user``."""
        return await self._typed(services.profile(user), settings)

    async def delete_profile(self, user: str, **settings: Any) -> recommender_pb2.ProfileDeleteResponse:
        """``recommender.profile.delete``: removes everything held about ``user``."""
        return await self._typed(services.delete_profile(user), settings)

    async def _typed(self, call: services.TypedCall[ResultT], settings: Dict[str, Any]) -> ResultT:
        return call.result(await self.call_method(call.method, call.body, **call.settings(settings)))

    async def _replies(self, service: str, method: str, body: Sequence[bytes], options: CallOptions) -> AsyncIterator[Response]:
        check_capacity(len(self._pending))
        request_id = next(self._ids)
        frames = request_frames(request_id, service, method, body, options)
        queue, wake = self._register(request_id)
        loop = asyncio.get_running_loop()
        give_up = loop.time() + options.timeout + DEADLINE_GRACE
        finished = False
        try:
            self._gateways.submit(request_id, frames, options.idempotent)
            wake.set()
            while True:
                response = await self._next_reply(queue, request_id, give_up)
                finished = response.end_of_stream
                yield response
                if finished:
                    return
        finally:
            self._pending.pop(request_id, None)
            if finished:
                self._gateways.forget(request_id)
            else:  # the caller stopped waiting (task cancelled, stream left early)
                self._gateways.cancel(request_id)
                wake.set()

    async def _read(self, wake: asyncio.Event) -> None:
        # ZeroMQ's descriptors signal on an edge: after each wake every socket is read
        # until it has nothing, so no message waits for the next edge.
        loop = asyncio.get_running_loop()
        descriptors = [socket.getsockopt(zmq.FD) for socket in self._gateways.sockets]
        for descriptor in descriptors:
            loop.add_reader(descriptor, wake.set)
        everything = set(self._gateways.sockets)
        try:
            while True:
                wake.clear()
                for response in self._gateways.on_readable(everything):
                    if response.flow_control:
                        window = self._windows.get(response.request_id)
                        for _ in range(response.credit if window is not None else 0):
                            window.release()  # type: ignore[union-attr]
                        continue
                    queue = self._pending.get(response.request_id)
                    if queue is not None:  # otherwise its caller stopped waiting
                        queue.put_nowait(response)
                # Short waits while calls wait for a live gateway, so they go as soon as one is.
                # (A timer rather than asyncio.wait_for, which can swallow the cancel that
                # stops this task when the wait ends at the same moment.)
                timer = loop.call_later(RETRY_INTERVAL if self._gateways.waiting else 0.1, wake.set)
                try:
                    await wake.wait()
                finally:
                    timer.cancel()
        finally:
            for descriptor in descriptors:
                loop.remove_reader(descriptor)

"""Connections to one or more gateways, with failover between them.

One DEALER socket per gateway, each with ZMTP heartbeats and a socket monitor, so the
client knows which gateways are live and which calls each one holds (docs/CLIENTS.md,
"Several gateways"):

- new calls go round-robin over the live gateways, and wait (within their deadline) while
  none is live;
- when a gateway's connection is lost (closed, or silent past the heartbeat timeout), its
  idempotent calls that have streamed nothing are sent again through a live gateway, and
  its other calls end at once with UNAVAILABLE;
- an idempotent call a gateway answers UNAVAILABLE is tried once on each other live gateway;
- a gateway that comes back is used again once its handshake completes.

Nothing here waits: the blocking and the asyncio clients poll :attr:`Gateways.sockets`
themselves and hand the readable ones to :meth:`Gateways.on_readable`.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Collection, Deque, Dict, List, Optional, Sequence, Set, Union

import zmq
import zmq.asyncio
from zmq.utils.monitor import recv_monitor_message

from weft_client._proto.weft.v1 import header_pb2
from weft_client.status import StatusCode
from weft_client.wire import SIGNATURE, CurveCredentials, Response, decode_reply

#: A PING goes to a gateway after this many milliseconds without traffic…
HEARTBEAT_INTERVAL_MS = 200
#: …and its connection counts as lost when nothing came back for this long.
HEARTBEAT_TIMEOUT_MS = 600
#: A connect attempt to a host that drops packets is given up and retried after this long.
CONNECT_TIMEOUT_MS = 1000
#: While calls wait for a live gateway, the clients poll at least this often (seconds).
RETRY_INTERVAL = 0.01

_MONITORED = zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_DISCONNECTED
_monitor_names = itertools.count(1)


@dataclass
class _Call:
    frames: List[bytes]
    idempotent: bool
    link: Optional[int] = None  # the gateway it was last sent to; None while waiting
    tried: Set[int] = field(default_factory=set)
    streamed: bool = False  # a partial reply reached the caller: it cannot start again
    follow_ups: List[List[bytes]] = field(default_factory=list)  # an open call's frames waiting for its OPEN to go


class _Link:
    def __init__(self, context: Any, endpoint: str, curve: Optional[CurveCredentials]):
        self.endpoint = endpoint
        self.socket = context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 100)
        self.socket.setsockopt(zmq.IMMEDIATE, 1)
        self.socket.setsockopt(zmq.SNDHWM, 0)
        self.socket.setsockopt(zmq.RCVHWM, 0)
        if curve is not None:
            self.socket.setsockopt(zmq.CURVE_SERVERKEY, curve.server_key)
            self.socket.setsockopt(zmq.CURVE_PUBLICKEY, curve.public_key)
            self.socket.setsockopt(zmq.CURVE_SECRETKEY, curve.secret_key)
        self.in_process = endpoint.startswith("inproc://")
        self.monitor: Optional[Any] = None
        if not self.in_process:
            self.socket.setsockopt(zmq.HEARTBEAT_IVL, HEARTBEAT_INTERVAL_MS)
            self.socket.setsockopt(zmq.HEARTBEAT_TIMEOUT, HEARTBEAT_TIMEOUT_MS)
            self.socket.setsockopt(zmq.HEARTBEAT_TTL, HEARTBEAT_TIMEOUT_MS)
            self.socket.setsockopt(zmq.CONNECT_TIMEOUT, CONNECT_TIMEOUT_MS)
            address = f"inproc://weft-client-monitor-{id(self)}-{next(_monitor_names)}"
            self.socket.monitor(address, _MONITORED)
            self.monitor = context.socket(zmq.PAIR)
            self.monitor.connect(address)
        self.live = self.in_process
        self.socket.connect(endpoint)


class Gateways:
    """The sockets to every gateway and the calls each holds."""

    def __init__(self, context: Any, gateways: Union[str, Sequence[str]], curve: Optional[CurveCredentials] = None):
        endpoints = [gateways] if isinstance(gateways, str) else list(gateways)
        if not endpoints:
            raise ValueError("a client needs at least one gateway endpoint")
        # An asyncio context makes asyncio sockets; this module needs plain ones.
        if isinstance(context, zmq.asyncio.Context):
            context = zmq.Context.shadow(context.underlying)
        self._links = [_Link(context, endpoint, curve) for endpoint in endpoints]
        self._calls: Dict[int, _Call] = {}
        self._unsent: Deque[int] = deque()
        self._next = 0
        #: Every socket to poll for reading: the gateways' and their monitors'.
        self.sockets: List[Any] = [link.socket for link in self._links] + [
            link.monitor for link in self._links if link.monitor is not None
        ]

    @property
    def waiting(self) -> bool:
        """Calls wait for a live gateway: poll again within :data:`RETRY_INTERVAL`."""
        return bool(self._unsent)

    def submit(self, request_id: int, frames: List[bytes], idempotent: bool) -> None:
        """Sends a call now if a gateway is live, else keeps it until one is."""
        self._calls[request_id] = _Call(frames, idempotent)
        self._unsent.append(request_id)
        self._flush()

    def forget(self, request_id: int) -> None:
        """Stops tracking a call (it ended, or the caller gave up on it locally)."""
        self._calls.pop(request_id, None)

    def follow(self, request_id: int, frames: List[bytes]) -> None:
        """Sends a MESSAGE, HALF_CLOSE or CREDIT on an open call, after its OPEN; dropped
        if the call has ended."""
        call = self._calls.get(request_id)
        if call is None:
            return
        if call.link is None:
            call.follow_ups.append(frames)
        else:
            self._links[call.link].socket.send_multipart(frames, copy=False)

    def cancel(self, request_id: int) -> None:
        """Forgets a call and tells the gateway holding it, which cancels it in its queue
        or at its worker."""
        call = self._calls.pop(request_id, None)
        if call is None or call.link is None:
            return
        header = header_pb2.RequestHeader(request_id=request_id, cancel=True).SerializeToString()
        try:
            self._links[call.link].socket.send_multipart([SIGNATURE, header], flags=zmq.NOBLOCK)
        except zmq.ZMQError:
            pass  # the gateway is gone: its deadline ends the call there

    def on_readable(self, readable: Collection[Any]) -> List[Response]:
        """Reads what the readable sockets hold; returns the replies for the caller, in
        order, including the UNAVAILABLE ones made here for calls a lost gateway held.
        Call it after every poll, timed out or not, so waiting calls are sent."""
        replies: List[Response] = []
        # Replies first: those a gateway sent before its connection dropped still count.
        for index, link in enumerate(self._links):
            if link.socket in readable:
                self._read_replies(index, link, replies)
        for index, link in enumerate(self._links):
            if link.monitor is not None and link.monitor in readable:
                self._read_events(index, link, replies)
        self._flush()
        return replies

    def close(self) -> None:
        for link in self._links:
            if link.monitor is not None:
                link.socket.disable_monitor()
                link.monitor.close(linger=0)
            link.socket.close()

    def _read_replies(self, index: int, link: _Link, replies: List[Response]) -> None:
        while True:
            try:
                frames = link.socket.recv_multipart(flags=zmq.NOBLOCK)
            except zmq.Again:
                return
            response = decode_reply(frames)
            call = self._calls.get(response.request_id) if response is not None else None
            if response is None or call is None or call.link != index:
                continue  # malformed, ended, or since sent to another gateway
            if (response.end_of_stream and response.status == StatusCode.UNAVAILABLE and call.idempotent
                    and not call.streamed and self._untried_live(call)):
                call.link = None  # this gateway cannot serve it now; another may
                self._unsent.appendleft(response.request_id)
                continue
            if response.end_of_stream:
                del self._calls[response.request_id]
            else:
                call.streamed = True
            replies.append(response)

    def _read_events(self, index: int, link: _Link, replies: List[Response]) -> None:
        assert link.monitor is not None
        while True:
            try:
                event = recv_monitor_message(link.monitor, flags=zmq.NOBLOCK)
            except zmq.Again:
                return
            if event["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                link.live = True
            elif event["event"] == zmq.EVENT_DISCONNECTED and link.live:
                link.live = False
                self._lose(index, link, replies)

    def _lose(self, index: int, link: _Link, replies: List[Response]) -> None:
        # What the gateway sent before it went comes first: the monitor's event can be
        # seen before the socket shows the last replies as readable.
        self._read_replies(index, link, replies)
        for request_id, call in list(self._calls.items()):
            if call.link != index:
                continue
            if call.idempotent and not call.streamed:
                call.link = None
                self._unsent.appendleft(request_id)
            else:
                del self._calls[request_id]
                why = "it had already streamed replies" if call.streamed else "it is not idempotent"
                replies.append(Response(
                    request_id, StatusCode.UNAVAILABLE,
                    f"lost the connection to gateway {link.endpoint} while the call ran; {why}, so it was not sent again",
                    True, [], {}))

    def _untried_live(self, call: _Call) -> bool:
        return any(link.live and index not in call.tried for index, link in enumerate(self._links))

    def _flush(self) -> None:
        while self._unsent:
            request_id = self._unsent[0]
            call = self._calls.get(request_id)
            if call is not None and not self._send(request_id, call):
                return
            self._unsent.popleft()

    def _send(self, request_id: int, call: _Call) -> bool:
        count = len(self._links)
        for untried_only in (True, False):
            for step in range(count):
                index = (self._next + step) % count
                link = self._links[index]
                if not link.live or (untried_only and index in call.tried):
                    continue
                try:
                    link.socket.send_multipart(call.frames, flags=zmq.NOBLOCK, copy=False)
                except zmq.ZMQError:
                    continue  # not connected after all: try the next one
                self._next = (index + 1) % count
                call.link = index
                call.tried.add(index)
                for frames in call.follow_ups:
                    link.socket.send_multipart(frames, copy=False)
                call.follow_ups.clear()
                return True
        return False

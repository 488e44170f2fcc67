from weft_client._proto.weft.v1 import routing_pb2 as _routing_pb2
from weft_client._proto.weft.v1 import worker_pb2 as _worker_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class KindCount(_message.Message):
    __slots__ = ["count", "kind"]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    count: int
    kind: str
    def __init__(self, kind: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class LatencySummary(_message.Message):
    __slots__ = ["count", "max_us", "p50_us", "p90_us", "p99_us"]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    MAX_US_FIELD_NUMBER: _ClassVar[int]
    P50_US_FIELD_NUMBER: _ClassVar[int]
    P90_US_FIELD_NUMBER: _ClassVar[int]
    P99_US_FIELD_NUMBER: _ClassVar[int]
    count: int
    max_us: int
    p50_us: int
    p90_us: int
    p99_us: int
    def __init__(self, count: _Optional[int] = ..., p50_us: _Optional[int] = ..., p90_us: _Optional[int] = ..., p99_us: _Optional[int] = ..., max_us: _Optional[int] = ...) -> None: ...

class MeshStatus(_message.Message):
    __slots__ = ["cancelled_by_clients", "client_budget_refusals", "client_packs", "clients_behind", "gateway_id", "held_reply_bytes", "malformed", "packed_requests", "redispatched", "replies", "replies_held", "services", "undeliverable", "uptime_ms", "worker_messages_dropped", "workers_evicted"]
    CANCELLED_BY_CLIENTS_FIELD_NUMBER: _ClassVar[int]
    CLIENTS_BEHIND_FIELD_NUMBER: _ClassVar[int]
    CLIENT_BUDGET_REFUSALS_FIELD_NUMBER: _ClassVar[int]
    CLIENT_PACKS_FIELD_NUMBER: _ClassVar[int]
    GATEWAY_ID_FIELD_NUMBER: _ClassVar[int]
    HELD_REPLY_BYTES_FIELD_NUMBER: _ClassVar[int]
    MALFORMED_FIELD_NUMBER: _ClassVar[int]
    PACKED_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    REDISPATCHED_FIELD_NUMBER: _ClassVar[int]
    REPLIES_FIELD_NUMBER: _ClassVar[int]
    REPLIES_HELD_FIELD_NUMBER: _ClassVar[int]
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    UNDELIVERABLE_FIELD_NUMBER: _ClassVar[int]
    UPTIME_MS_FIELD_NUMBER: _ClassVar[int]
    WORKERS_EVICTED_FIELD_NUMBER: _ClassVar[int]
    WORKER_MESSAGES_DROPPED_FIELD_NUMBER: _ClassVar[int]
    cancelled_by_clients: int
    client_budget_refusals: int
    client_packs: int
    clients_behind: int
    gateway_id: str
    held_reply_bytes: int
    malformed: _containers.RepeatedCompositeFieldContainer[KindCount]
    packed_requests: int
    redispatched: int
    replies: _containers.RepeatedCompositeFieldContainer[StatusCount]
    replies_held: int
    services: _containers.RepeatedCompositeFieldContainer[ServiceStatus]
    undeliverable: int
    uptime_ms: int
    worker_messages_dropped: int
    workers_evicted: int
    def __init__(self, gateway_id: _Optional[str] = ..., uptime_ms: _Optional[int] = ..., services: _Optional[_Iterable[_Union[ServiceStatus, _Mapping]]] = ..., replies: _Optional[_Iterable[_Union[StatusCount, _Mapping]]] = ..., redispatched: _Optional[int] = ..., workers_evicted: _Optional[int] = ..., malformed: _Optional[_Iterable[_Union[KindCount, _Mapping]]] = ..., undeliverable: _Optional[int] = ..., worker_messages_dropped: _Optional[int] = ..., client_budget_refusals: _Optional[int] = ..., replies_held: _Optional[int] = ..., held_reply_bytes: _Optional[int] = ..., clients_behind: _Optional[int] = ..., cancelled_by_clients: _Optional[int] = ..., client_packs: _Optional[int] = ..., packed_requests: _Optional[int] = ...) -> None: ...

class ServiceStatus(_message.Message):
    __slots__ = ["in_flight", "methods", "name", "queue_depth", "queue_limit", "route", "versions"]
    IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    METHODS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    QUEUE_DEPTH_FIELD_NUMBER: _ClassVar[int]
    QUEUE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    in_flight: int
    methods: _containers.RepeatedCompositeFieldContainer[_worker_pb2.MethodDescriptor]
    name: str
    queue_depth: int
    queue_limit: int
    route: _routing_pb2.RouteState
    versions: _containers.RepeatedCompositeFieldContainer[VersionStatus]
    def __init__(self, name: _Optional[str] = ..., versions: _Optional[_Iterable[_Union[VersionStatus, _Mapping]]] = ..., methods: _Optional[_Iterable[_Union[_worker_pb2.MethodDescriptor, _Mapping]]] = ..., queue_depth: _Optional[int] = ..., queue_limit: _Optional[int] = ..., in_flight: _Optional[int] = ..., route: _Optional[_Union[_routing_pb2.RouteState, _Mapping]] = ...) -> None: ...

class StatusCount(_message.Message):
    __slots__ = ["code", "count"]
    CODE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    code: str
    count: int
    def __init__(self, code: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class VersionFigures(_message.Message):
    __slots__ = ["compute", "errors", "queue", "requests", "total"]
    COMPUTE_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    compute: LatencySummary
    errors: _containers.RepeatedCompositeFieldContainer[StatusCount]
    queue: LatencySummary
    requests: int
    total: LatencySummary
    def __init__(self, requests: _Optional[int] = ..., errors: _Optional[_Iterable[_Union[StatusCount, _Mapping]]] = ..., total: _Optional[_Union[LatencySummary, _Mapping]] = ..., queue: _Optional[_Union[LatencySummary, _Mapping]] = ..., compute: _Optional[_Union[LatencySummary, _Mapping]] = ...) -> None: ...

class VersionStatus(_message.Message):
    __slots__ = ["mean_reward", "rewards", "served", "shadow", "share", "version", "workers"]
    MEAN_REWARD_FIELD_NUMBER: _ClassVar[int]
    REWARDS_FIELD_NUMBER: _ClassVar[int]
    SERVED_FIELD_NUMBER: _ClassVar[int]
    SHADOW_FIELD_NUMBER: _ClassVar[int]
    SHARE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    mean_reward: float
    rewards: int
    served: VersionFigures
    shadow: VersionFigures
    share: float
    version: str
    workers: _containers.RepeatedCompositeFieldContainer[WorkerStatus]
    def __init__(self, version: _Optional[str] = ..., workers: _Optional[_Iterable[_Union[WorkerStatus, _Mapping]]] = ..., served: _Optional[_Union[VersionFigures, _Mapping]] = ..., shadow: _Optional[_Union[VersionFigures, _Mapping]] = ..., rewards: _Optional[int] = ..., mean_reward: _Optional[float] = ..., share: _Optional[float] = ...) -> None: ...

class WorkerStatus(_message.Message):
    __slots__ = ["capacity", "completed", "draining", "id", "in_flight", "key_name", "last_seen_ms_ago", "name"]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    DRAINING_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    KEY_NAME_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_MS_AGO_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    capacity: int
    completed: int
    draining: bool
    id: str
    in_flight: int
    key_name: str
    last_seen_ms_ago: int
    name: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., capacity: _Optional[int] = ..., in_flight: _Optional[int] = ..., completed: _Optional[int] = ..., draining: bool = ..., last_seen_ms_ago: _Optional[int] = ..., key_name: _Optional[str] = ...) -> None: ...

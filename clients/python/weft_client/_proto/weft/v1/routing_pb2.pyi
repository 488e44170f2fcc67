from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
RAMP_PHASE_COMPLETE: RampPhase
RAMP_PHASE_NONE: RampPhase
RAMP_PHASE_RAMPING: RampPhase
RAMP_PHASE_ROLLED_BACK: RampPhase

class BanditPolicy(_message.Message):
    __slots__ = ["floor"]
    FLOOR_FIELD_NUMBER: _ClassVar[int]
    floor: float
    def __init__(self, floor: _Optional[float] = ...) -> None: ...

class RampPolicy(_message.Message):
    __slots__ = ["rollback_error_rate", "rollback_min_requests", "shares", "step_ms", "version"]
    ROLLBACK_ERROR_RATE_FIELD_NUMBER: _ClassVar[int]
    ROLLBACK_MIN_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    SHARES_FIELD_NUMBER: _ClassVar[int]
    STEP_MS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    rollback_error_rate: float
    rollback_min_requests: int
    shares: _containers.RepeatedScalarFieldContainer[float]
    step_ms: int
    version: str
    def __init__(self, version: _Optional[str] = ..., shares: _Optional[_Iterable[float]] = ..., step_ms: _Optional[int] = ..., rollback_error_rate: _Optional[float] = ..., rollback_min_requests: _Optional[int] = ...) -> None: ...

class Reward(_message.Message):
    __slots__ = ["reward", "service", "version"]
    REWARD_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    reward: float
    service: str
    version: str
    def __init__(self, service: _Optional[str] = ..., version: _Optional[str] = ..., reward: _Optional[float] = ...) -> None: ...

class RewardBatch(_message.Message):
    __slots__ = ["rewards"]
    REWARDS_FIELD_NUMBER: _ClassVar[int]
    rewards: _containers.RepeatedCompositeFieldContainer[Reward]
    def __init__(self, rewards: _Optional[_Iterable[_Union[Reward, _Mapping]]] = ...) -> None: ...

class RoutePolicy(_message.Message):
    __slots__ = ["bandit", "ignore_user_id", "ramp", "service", "shadow", "split"]
    BANDIT_FIELD_NUMBER: _ClassVar[int]
    IGNORE_USER_ID_FIELD_NUMBER: _ClassVar[int]
    RAMP_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    SHADOW_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    bandit: BanditPolicy
    ignore_user_id: bool
    ramp: RampPolicy
    service: str
    shadow: ShadowPolicy
    split: _containers.RepeatedCompositeFieldContainer[VersionWeight]
    def __init__(self, service: _Optional[str] = ..., split: _Optional[_Iterable[_Union[VersionWeight, _Mapping]]] = ..., ignore_user_id: bool = ..., shadow: _Optional[_Union[ShadowPolicy, _Mapping]] = ..., ramp: _Optional[_Union[RampPolicy, _Mapping]] = ..., bandit: _Optional[_Union[BanditPolicy, _Mapping]] = ...) -> None: ...

class RouteState(_message.Message):
    __slots__ = ["bandit_rewards", "fallback", "policy", "ramp_message", "ramp_phase", "ramp_step", "shadow_skipped", "versions"]
    BANDIT_REWARDS_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    RAMP_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RAMP_PHASE_FIELD_NUMBER: _ClassVar[int]
    RAMP_STEP_FIELD_NUMBER: _ClassVar[int]
    SHADOW_SKIPPED_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    bandit_rewards: int
    fallback: int
    policy: RoutePolicy
    ramp_message: str
    ramp_phase: RampPhase
    ramp_step: int
    shadow_skipped: int
    versions: _containers.RepeatedCompositeFieldContainer[VersionRoute]
    def __init__(self, policy: _Optional[_Union[RoutePolicy, _Mapping]] = ..., versions: _Optional[_Iterable[_Union[VersionRoute, _Mapping]]] = ..., ramp_phase: _Optional[_Union[RampPhase, str]] = ..., ramp_step: _Optional[int] = ..., ramp_message: _Optional[str] = ..., shadow_skipped: _Optional[int] = ..., fallback: _Optional[int] = ..., bandit_rewards: _Optional[int] = ...) -> None: ...

class RouteTable(_message.Message):
    __slots__ = ["routes"]
    ROUTES_FIELD_NUMBER: _ClassVar[int]
    routes: _containers.RepeatedCompositeFieldContainer[RouteState]
    def __init__(self, routes: _Optional[_Iterable[_Union[RouteState, _Mapping]]] = ...) -> None: ...

class RouteUpdate(_message.Message):
    __slots__ = ["clear", "policy"]
    CLEAR_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    clear: bool
    policy: RoutePolicy
    def __init__(self, policy: _Optional[_Union[RoutePolicy, _Mapping]] = ..., clear: bool = ...) -> None: ...

class ShadowPolicy(_message.Message):
    __slots__ = ["share", "version"]
    SHARE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    share: float
    version: str
    def __init__(self, version: _Optional[str] = ..., share: _Optional[float] = ...) -> None: ...

class VersionRoute(_message.Message):
    __slots__ = ["live", "share", "version"]
    LIVE_FIELD_NUMBER: _ClassVar[int]
    SHARE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    live: bool
    share: float
    version: str
    def __init__(self, version: _Optional[str] = ..., share: _Optional[float] = ..., live: bool = ...) -> None: ...

class VersionWeight(_message.Message):
    __slots__ = ["version", "weight"]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    version: str
    weight: float
    def __init__(self, version: _Optional[str] = ..., weight: _Optional[float] = ...) -> None: ...

class RampPhase(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

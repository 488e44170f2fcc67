from weft_client._proto.weft.v1 import tensor_pb2 as _tensor_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Audio(_message.Message):
    __slots__ = ["sample_rate", "samples", "wav"]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    WAV_FIELD_NUMBER: _ClassVar[int]
    sample_rate: int
    samples: _tensor_pb2.Tensor
    wav: bytes
    def __init__(self, wav: _Optional[bytes] = ..., samples: _Optional[_Union[_tensor_pb2.Tensor, _Mapping]] = ..., sample_rate: _Optional[int] = ...) -> None: ...

class DetectRequest(_message.Message):
    __slots__ = ["audio", "omit_probabilities", "options"]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    OMIT_PROBABILITIES_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    audio: Audio
    omit_probabilities: bool
    options: SegmentOptions
    def __init__(self, audio: _Optional[_Union[Audio, _Mapping]] = ..., options: _Optional[_Union[SegmentOptions, _Mapping]] = ..., omit_probabilities: bool = ...) -> None: ...

class DetectResponse(_message.Message):
    __slots__ = ["duration", "input_sample_rate", "model", "probabilities", "processed", "segments"]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    INPUT_SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PROBABILITIES_FIELD_NUMBER: _ClassVar[int]
    PROCESSED_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    duration: float
    input_sample_rate: int
    model: str
    probabilities: _tensor_pb2.Tensor
    processed: float
    segments: _containers.RepeatedCompositeFieldContainer[SpeechSegment]
    def __init__(self, segments: _Optional[_Iterable[_Union[SpeechSegment, _Mapping]]] = ..., probabilities: _Optional[_Union[_tensor_pb2.Tensor, _Mapping]] = ..., duration: _Optional[float] = ..., processed: _Optional[float] = ..., input_sample_rate: _Optional[int] = ..., model: _Optional[str] = ...) -> None: ...

class LiveAudio(_message.Message):
    __slots__ = ["channels", "encoding", "include_probabilities", "options", "sample_rate", "samples"]
    class Encoding(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = []
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    ENCODING_FLOAT32: LiveAudio.Encoding
    ENCODING_PCM16: LiveAudio.Encoding
    INCLUDE_PROBABILITIES_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    channels: int
    encoding: LiveAudio.Encoding
    include_probabilities: bool
    options: SegmentOptions
    sample_rate: int
    samples: bytes
    def __init__(self, samples: _Optional[bytes] = ..., encoding: _Optional[_Union[LiveAudio.Encoding, str]] = ..., sample_rate: _Optional[int] = ..., channels: _Optional[int] = ..., options: _Optional[_Union[SegmentOptions, _Mapping]] = ..., include_probabilities: bool = ...) -> None: ...

class SegmentOptions(_message.Message):
    __slots__ = ["max_speech_s", "min_silence_ms", "min_speech_ms", "neg_threshold", "speech_pad_ms", "threshold"]
    MAX_SPEECH_S_FIELD_NUMBER: _ClassVar[int]
    MIN_SILENCE_MS_FIELD_NUMBER: _ClassVar[int]
    MIN_SPEECH_MS_FIELD_NUMBER: _ClassVar[int]
    NEG_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    SPEECH_PAD_MS_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    max_speech_s: float
    min_silence_ms: int
    min_speech_ms: int
    neg_threshold: float
    speech_pad_ms: int
    threshold: float
    def __init__(self, threshold: _Optional[float] = ..., neg_threshold: _Optional[float] = ..., min_speech_ms: _Optional[int] = ..., min_silence_ms: _Optional[int] = ..., speech_pad_ms: _Optional[int] = ..., max_speech_s: _Optional[float] = ...) -> None: ...

class SpeechSegment(_message.Message):
    __slots__ = ["end", "end_sample", "start", "start_sample"]
    END_FIELD_NUMBER: _ClassVar[int]
    END_SAMPLE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    START_SAMPLE_FIELD_NUMBER: _ClassVar[int]
    end: float
    end_sample: int
    start: float
    start_sample: int
    def __init__(self, start: _Optional[float] = ..., end: _Optional[float] = ..., start_sample: _Optional[int] = ..., end_sample: _Optional[int] = ...) -> None: ...

"""Sources, ring buffer and clocks: how samples reach the engine."""

from ._ringbuffer import RingBuffer
from ._source import Chunk, Source, SourceEvent

__all__ = ["Chunk", "RingBuffer", "Source", "SourceEvent"]

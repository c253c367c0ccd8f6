"""A preallocated, lock-protected ring buffer with one cursor per consumer."""

from __future__ import annotations

import threading

import numpy as np


class RingBuffer:
    """Fixed-size buffer of samples and their timestamps.

    Writes never block on readers and never move memory (no ``np.roll``):
    a write index walks round the buffer. Readers hold their own cursor (the
    absolute count of samples they have seen) and never consume data, so the
    engine, a viewer and a quality monitor can read the same buffer.

    Parameters
    ----------
    n_channels : int
        Number of channels.
    capacity : int
        Samples kept; older ones are overwritten.
    """

    def __init__(self, n_channels: int, capacity: int):
        self._data = np.zeros((n_channels, capacity))
        self._ts = np.zeros(capacity)
        self._capacity = capacity
        self._n_written = 0  # absolute count of samples ever written
        self._lock = threading.Lock()

    @property
    def n_written(self) -> int:
        """Samples written since creation."""
        return self._n_written

    def write(self, data: np.ndarray, timestamps: np.ndarray) -> None:
        """Append ``data`` (n_channels, n_times) and ``timestamps`` (n_times,)."""
        n_total = data.shape[1]
        if n_total == 0:
            return
        n = n_total
        if n > self._capacity:  # keep only what fits; the count still advances fully
            n = self._capacity
            data, timestamps = data[:, -n:], timestamps[-n:]
        with self._lock:
            skipped = n_total - n
            start = (self._n_written + skipped) % self._capacity
            first = min(n, self._capacity - start)
            self._data[:, start : start + first] = data[:, :first]
            self._ts[start : start + first] = timestamps[:first]
            if first < n:
                self._data[:, : n - first] = data[:, first:]
                self._ts[: n - first] = timestamps[first:]
            self._n_written += n_total

    def read_since(self, cursor: int) -> tuple[np.ndarray, np.ndarray, int, int]:
        """Copy every sample written after ``cursor``.

        Returns
        -------
        data : ndarray, shape (n_channels, n_new)
        timestamps : ndarray, shape (n_new,)
        cursor : int
            The new cursor to pass next time.
        n_lost : int
            Samples overwritten before this reader saw them (it fell behind by
            more than the capacity).
        """
        with self._lock:
            end = self._n_written
            n_lost = max(0, end - cursor - self._capacity)
            start = cursor + n_lost
            idx = np.arange(start, end) % self._capacity
            return self._data[:, idx], self._ts[idx], end, n_lost

    def latest(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Copy the newest ``n`` samples (fewer if fewer were written)."""
        with self._lock:
            n = min(n, self._n_written, self._capacity)
            idx = np.arange(self._n_written - n, self._n_written) % self._capacity
            return self._data[:, idx], self._ts[idx]

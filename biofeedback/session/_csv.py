"""Estimates to CSV: one row per window, with a sidecar saying what each number is."""

from __future__ import annotations

from pathlib import Path

from ._sink import Sink

__all__ = ["CsvSink"]


class CsvSink(Sink):
    """Write one row per window: ``t_end``, every estimate, ``gated``.

    The header is ``t_end,<estimate names...>,gated`` (stable: other tools
    read it); a JSON sidecar ``<file>.json`` states what each number is.
    Both are written to temporary files beside their place: with
    ``commit_on_close`` they are moved into place when the sink closes,
    otherwise only by :meth:`commit` (the caller knows the run succeeded) and
    :meth:`discard` drops them, leaving any existing file untouched.
    """

    name = "csv"
    lossless = True

    def __init__(self, fname, commit_on_close=True):
        self.fname = Path(fname)
        self.commit_on_close = commit_on_close
        self._pending = []
        self._fid = None  # the CSV being written, from open()

    def open(self, info):
        from .._json import dumps
        from .._outputs import PendingOutput
        from .._signals import signals_after

        self._pending = []
        for fname in (self.fname, str(self.fname) + ".json"):
            with signals_after():  # Ctrl-C as one was made left its .part behind
                self._pending.append(PendingOutput(fname))
        self._fid = open(self._pending[0].tmp, "w", newline="")
        self._fid.write(",".join(["t_end", *info.estimate_names, "gated"]) + "\n")
        meta = {"columns": ["t_end", *info.estimate_names, "gated"],
                "t_end": "timestamp (s) of the newest sample in the window, recording clock",
                "gated": "1 when artifacts made the window unfit for feedback",
                "window": {"length_s": info.config.window.length, "hop_s": info.config.window.hop},
                "features": _describe_features(info)}
        if info.engine is not None:  # the filters each window went through, in order
            meta["preprocessing"] = info.engine.preprocessing.describe()
        self._pending[1].tmp.write_text(dumps(meta, indent=2, default=str))

    def write(self, r):
        vals = ",".join(repr(float(v)) for v in r.estimates)
        self._fid.write(f"{r.t_end!r},{vals},{int(r.gated)}\n")

    def close(self):
        self._fid.close()
        if self.commit_on_close:
            self.commit()

    def commit(self):
        """Move the CSV and its sidecar into place."""
        for pending in self._pending:
            pending.commit()

    def discard(self):
        """Drop what was written; existing files stay as they were."""
        if self._fid is not None and not self._fid.closed:
            self._fid.close()
        for pending in self._pending:
            pending.discard()


def _describe_features(info) -> dict:
    if info.engine is None:
        return {"indices": list(info.estimate_names)}
    from ..features import describe_features  # the feature library says what it computes

    return describe_features(info.engine.features)

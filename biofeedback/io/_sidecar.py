"""The JSON sidecar ``<stem>.json`` beside a recording (board, session, pipeline)."""

from __future__ import annotations

#: The largest sidecar read (one written by a session is a few kilobytes).
MAX_SIDECAR_BYTES = 16 * 2**20


def read_sidecar(fname, warnings=None):
    """The JSON sidecar ``<stem>.json`` beside ``fname``, or None.

    An unreadable sidecar is an error when ``warnings`` is None (the reader
    needs it), else a warning appended to ``warnings`` (it only adds context).
    """
    from pathlib import Path

    from .._json import loads_untrusted
    from ..errors import RecordingFormatError

    side = Path(fname).with_suffix(".json")
    if not side.is_file():
        return None
    try:
        size = side.stat().st_size
        if size > MAX_SIDECAR_BYTES:  # never read whole: ours are a few kB
            raise ValueError(f"{size / 2**20:,.0f} MB, more than the "
                             f"{MAX_SIDECAR_BYTES // 2**20} MB a sidecar may hold")
        raw = side.read_bytes()
        # written by hand on Windows: Notepad's byte-order mark, or PowerShell
        # 5's 'echo ... > x.json', which writes UTF-16
        utf16 = raw.startswith((b"\xff\xfe", b"\xfe\xff"))
        # nested too deeply or a key given twice: refused, as any malformed JSON
        return loads_untrusted(raw.decode("utf-16" if utf16 else "utf-8-sig"))
    except (OSError, ValueError) as err:
        if warnings is None:
            raise RecordingFormatError(f"the sidecar {side.name} is not valid JSON ({err}).",
                                       fname) from None
        warnings.append(f"The sidecar {side.name} is not valid JSON ({err}).")
        return None


def no_board(sidecar):
    """Whether ``sidecar`` says its BrainFlow file holds a recording no
    BrainFlow board made, written in a board's rows (``"profile": null``)."""
    return isinstance(sidecar, dict) and "profile" in sidecar and sidecar["profile"] is None


def no_accel(sidecar):
    """Whether ``sidecar`` says the board's accelerometer rows hold no data
    (``"accelerometer": false``: written from a recording that had none)."""
    return isinstance(sidecar, dict) and sidecar.get("accelerometer") is False

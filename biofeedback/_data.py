"""Where the declarative files (board profiles, pipelines) live.

In a source checkout they sit at the top of the repository; in an installed
wheel they are copied to ``biofeedback/_data``.
"""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def data_dir(kind: str) -> Path:
    """Return the folder of ``kind`` ("hardware" or "pipelines")."""
    installed = _PKG / "_data" / kind
    if installed.is_dir():
        return installed
    return _PKG.parent / kind

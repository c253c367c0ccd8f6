"""Write the ground truth as a table."""

from __future__ import annotations

import csv
from pathlib import Path

__all__ = ["write_truth"]


def write_truth(truth: dict, fname) -> Path:
    """Write a truth table (see :meth:`Simulation.truth_table`) as CSV.

    Columns: ``time`` (s, recording clock), one level (0-1) per scripted
    state, ``events`` (";"-joined kinds active at that time, empty if none).
    """
    fname = Path(fname)
    names = [k for k in truth if k not in ("time", "events")]
    with open(fname, "w", newline="") as fid:
        writer = csv.writer(fid)
        writer.writerow(["time", *names, "events"])
        for i, t in enumerate(truth["time"]):
            writer.writerow(
                [f"{t:.3f}", *(f"{truth[n][i]:.4f}" for n in names), truth["events"][i]]
            )
    return fname

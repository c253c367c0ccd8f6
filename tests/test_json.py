"""JSON the package writes is strict JSON: no NaN or Infinity, which JSON.parse refuses."""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from biofeedback._json import dumps, finite
from biofeedback.cli import main

SHORT = Path(__file__).resolve().parent / "library" / "short.toml"


def strict(text):
    """``json.loads`` as JavaScript's JSON.parse reads: NaN and Infinity refused."""
    def refuse(name):
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_non_finite_numbers_are_written_as_null():
    obj = {"a": math.nan, "b": [math.inf, -math.inf, 1.5], "c": (np.float32("nan"), 2),
           "d": np.array([1.0, np.nan]), "e": np.float64(3.0), "f": "NaN"}
    assert strict(dumps(obj)) == {"a": None, "b": [None, None, 1.5], "c": [None, 2],
                                  "d": [1.0, None], "e": 3.0, "f": "NaN"}
    assert finite([np.int64(4), True]) == [4, True]


@pytest.fixture(scope="module")
def gated_study(tmp_path_factory):
    """One simulated session whose every window was gated: no rewards, no thresholds."""
    tmp = tmp_path_factory.mktemp("gated")
    pipe = tmp / "gated.toml"
    pipe.write_text(SHORT.read_text() + "\n[gates]\nmax_ptp_uv = 0.001\n")
    root = tmp / "study"
    assert main(["simulate", "learner", "--participant", "g1", "--pipeline", str(pipe),
                 "--root", str(root)]) == 0
    return root


def test_a_session_with_no_clean_window_writes_strict_json(gated_study, capsys):
    capsys.readouterr()
    files = sorted(gated_study.rglob("*.json"))
    assert any(f.name.endswith("_eeg.json") for f in files)
    for f in files:
        strict(f.read_text(encoding="utf-8"))
    side = strict(next(f for f in files if f.name.endswith("_eeg.json")).read_text())
    assert side["feedback"]["reward_rate"] is None  # no clean window: no rate
    with sqlite3.connect(gated_study / "biofeedback.sqlite") as con:
        for (text,) in con.execute("SELECT final_thresholds FROM sessions"):
            strict(text)
    for cmd in (["sessions", "g1"], ["progress", "g1"]):
        assert main([*cmd, "--root", str(gated_study), "--json"]) == 0
        out = strict(capsys.readouterr().out)
        assert out
    assert out["sessions"][0]["reward_rate"] is None


def test_sidecars_written_with_nan_by_older_versions_still_read(gated_study, tmp_path, capsys):
    import shutil

    root = tmp_path / "study"
    shutil.copytree(gated_study, root)
    side = next(root.rglob("*_eeg.json"))
    doc = json.loads(side.read_text())
    doc["feedback"]["reward_rate"] = math.nan  # as older versions wrote it
    doc["feedback"]["blocks"][0]["threshold_start"] = math.nan
    side.write_text(json.dumps(doc, indent=2))
    assert "NaN" in side.read_text()
    capsys.readouterr()
    assert main(["sessions", "g1", "--root", str(gated_study), "--json"]) == 0
    before = strict(capsys.readouterr().out)
    assert main(["index", "--rebuild", "--root", str(root)]) == 0
    capsys.readouterr()
    assert main(["sessions", "g1", "--root", str(root), "--json"]) == 0
    after = strict(capsys.readouterr().out)
    keep = ("reward_rate", "time_in_target", "artifact_share", "n_windows", "regulation")
    assert [{k: r[k] for k in keep} for r in after] == [{k: r[k] for k in keep} for r in before]

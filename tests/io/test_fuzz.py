"""Mutated files fed to every reader: nothing but RecordingFormatError escapes."""

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biofeedback.errors import RecordingFormatError
from biofeedback.io import Recording, read_recording, write_recording

_BASE = {}


def _base_files():
    """Small valid files of every format, written once per session."""
    if _BASE:
        return _BASE
    tmp = Path(tempfile.mkdtemp(prefix="bf-fuzz-"))
    rng = np.random.default_rng(0)
    n = 300
    ts = 1.7e9 + np.arange(n) / 256.0
    data = rng.normal(0, 20e-6, (4, n))
    rec = Recording(data=data, sfreq=256.0, ch_names=["TP9", "AF7", "AF8", "TP10"],
                    timestamps=ts, markers=[(ts[5], "session_start")],
                    profile="muse_2016")
    muse = tmp / "muse.csv"
    muse.write_text("timestamps,TP9,AF7,AF8,TP10,Right AUX\n" + "".join(
        f"{t:.3f},{a:.3f},{b:.3f},{c:.3f},{d:.3f},0.0\n"
        for t, (a, b, c, d) in zip(ts, data.T * 1e6)))
    obci = tmp / "obci.txt"
    obci.write_text("%OpenBCI Raw EEG Data\n%Sample Rate = 250.0 Hz\n" + "".join(
        f"{i % 256}, " + ", ".join(f"{v:.2f}" for v in rng.normal(0, 30, 8))
        + f", 0.0, 0.0, 0.0, 10:00:{i // 250:02d}.{(i % 250) * 4:03d}\n"
        for i in range(n)))
    mm = tmp / "mm.csv"
    mm.write_text("TimeStamp,Delta_TP9,RAW_TP9,RAW_AF7,RAW_AF8,RAW_TP10,Elements\n"
                  + "".join(f"2020-01-01 10:00:{i // 256:02d}.{int(i % 256 * 3.9):03d},"
                            f"0.1,{800 + i % 7},801,802,803,\n" for i in range(n)))
    _BASE["xdf"] = write_recording(rec, tmp / "rec.xdf")
    _BASE["brainflow"] = write_recording(rec, tmp / "bf.csv")
    _BASE["edf"] = write_recording(rec, tmp / "rec.edf")
    _BASE["fif"] = write_recording(rec, tmp / "rec_raw.fif")
    _BASE["muse-csv"] = muse
    _BASE["openbci-txt"] = obci
    _BASE["mind-monitor"] = mm
    return _BASE


_FORMAT_OF = {"xdf": "xdf", "brainflow": "brainflow", "edf": "mne", "fif": "mne",
              "muse-csv": "muse-csv", "openbci-txt": "openbci-txt",
              "mind-monitor": "mind-monitor"}


@st.composite
def mutation(draw, size):
    kind = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "dup"]))
    pos = draw(st.integers(0, max(size - 1, 0)))
    if kind == "truncate":
        return ("truncate", pos, b"")
    if kind == "flip":
        return ("flip", pos, draw(st.binary(min_size=1, max_size=8)))
    if kind == "insert":
        return ("insert", pos, draw(st.binary(min_size=1, max_size=32) | st.sampled_from(
            [b",", b"\n", b"nan", b"-", b"\t", b"%", b"XDF:", b"\x00", b"1e999"])))
    if kind == "delete":
        return ("delete", pos, b"x" * draw(st.integers(1, 64)))
    return ("dup", pos, b"x" * draw(st.integers(1, 200)))


def _apply(raw, muts):
    for kind, pos, payload in muts:
        pos = min(pos, len(raw))
        if kind == "truncate":
            raw = raw[:pos]
        elif kind == "flip":
            raw = raw[:pos] + payload + raw[pos + len(payload):]
        elif kind == "insert":
            raw = raw[:pos] + payload + raw[pos:]
        elif kind == "delete":
            raw = raw[:pos] + raw[pos + len(payload):]
        else:
            raw = raw[:pos] + raw[pos:pos + len(payload)] + raw[pos:]
    return raw


@pytest.mark.parametrize("fmt", list(_FORMAT_OF))
def test_mutated_files_raise_only_our_error(fmt):
    src = _base_files()[fmt]
    original = src.read_bytes()
    sidecar = src.with_suffix(".json")

    @settings(max_examples=20, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(muts=st.lists(mutation(len(original)), min_size=1, max_size=3),
           forced=st.booleans())
    def check(muts, forced):
        with tempfile.TemporaryDirectory() as tmp:
            fname = Path(tmp) / src.name
            fname.write_bytes(_apply(original, muts))
            if sidecar.exists():
                shutil.copy(sidecar, fname.with_suffix(".json"))
            try:
                rec = read_recording(fname, format=_FORMAT_OF[fmt] if forced else None)
            except RecordingFormatError as err:
                assert str(fname) in str(err)
            else:
                assert isinstance(rec, Recording)
                assert rec.data.shape == (len(rec.ch_names), rec.n_times)

    check()


def test_sidecar_mutation_is_our_error(tmp_path):
    src = _base_files()["brainflow"]
    fname = tmp_path / "bf.csv"
    shutil.copy(src, fname)
    fname.with_suffix(".json").write_text("{not json")
    with pytest.raises(RecordingFormatError, match="sidecar"):
        read_recording(fname)
    fname.with_suffix(".json").write_text(json.dumps({"board_id": 9999}))
    with pytest.raises(RecordingFormatError):
        read_recording(fname)

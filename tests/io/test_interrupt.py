"""Ctrl-C as an output's temporary file is made leaves no temporary file.

Python raises KeyboardInterrupt between any two bytecodes: each test wraps
``tempfile.mkstemp`` with one that makes the file, then raises SIGINT (a key
pressed as it returns); the output written before stays as it was.
"""

import signal
import tempfile
from pathlib import Path

import pytest

from biofeedback._outputs import atomic_output, check_output
from biofeedback.replay import replay

SAMPLE = Path(__file__).resolve().parents[2] / "recordings" / "sample_synthetic.xdf"


@pytest.fixture
def ctrl_c_at_mkstemp(monkeypatch, ctrl_c):
    """``ctrl_c_at_mkstemp(n)``: SIGINT as the n-th mkstemp from now returns."""
    def arm(nth=1):
        real, calls = tempfile.mkstemp, []

        def mkstemp(*args, **kwargs):
            out = real(*args, **kwargs)
            calls.append(out[1])
            if len(calls) == nth:
                signal.raise_signal(signal.SIGINT)
            return out
        monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
        return calls
    return arm


def test_ctrl_c_as_the_temporary_file_is_made_leaves_none(tmp_path, ctrl_c_at_mkstemp):
    out = tmp_path / "estimates.csv"
    out.write_text("old\n")
    made = ctrl_c_at_mkstemp()
    with pytest.raises(KeyboardInterrupt), atomic_output(out) as tmp:
        tmp.write_text("new\n")
    assert made and not Path(made[0]).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["estimates.csv"]
    assert out.read_text() == "old\n"


def test_ctrl_c_as_the_folder_is_probed_leaves_no_probe(tmp_path, ctrl_c_at_mkstemp):
    made = ctrl_c_at_mkstemp()
    with pytest.raises(KeyboardInterrupt):
        check_output(tmp_path / "report.html", overwrite=False)
    assert made and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("nth", [1, 2], ids=["csv", "sidecar"])
def test_ctrl_c_as_replay_out_starts_leaves_no_part_file(tmp_path, ctrl_c_at_mkstemp, nth):
    """replay --out writes the CSV and its sidecar each to a temporary file:
    Ctrl-C as the second was made left the first behind (and as either was
    made, that one), beside the outputs of the replay before."""
    out = tmp_path / "est.csv"
    out.write_text("old\n")
    Path(f"{out}.json").write_text("{}")
    made = ctrl_c_at_mkstemp(nth)
    with pytest.raises(KeyboardInterrupt):
        replay(SAMPLE, out=out)
    assert len(made) == nth
    assert sorted(p.name for p in tmp_path.iterdir()) == ["est.csv", "est.csv.json"]
    assert out.read_text() == "old\n" and Path(f"{out}.json").read_text() == "{}"


@pytest.mark.parametrize(("sig", "code"), [("SIGINT", 130), ("SIGTERM", 143)])
def test_a_signal_during_replay_out_keeps_the_output_before(tmp_path, capsys, monkeypatch,
                                                           ctrl_c, default_stop_signals,
                                                           sig, code):
    """The session ends on a signal as at its end; replay --out then moved the
    CSV of the windows so far over the whole one of the replay before, and
    said so with exit 0."""
    import biofeedback.replay as mod
    from biofeedback.cli import main
    from biofeedback.session import Sink

    class Press(Sink):
        name, lossless, n = "press", True, 0

        def write(self, result):
            self.n += 1
            if self.n == 5:
                signal.raise_signal(getattr(signal, sig))

    out = tmp_path / "est.csv"
    out.write_text("old\n")
    Path(f"{out}.json").write_text("{}")
    with pytest.raises(KeyboardInterrupt):
        replay(SAMPLE, out=out, sinks=[Press()])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["est.csv", "est.csv.json"]
    assert out.read_text() == "old\n" and Path(f"{out}.json").read_text() == "{}"

    # the same through the command
    monkeypatch.setattr(mod, "replay", lambda *a, **kw: replay(*a, **{**kw, "sinks": [Press()]}))
    assert main(["replay", str(SAMPLE), "--out", str(out), "--overwrite"]) == code
    assert "estimates:" not in capsys.readouterr().out
    assert out.read_text() == "old\n"


def test_ctrl_c_between_the_moves_of_a_written_recording_moves_both(
        tmp_path, monkeypatch, ctrl_c):
    """A BrainFlow CSV goes with its JSON sidecar: Ctrl-C after the sidecar's
    move, before the file's, left the new sidecar beside the old file."""
    import os

    from biofeedback.io import read_recording, write_recording

    rec = read_recording(SAMPLE)
    out = tmp_path / "rec.csv"
    out.write_text("old\n")
    out.with_suffix(".json").write_text("{}")
    real = os.replace

    def replace(*args, **kwargs):
        real(*args, **kwargs)
        signal.raise_signal(signal.SIGINT)  # as the first move returns

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        write_recording(rec, out, overwrite=True)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.csv", "rec.json"]
    # the moves, done once the signal came, are made together: the pair is one
    # recording's, the new one whole
    assert out.read_text() != "old\n" and out.with_suffix(".json").read_text() != "{}"
    assert read_recording(out).n_times == rec.n_times


def test_ctrl_c_as_a_recording_sidecar_is_written_leaves_no_tmp(tmp_path, monkeypatch,
                                                                ctrl_c):
    """The session's sidecar goes through <stem>.json.tmp: Ctrl-C as it was
    written left it beside the recording."""
    from biofeedback.recorder import write_sidecar

    xdf = tmp_path / "session.xdf"
    xdf.with_suffix(".json").write_text('{"summary": "before"}')
    monkeypatch.setattr(Path, "write_text",
                        _then_sigint(Path.write_text, lambda p: p.name.endswith(".tmp")))
    with pytest.raises(KeyboardInterrupt):
        write_sidecar(xdf, {"summary": "after"})
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["session.json"]
    assert xdf.with_suffix(".json").read_text() == '{"summary": "before"}'


def _then_sigint(real, when):
    def call(self, *args, **kwargs):
        out = real(self, *args, **kwargs)
        if when(self):
            signal.raise_signal(signal.SIGINT)
        return out
    return call

"""``biofeedback simulate`` and the LSL publisher, on real files and outlets."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest

from biofeedback.io import read_recording
from biofeedback.simulate import LSLPublisher, simulate


def _run(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "biofeedback.cli", *args],
                          capture_output=True, text=True, timeout=timeout)


def test_simulate_writes_recording_and_truth(tmp_path):
    out, truth = tmp_path / "demo.xdf", tmp_path / "truth.csv"
    res = _run("simulate", "demo", "--out", str(out), "--truth", str(truth))
    assert res.returncode == 0, res.stderr
    rec = read_recording(out)
    sim = simulate("demo")
    assert rec.ch_names == ["TP9", "AF7", "AF8", "TP10"] and rec.sfreq == 256.0
    np.testing.assert_allclose(rec.data, sim.data[:, sim.delivered], atol=1e-12)
    texts = [m[1] for m in rec.markers]
    assert "state engaged level=1 ramp=4" in texts
    assert sum(t.startswith("event blink") for t in texts) == 4
    # the disconnect is a gap, announced by markers as a live session does
    assert len(rec.gaps) == 1
    gap = rec.gaps[0]
    assert gap.n_missing == 768 and abs(gap.duration - 3.0) < 0.01
    assert gap.source == "marker"
    lines = truth.read_text().splitlines()
    assert lines[0] == "time,relaxed,engaged,approach,events"
    assert len(lines) == 1202  # 0 to 120 s every 0.1 s, plus the header
    # refuses to overwrite; a bad scenario is one sentence
    res = _run("simulate", "demo", "--out", str(out))
    assert res.returncode == 1 and "exists; pass --overwrite" in res.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nboard = "muse_2"\nduration = 10.0\n'
                   '[[events]]\nkind = "sneze"\nat = 1.0\n')
    res = _run("simulate", str(bad))
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert "bad.toml, line 4 [events #1]: unknown event kind 'sneze'" in res.stderr


def test_an_outage_running_to_the_end_is_a_gap_in_the_file(tmp_path):
    """The file held no gap, while a live session counts the outage to its end."""
    scen = tmp_path / "tail.toml"
    scen.write_text('name = "tail"\nboard = "cyton"\nduration = 10.0\nseed = 1\n'
                    "[faults]\npacket_size = 1\n"
                    "[[faults.disconnects]]\nat = 7.0\nduration = 3.0\n")
    out = tmp_path / "tail.xdf"
    res = _run("simulate", str(scen), "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert "1 gap)" in res.stdout
    rec = read_recording(out)
    assert rec.data.shape[1] == 1750
    (gap,) = rec.gaps
    assert gap.source == "marker" and gap.n_missing == 750
    assert abs(gap.onset - rec.timestamps[-1]) < 1e-9 and abs(gap.duration - 3.0) < 0.01
    texts = [m[1] for m in rec.markers]
    assert "gap_start" in texts and "gap_end duration=3.000 n=750" in texts
    res = _run("info", str(out))
    assert res.returncode == 0, res.stderr
    assert "lost samples: 750 (0 dropped in 0 gaps, 750 in 1 outage)" in res.stdout
    # BrainFlow's CSV shows gaps as steps in its stamps: one at the end shows none
    res = _run("simulate", str(scen), "--out", str(tmp_path / "tail.csv"))
    assert res.returncode == 0, res.stderr
    assert "(0 truth markers, 0 gaps)" in res.stdout


@pytest.mark.parametrize("option", ["--out", "--truth"])
def test_an_output_that_cannot_be_written_is_said_before_the_scenario_runs(option, tmp_path):
    """Said only once the scenario had run (in real time with --lsl), as
    'No such file or directory', not as replay and convert say it at once."""
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    fname = tmp_path / "notes.txt" / ("demo.xdf" if option == "--out" else "truth.csv")
    res = _run("simulate", "demo", option, str(fname))
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert res.stdout == ""  # nothing was simulated
    assert f"{fname} cannot be written: {tmp_path / 'notes.txt'} does not take new " \
           "files" in res.stderr, res.stderr
    assert "choose another place for it" in res.stderr


def test_a_brainflow_csv_says_it_holds_no_truth_markers(tmp_path):
    """BrainFlow's marker row holds numbers: the scenario's truth is not in a
    .csv, and the line and a warning say so rather than count it as written."""
    scen = tmp_path / "short.toml"
    scen.write_text('name = "short"\nboard = "muse_2"\nduration = 6.0\n'
                    '[[timeline]]\nat = 0.0\nstate = "relaxed"\n'
                    '[[timeline]]\nat = 3.0\nstate = "engaged"\n')
    out = tmp_path / "short.csv"
    res = _run("simulate", str(scen), "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert read_recording(out).markers == []
    assert f"recording: {out} (0 truth markers, 0 gaps)" in res.stdout
    assert ("2 of the recording's 2 markers are not written to BrainFlow's format"
            in res.stderr)


def test_help_has_an_example():
    res = _run("simulate", "--help")
    assert res.returncode == 0 and "Examples:" in res.stdout
    assert "biofeedback simulate demo --out demo.xdf" in res.stdout


@pytest.mark.lsl
@pytest.mark.slow
def test_publisher_streams_data_and_truth(tmp_path, uid):
    import pylsl

    scen = tmp_path / "short.toml"
    scen.write_text(
        'name = "short"\nboard = "muse_2"\nduration = 3.0\nseed = 9\n'
        '[[timeline]]\nat = 0.0\nstate = "relaxed"\n'
        '[[events]]\nkind = "blink"\nat = 1.0\n'
        "[faults]\npacket_size = 12\npacket_loss = 0.1\n"
    )
    name = f"sim-{uid}"
    pub = LSLPublisher(scen, name, counter_channel=True, speed=2.0, wait_for_consumers=10.0)
    pub.start()
    try:
        found = pylsl.resolve_byprop("name", name, timeout=5.0)
        mfound = pylsl.resolve_byprop("name", f"{name}-truth", timeout=5.0)
        assert found and mfound
        inlet = pylsl.StreamInlet(found[0], max_buflen=30)
        minlet = pylsl.StreamInlet(mfound[0], max_buflen=30)
        inlet.open_stream(timeout=5.0)
        minlet.open_stream(timeout=5.0)
        info = inlet.info()
        assert info.channel_count() == 5 and info.nominal_srate() == 256.0
        xs, ms = [], []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            x, ts = inlet.pull_chunk(timeout=0.2, max_samples=4096)
            if x:
                xs.append(np.asarray(x))
            m, mts = minlet.pull_chunk(timeout=0.0)
            ms += [s[0] for s in m]
            if not pub.running and not x:
                break
        pub.wait()
    finally:
        pub.stop()
    x = np.concatenate(xs)
    sim = pub.simulation
    keep = sim.delivered
    # every delivered sample arrives, in µV, with its packet counter
    np.testing.assert_allclose(x[:, :4], sim.data[:, keep].T * 1e6, rtol=1e-12)
    np.testing.assert_array_equal(x[:, 4], sim.counter[keep])
    assert sim.n_lost > 0
    assert "state relaxed level=1 ramp=2" in ms
    assert any(m.startswith("event blink channels=AF7,AF8") for m in ms)

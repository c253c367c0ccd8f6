"""What a researcher meets on the way from recordings to a model: bad input,
hand-edited files, unreachable clusters. Each is one sentence and a non-zero
exit, without a traceback, and leaves nothing half-written."""

import socket

import pytest

from biofeedback.cli import main

MUSE = ["TP9", "AF7", "AF8", "TP10"]


@pytest.fixture
def recs(tmp_path, make_eeg):
    """Two people, two states (alpha at 10 or 6 Hz), 30 s each, as XDF files."""
    from biofeedback.io import Recording, write_recording

    folder = tmp_path / "recs"
    folder.mkdir()
    paths = []
    for k, subject in enumerate(("p1", "p2")):
        for j, (label, hz) in enumerate((("calm", 10.0), ("busy", 6.0))):
            data, ts = make_eeg(duration=30.0, alpha_hz=hz, seed=10 * k + j)
            rec = Recording(data, 256.0, MUSE, ts, profile="muse_2016")
            paths.append(write_recording(rec, folder / f"{subject}-{label}-1.xdf"))
    return paths


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:{port}", "bogus://nowhere"])
def test_an_unreachable_dask_scheduler_is_one_sentence_before_any_work(
        address, recs, tmp_path, capsys):
    dask = pytest.importorskip("dask")
    pytest.importorskip("distributed")
    address = address.format(port=_free_port())
    out = tmp_path / "m.bfm"
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code = main(["train", *map(str, recs), "--out", str(out), "--scheduler", address,
                     "-q"])
    err = capsys.readouterr().err
    assert code == 1
    assert f"Cannot reach the Dask scheduler at '{address}'" in err
    assert "leave out --scheduler" in err and "Traceback" not in err
    assert not out.exists() and not list(tmp_path.glob(".*.part"))

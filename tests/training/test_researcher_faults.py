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


@pytest.fixture
def model_file(recs, tmp_path):
    from biofeedback.training import extract_dataset, fit_model, label_files, save_model

    ds = extract_dataset(label_files(recs), n_jobs=1)
    return save_model(fit_model(ds, "lda", dwell=30.0), tmp_path / "m.bfm")


def _edited(model_file, tmp_path, edit):
    """A copy of ``model_file`` whose meta.json went through ``edit(meta)``."""
    import json
    import zipfile

    with zipfile.ZipFile(model_file) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    meta = json.loads(parts["meta.json"])
    edit(meta)
    parts["meta.json"] = json.dumps(meta).encode()
    out = tmp_path / "edited.bfm"
    with zipfile.ZipFile(out, "w") as zf:
        for name, blob in parts.items():
            zf.writestr(name, blob)
    return out


@pytest.mark.parametrize("edit, match", [
    (lambda m: m.update(format_version="3"), r"format_version as '3', not a whole number"),
    (lambda m: m.update(format_version=None), "format_version as None, not a whole number"),
    (lambda m: m.update(classes=["calm", "x"]),
     "lists the classes calm, x but its classifier gives busy, calm"),
    (lambda m: m.update(classes="calm"), "its classes 'calm' are not a list of names"),
    (lambda m: m.update(input="windows"), r"reads 20 columns but the file lists 4 channels"),
    (lambda m: m.update(evidence_weight=5), "evidence weight must be above 0 and at most 1"),
    (lambda m: m.update(sfreq=-1), "its sampling rate is -1 Hz"),
])
def test_a_hand_edited_model_file_is_one_sentence(edit, match, model_file, tmp_path, capsys):
    from biofeedback.errors import ModelError
    from biofeedback.training import load_model

    bad = _edited(model_file, tmp_path, edit)
    with pytest.raises(ModelError, match=match):
        load_model(bad)
    assert main(["evaluate", str(bad), *map(str, model_file.parent.glob("recs/*"))]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("biofeedback: error: ")
    assert "edited.bfm" in lines[0] and "train the model again" in lines[0]

"""``biofeedback train`` then ``biofeedback evaluate --json``: the stable contract."""

import json

import pytest

from biofeedback.cli import main


@pytest.mark.slow
def test_train_then_evaluate(muse_dir, tmp_path, capsys):
    files = [str(p) for p in sorted(muse_dir.glob("subject[ab]-*.csv"))]
    out = tmp_path / "m.bfm"
    assert main(["train", *files, "--labels-from", "filename", "--out", str(out),
                 "--n-jobs", "1"]) == 0
    text = capsys.readouterr().out
    assert "subjecta" in text and "chance 0.33" in text and "a leak, not a result" in text
    assert "median lag" in text and "first 10 s" in text
    assert "calibration not validated: the protocol's baseline block names no state" in text
    # the paths last, worded as every command words them
    assert text.splitlines()[-2:] == [f"report: {tmp_path / 'm.html'}", f"model: {out}"]
    assert out.exists() and (tmp_path / "m.html").exists()
    html = (tmp_path / "m.html").read_text()
    assert html.count("<svg") >= 4 and "Band powers per class" in html
    assert "matplotlib" not in html  # charts written as SVG, no matplotlib import
    assert main(["evaluate", str(out), *files, "--json", "--n-jobs", "1"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert {"balanced_accuracy", "n_windows", "classes", "confusion_matrix"} <= set(res)
    assert res["classes"] == ["concentrating", "neutral", "relaxed"]
    assert res["dwell_s"] == 30.0  # scored through the engine's state filter
    # its evidence weight chosen by leave-one-subject-out among the declared ones
    assert res["evidence_weight"] in (0.25, 0.5, 1.0)
    assert f"evidence weight {res['evidence_weight']:g}, chosen among 0.25, 0.5, 1" in text
    sw = res["switching"]  # and on streams switching state every 30 s
    assert sw["n_switches"] >= 4 and 0.0 <= sw["first_accuracy"] <= 1.0
    assert sum(map(sum, res["confusion_matrix"])) == res["n_windows"]
    # the saved model drives the engine: class probabilities beside the indices
    est = tmp_path / "est.csv"
    held_out = muse_dir / "subjectc-relaxed-1.csv"
    assert main(["replay", str(held_out), "--model", str(out), "--out", str(est)]) == 0
    header = est.read_text().splitlines()[0].split(",")
    assert header[-4:] == ["p_concentrating", "p_neutral", "p_relaxed", "gated"]
    rows = [list(map(float, ln.split(","))) for ln in est.read_text().splitlines()[1:]]
    probs = [r[-4:-1] for r in rows]
    assert len(rows) > 100 and all(abs(sum(p) - 1) < 1e-9 for p in probs)


def test_a_pattern_that_matches_nothing_is_one_sentence(muse_dir, tmp_path, capsys):
    code = main(["train", str(muse_dir), "--pattern", "{label}_{subject}", "--out",
                 str(tmp_path / "m.bfm")])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("biofeedback: error: The label pattern '{label}_{subject}' matches "
                          "none of the 12 file names")


def test_evaluate_scores_a_single_class_recording(muse_dir, tmp_path, capsys):
    files = [str(p) for p in sorted(muse_dir.glob("subject[ab]-*.csv"))]
    model = tmp_path / "m.bfm"
    assert main(["train", *files, "--out", str(model), "--cv", "none", "-q", "--n-jobs", "1"]) == 0
    capsys.readouterr()
    one = str(muse_dir / "subjectc-relaxed-1.csv")
    assert main(["evaluate", str(model), one, "--json", "--n-jobs", "1"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert set(res["recall"]) == {"relaxed"} and res["n_windows"] > 50  # after 20 s
    assert res["chance"] == pytest.approx(1 / 3)
    # one state makes streams that never switch: no switching figure, not a perfect one
    assert res["switching"] is None
    assert main(["evaluate", str(model), one, "--n-jobs", "1"]) == 0
    text = capsys.readouterr().out
    assert "(one class in the data: the recall of 'relaxed')" in text
    assert "switching: not scored (the recordings hold one state" in text
    # -q: the result alone, in one line
    assert main(["evaluate", str(model), one, "-q", "--n-jobs", "1"]) == 0
    quiet = capsys.readouterr().out.splitlines()
    assert len(quiet) == 1 and quiet[0] in text.splitlines()
    assert quiet[0].startswith("balanced accuracy ")
    # a recording the model cannot read is said as such, before any extraction
    lines = (muse_dir / "subjectc-relaxed-1.csv").read_text().splitlines()
    cut = tmp_path / "c-relaxed-1.csv"
    cut.write_text("\n".join(",".join(ln.split(",")[:4]) for ln in lines) + "\n")
    assert main(["evaluate", str(model), str(cut), "--n-jobs", "1"]) == 1
    assert capsys.readouterr().err == (
        "biofeedback: error: The model m.bfm was trained on channels TP9, AF7, AF8, TP10 "
        f"but the data of {cut} lack TP10; use a model trained on recordings with these "
        "channels.\n")
    # training still needs two classes, and says so before any work
    assert main(["train", one, "--out", str(tmp_path / "x.bfm"), "-q"]) == 1
    assert "Only one class ('relaxed')" in capsys.readouterr().err


def test_stream_over_a_folder_mixing_xdf_and_csv_and_quiet_output(tmp_path, capsys):
    """--stream names the stream of the XDF files; the CSV files beside them hold
    one and are read as they are. -q prints the result alone, one line."""
    import numpy as np

    from biofeedback.io import Recording, Stream, write_recording

    rng = np.random.default_rng(0)
    muse = ["TP9", "AF7", "AF8", "TP10"]
    n = 256 * 24  # evaluate scores after the first 20 s
    ts = 100 + np.arange(n) / 256.0
    for k, label in enumerate(("relaxed", "focused")):
        x = rng.normal(0, 10 + 10 * k, (4, n))  # the states differ in power
        other = Stream(name="Muse", type="EEG", data=x, timestamps=ts, ch_names=muse,
                       sfreq=256.0, meta={"units": ["microvolts"] * 4})
        rec = Recording(data=rng.normal(0, 20e-6, (2, n // 2)), sfreq=128.0,
                        ch_names=["Fp1", "Fp2"], timestamps=ts[::2],
                        streams={"Muse": other}, source_format="xdf",
                        provenance={"eeg_stream": "Aux"})
        write_recording(rec, tmp_path / f"s1-{label}-1.xdf")
        lines = ["timestamps,TP9,AF7,AF8,TP10,Right AUX"]
        y = rng.normal(0, 10 + 10 * k, (4, n))
        lines += [f"{1.7e9 + i / 256:.6f}," + ",".join(f"{v:.3f}" for v in y[:, i]) + ",0"
                  for i in range(n)]
        (tmp_path / f"s2-{label}-1.csv").write_text("\n".join(lines) + "\n")
    model = tmp_path / "m.bfm"
    assert main(["train", str(tmp_path), "--stream", "Muse", "--profile", "muse_2016",
                 "--cv", "none", "--gated", "include", "--out", str(model), "-q",
                 "--n-jobs", "1"]) == 0
    assert capsys.readouterr().out.splitlines() == [f"model: {model}"]
    assert main(["evaluate", str(model), str(tmp_path), "--stream", "Muse",
                 "--gated", "include", "--switch-every", "0", "-q", "--n-jobs", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("balanced accuracy ")


def test_evaluate_refuses_an_older_model_z_scoring_on_too_little_calibration(tmp_path, capsys):
    """As a live session does: one sentence naming the file, before any extraction."""
    import zipfile

    import numpy as np

    from biofeedback.config import default_pipeline_path

    rng = np.random.default_rng(0)
    n = 256 * 40
    recs = tmp_path / "recs"
    recs.mkdir()
    for s in ("s1", "s2"):
        for k, label in enumerate(("relaxed", "focused")):
            y = rng.normal(0, 10 + 10 * k, (4, n))
            lines = ["timestamps,TP9,AF7,AF8,TP10,Right AUX"]
            lines += [f"{1.7e9 + i / 256:.6f}," + ",".join(f"{v:.3f}" for v in y[:, i]) + ",0"
                      for i in range(n)]
            (recs / f"{s}-{label}-1.csv").write_text("\n".join(lines) + "\n")
    guided = tmp_path / "guided.toml"  # its baseline asks for a state: calibration replays it
    guided.write_text(default_pipeline_path().read_text().replace(
        'kind = "baseline"\nduration = 20.0\n', 'kind = "baseline"\nstate = "relaxed"\n'
        'duration = 20.0\n', 1))
    model = tmp_path / "m.bfm"
    assert main(["train", str(recs), "--pipeline", str(guided), "--calibration", "protocol",
                 "--calibration-method", "zscore", "--cv", "none", "--gated", "include",
                 "--out", str(model), "-q", "--n-jobs", "1"]) == 0
    args = [str(recs), "--gated", "include", "--switch-every", "0", "-q", "--n-jobs", "1"]
    assert main(["evaluate", str(model), *args]) == 0
    # the same model as a version before the 10 s minimum wrote it: z-scored on 2.5 s
    with zipfile.ZipFile(model) as zf:
        parts = {name: zf.read(name) for name in zf.namelist()}
    meta = json.loads(parts["meta.json"])
    assert meta["calibration"]["method"] == "zscore"
    meta["calibration"] = {"method": "zscore", "blocks": [{"state": "relaxed", "seconds": 2.5}]}
    old = tmp_path / "old.bfm"
    with zipfile.ZipFile(old, "w") as zf:
        for name, blob in parts.items():
            zf.writestr(name, json.dumps(meta) if name == "meta.json" else blob)
    capsys.readouterr()
    assert main(["evaluate", str(old), *args]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "biofeedback: error: The model old.bfm z-scores its features on 2.5 s of calibration, "
        "but z-scoring divides by their SD, which needs at least 10 s (5 windows of 2 s); "
        "train it again with longer calibration blocks, or with --calibration-method "
        "center.\n")
    est = tmp_path / "est.csv"  # replay refuses it the same way, and writes nothing
    assert main(["replay", str(recs / "s1-relaxed-1.csv"), "--model", str(old),
                 "--out", str(est)]) == 1
    assert "The model old.bfm z-scores its features on 2.5 s" in capsys.readouterr().err
    assert not est.exists()


def test_one_labelled_switch_is_said_as_one(tmp_path, make_eeg, capsys):
    """A session with two marked states switches once: evaluate printed '1 switches'."""
    import numpy as np

    from biofeedback.io import Recording, write_recording

    paths = []
    for k in range(2):
        calm, ts = make_eeg(duration=16.0, alpha_hz=10.0, seed=2 * k)
        busy, _ = make_eeg(duration=16.0, alpha_hz=6.0, seed=2 * k + 1)
        ts = ts[0] + np.arange(2 * len(ts)) / 256.0
        rec = Recording(np.hstack([calm, busy]), 256.0, ["TP9", "AF7", "AF8", "TP10"], ts,
                        profile="muse_2016",
                        markers=[(float(ts[0]), "calm"), (float(ts[0]) + 16.0, "busy")])
        paths.append(str(write_recording(rec, tmp_path / f"p{k}-s-1.xdf")))
    out = tmp_path / "m.bfm"
    assert main(["train", *paths, "--labels-from", "markers", "--cv", "none", "--out",
                 str(out), "-q"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(out), paths[0], "--labels-from", "markers"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("switching as labelled: ") and line.endswith(
        "(1 switch, 0 not followed)")


def test_train_scores_marker_labelled_sessions_as_they_switch(tmp_path, make_eeg, capsys):
    """Validation of sessions labelled over time printed their balanced accuracy
    alone, though a live user meets their switches: the accuracy in the first
    10 s after each and the lag until the output follows are printed beside
    it, as evaluate prints them."""
    import numpy as np

    from biofeedback.io import Recording, write_recording

    paths = []
    for k in range(3):
        parts, marks = [], []
        for j, (name, alpha) in enumerate((("calm", 10.0), ("busy", 6.0), ("calm", 10.0),
                                           ("busy", 6.0))):
            x, ts = make_eeg(duration=20.0, alpha_hz=alpha, seed=10 * k + j)
            parts.append(x)
            marks.append((j * 20.0, name))
        ts = ts[0] + np.arange(sum(p.shape[1] for p in parts)) / 256.0
        rec = Recording(np.hstack(parts), 256.0, ["TP9", "AF7", "AF8", "TP10"], ts,
                        profile="muse_2016", markers=[(float(ts[0]) + t, m) for t, m in marks])
        paths.append(str(write_recording(rec, tmp_path / f"p{k}-s-1.xdf")))
    assert main(["train", *paths, "--labels-from", "markers", "--out",
                 str(tmp_path / "m.bfm")]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {ln.split()[0]: ln.split()[1:] for ln in lines if ln.split()}
    assert len(rows["switching"]) == len(rows["median"]) - 1 == 2  # 'median lag' 2 cells
    assert all(0.0 <= float(v) <= 1.0 for v in rows["first"][2:])  # 'first 10 s' cells
    said = [ln for ln in lines if ln.startswith("sessions switching state as labelled: ")]
    assert len(said) == 1 and said[0].endswith("(9 switches)"), said

"""Every malformed file is an expected event: a warning or one clear sentence."""

import gzip
import re

import numpy as np
import pytest

from biofeedback.cli import main
from biofeedback.errors import RecordingFormatError
from biofeedback.io import read_recording

MUSE_HEAD = "timestamps,TP9,AF7,AF8,TP10,Right AUX\n"
OBCI_HEAD = ("%OpenBCI Raw EEG Data\n%\n%Sample Rate = 250.0 Hz\n"
             "%First Column = SampleIndex\n")


def _muse_rows(n=600, ch=lambda i, k: (i * 7 + k * 13) % 50 - 25.0):
    return "".join(
        f"{1.7e9 + i / 256:.6f},{ch(i, 0)},{ch(i, 1)},{ch(i, 2)},{ch(i, 3)},0.5\n"
        for i in range(n))


def _obci_rows(n=600, rail=False):
    out = []
    for i in range(n):
        vals = [((i * 7 + k * 13) % 50 - 25.0) for k in range(8)]
        if rail:
            vals[6] = -187500.02
        s = i // 250
        out.append(f"{i % 256}, " + ", ".join(f"{v:.2f}" for v in vals)
                   + f", 0.0, 0.0, 0.0, 14:00:{s:02d}.{(i % 250) * 4:03d}\n")
    return "".join(out)


def _xdf_bytes(tmp_path):
    from biofeedback.io import Recording, write_recording

    rec = Recording(data=np.zeros((2, 300)) + np.arange(300) * 1e-6, sfreq=100.0,
                    ch_names=["Cz", "Pz"], timestamps=np.arange(300) / 100.0)
    fname = write_recording(rec, tmp_path / "src.xdf")
    return fname.read_bytes()


def _brainflow_with_sidecar(path, stem, sidecar):
    """Two rows of a 24-row (Cyton) BrainFlow file, with ``sidecar`` as its JSON."""
    (path / f"{stem}.json").write_text(sidecar)
    return b"".join("\t".join(["1.0"] * 24).encode() + b"\n" for _ in range(2))


def _sidecar_beside_its_recording(path):
    """A session's ``s.json``, picked (tab completion stops at 's.') for ``s.xdf``."""
    (path / "s.xdf").write_bytes(_xdf_bytes(path))
    return b'{"pipeline": {}, "summary": {"n_windows": 3}}\n'


# (case id, file name, content maker, expected: ("error", regex, line) or
#  ("warn", regex) or ("ok", None))
CASES = [
    ("empty", "e.csv", lambda p: b"", ("error", "the file is empty", None)),
    ("header_only", "h.csv", lambda p: MUSE_HEAD.encode(),
     ("error", "header but no samples", 2)),
    ("truncated_mid_line", "t.csv",
     lambda p: (MUSE_HEAD + _muse_rows(300) + "1700000001.2,12.5,3").encode(),
     ("warn", r"last line \(302\) is cut short")),
    ("binary_garbage", "g.csv",
     lambda p: bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)),
     ("error", "binary content", None)),
    # a spreadsheet's CSV in a European locale: ';' throughout is a layout, not
    # an error (a ';' line in a ',' file still is, below)
    ("semicolon_throughout", "d.csv",
     lambda p: (MUSE_HEAD.replace(",", ";") + _muse_rows(10).replace(",", ";"))
     .encode(), ("ok", None)),
    ("wrong_delimiter_line", "d2.csv",
     lambda p: (MUSE_HEAD + _muse_rows(20) + _muse_rows(1).replace(",", ";")
                + _muse_rows(5)).encode(), ("error", "wrong delimiter", 22)),
    ("wrong_column_count", "c.csv",
     lambda p: (MUSE_HEAD + _muse_rows(50) + "1700000001.0,1,2,3,4\n"
                + _muse_rows(5)).encode(),
     ("error", "expected 6 columns, found 5", 52)),
    # the marker column is not converted, yet a line holding a cell more (two
    # lines run together) is refused as in a file read whole
    ("marker_file_cell_more", "c2.csv",
     lambda p: (MUSE_HEAD.replace("AUX", "AUX,Marker0") + _muse_rows(50).replace("\n", ",0\n")
                + "1700000001.0,1,2,3,4,0,0,0\n" + _muse_rows(5).replace("\n", ",0\n")
                ).encode(), ("error", "expected 7 columns, found 8", 52)),
    ("non_numeric", "n.csv",
     lambda p: (MUSE_HEAD + _muse_rows(9) + "1700000001.0,1,abc,3,4,5\n").encode(),
     ("error", "column 3 holds 'abc'", 11)),
    ("nan_inf_run", "nan.csv",
     lambda p: (MUSE_HEAD + "".join(
         f"{1.7e9 + i / 256:.6f},{'nan' if 40 <= i < 60 else 1.0},"
         f"{'inf' if i == 70 else 2.0},{i % 5},{i % 3},0\n" for i in range(300))
     ).encode(), ("warn", r"^Channel TP9 holds 20 NaN or inf samples \(in one run, 40 "
                          r"samples into the recording\)\.$")),
    ("all_nan_channel", "an.csv",
     lambda p: (MUSE_HEAD + _muse_rows(300, ch=lambda i, k: float("nan") if k == 1 else
                                       float(i % 9))).encode(),
     ("warn", r"Channel AF7 holds no number at all \(300 NaN or inf samples\)")),
    ("beyond_full_scale", "huge.csv",
     lambda p: (MUSE_HEAD + _muse_rows(300, ch=lambda i, k: 1e300 if i % 100 == 5 and k < 2
                                       else float(i % 9))).encode(),
     ("warn", r"Channels TP9 \(3 samples\), AF7 \(3 samples\) go beyond the "
              r"amplifier's full scale of 1000 µV \(up to 1e\+300 µV\)")),
    ("muse_column_missing", "m3.csv",
     lambda p: (MUSE_HEAD.replace("TP10,", "") + "".join(
         ",".join(r.split(",")[:4] + r.split(",")[5:]) for r in
         _muse_rows(300).splitlines(keepends=True))).encode(),
     ("warn", r"The file lacks 1 channel of the muse_2016 profile \(TP10\) and holds "
              r"TP9, AF7, AF8")),
    ("duplicate_channel_names", "dup.csv",
     lambda p: (MUSE_HEAD.replace("AF7", "TP9") + _muse_rows(300)).encode(),
     ("warn", r"Channels with the same name were renamed to tell them apart \(TP9 -> "
              r"TP9-2\)")),
    ("all_zero_channel", "z.csv",
     lambda p: (MUSE_HEAD + _muse_rows(300, ch=lambda i, k: 0.0 if k == 1 else
                                       float(i % 9))).encode(),
     ("warn", r"1 flat channel \(AF7\)")),
    ("railed_channel", "OpenBCI-RAW-r.txt",
     lambda p: (OBCI_HEAD + _obci_rows(600, rail=True)).encode(),
     ("warn", r"\d+ railed channels? \(\w+")),
    ("unknown_channel_names", "u.csv",
     lambda p: (MUSE_HEAD.replace("TP9", "Fp1") + _muse_rows(300)).encode(),
     ("warn", r"1 channel name is not in the muse_2016 profile \(Fp1\); kept as it is\.")),
    ("sampling_rate_missing", "OpenBCI-RAW-s.txt",
     lambda p: (OBCI_HEAD.replace("%Sample Rate = 250.0 Hz\n", "")
                + _obci_rows(10)).encode(),
     ("error", "no sample rate", 1)),
    ("openbci_wrong_columns", "OpenBCI-RAW-w.txt",
     lambda p: (OBCI_HEAD + _obci_rows(10) + "10, 1.0, 2.0\n"
                + _obci_rows(3)).encode(),
     ("error", "expected 13 columns, found 3", 15)),
    ("utf16_text", "u16.csv", lambda p: (MUSE_HEAD + _muse_rows(20)).encode("utf-16"),
     ("error", r"UTF-16 text .*save it as CSV UTF-8", None)),
    ("gzip_csv", "muse.csv.gz",
     lambda p: gzip.compress((MUSE_HEAD + _muse_rows(300)).encode()),
     ("error", r"gzip-compressed; decompress it first .* read muse\.csv\.$", None)),
    ("gzip_xdf", "s.xdf.gz", lambda p: gzip.compress(_xdf_bytes(p)),
     ("error", r"gzip-compressed; decompress it first .* read s\.xdf\.$", None)),
    ("muse_lsl_accelerometer_file", "acc.csv",
     lambda p: ("timestamps,X,Y,Z\n" + "".join(
         f"{1.7e9 + i / 52:.6f},0.01,-0.02,0.98\n" for i in range(300))).encode(),
     ("error", r"holds the headset's accelerometer or gyroscope .* stream \(columns X, Y, "
               r"Z\), not EEG; read the file 'muse-lsl record' wrote for the EEG stream", 1)),
    ("muse_lsl_ppg_file_with_markers", "ppg.csv",
     lambda p: ("timestamps,PPG1,PPG2,PPG3,Marker0\n" + "".join(
         f"{1.7e9 + i / 64:.6f},1e3,2e3,3e3,0\n" for i in range(300))).encode(),
     ("error", r"holds the headset's PPG \(-t PPG\) stream", 1)),
    # muse-lsl 2.5 streams a Muse S Athena's 16 optical channels (-t OPTICS)
    ("muse_lsl_athena_optics_file", "optics.csv",
     lambda p: ("timestamps," + ",".join(f"OPT{i}" for i in range(16)) + "\n" + "".join(
         f"{1.7e9 + i / 64:.6f}," + ",".join(["1e3"] * 16) + "\n"
         for i in range(300))).encode(),
     ("error", r"holds the headset's optics \(-t OPTICS\) stream", 1)),
    ("sidecar_given_for_its_recording", "s.json", _sidecar_beside_its_recording,
     ("error", r"s\.json: this is the JSON sidecar of s\.xdf, not a recording; read "
               r"s\.xdf\.$", None)),
    ("xdf_with_csv_extension", "really_xdf.csv", _xdf_bytes, ("ok", None)),
    ("csv_with_xdf_extension", "really_csv.xdf",
     lambda p: (MUSE_HEAD + _muse_rows(300)).encode(), ("ok", None)),
    ("xdf_garbage_after_magic", "bad.xdf", lambda p: b"XDF:" + b"\x07" * 50,
     ("error", "pyxdf could not read|no streams|corrupt", None)),
    ("xdf_killed_mid_chunk", "cut.xdf", lambda p: _xdf_bytes(p)[:-150],
     ("warn", "recorder was probably killed")),
    # Excel for Mac's 'CSV (Macintosh)': classic Mac line ends, a carriage return alone
    ("muse_csv_mac_line_ends", "mac.csv",
     lambda p: (MUSE_HEAD + _muse_rows(300)).replace("\n", "\r").encode(),
     ("error", r"its lines end with a carriage return alone .* and read that\.$", None)),
    ("openbci_mac_line_ends", "OpenBCI-RAW-mac.txt",
     lambda p: (OBCI_HEAD + _obci_rows(300)).replace("\n", "\r").encode(),
     ("error", r"its lines end with a carriage return alone", None)),
    ("brainflow_mac_line_ends", "bfmac.csv",
     lambda p: b"1.0\t2.0\t3.0\r4.0\t5.0\t6.0\r",
     ("error", r"its lines end with a carriage return alone", None)),
    ("unknown_text", "notes.txt", lambda p: b"hello world\nsecond line\n",
     ("error", "matches no format", 1)),
    ("brainflow_unknown_board", "bf.csv",
     lambda p: b"1.0\t2.0\t3.0\n4.0\t5.0\t6.0\n",
     ("error", "cannot tell which board", None)),
    ("brainflow_sidecar_unknown_board_id", "bf999.csv",
     lambda p: _brainflow_with_sidecar(p, "bf999", '{"board_id": 999}'),
     ("error", r'bf999\.json gives "board_id": 999, a board BrainFlow does not know; '
               r"correct it .*--profile", None)),
    ("brainflow_sidecar_board_id_not_a_number", "bfname.csv",
     lambda p: _brainflow_with_sidecar(p, "bfname", '{"board_id": "cyton"}'),
     ("error", r'bfname\.json gives "board_id": "cyton", not a BrainFlow board id', None)),
    ("brainflow_sidecar_unknown_profile", "bfprof.csv",
     lambda p: _brainflow_with_sidecar(p, "bfprof", '{"profile": "cytonx"}'),
     ("error", r'bfprof\.json gives "profile": "cytonx", not a board profile \(known: '
               r"cyton, ", None)),
]


@pytest.mark.parametrize("case, name, make, expected", CASES,
                         ids=[c[0] for c in CASES])
def test_bad_input_table(tmp_path, capsys, case, name, make, expected):
    fname = tmp_path / name
    fname.write_bytes(make(tmp_path))
    kind = expected[0]
    if kind == "error":
        _, pattern, line = expected
        with pytest.raises(RecordingFormatError, match=pattern) as info:
            read_recording(fname)
        err = info.value
        assert err.fname == str(fname)
        assert str(fname) in str(err)
        if line is not None:
            assert err.line == line
            assert f"line {line}" in str(err)
        # The CLI: one sentence on stderr, exit 1, no traceback.
        capsys.readouterr()
        assert main(["info", str(fname)]) == 1
        out = capsys.readouterr()
        assert "Traceback" not in out.err + out.out
        assert out.err.count("\n") == 1 and str(fname) in out.err
    else:
        rec = read_recording(fname)
        assert rec.n_times > 0
        if kind == "warn":
            assert any(re.search(expected[1], w) for w in rec.warnings), rec.warnings
        capsys.readouterr()
        assert main(["info", str(fname)]) == 0
        out = capsys.readouterr()
        assert "read as:" in out.out and "Traceback" not in out.err


def test_nan_runs_are_said_once_for_the_channels_they_share():
    """A headset that sent nothing for a while leaves the same NaN run on every
    channel: one sentence names them, with where the run is; a channel with
    runs of its own says how many and where the longest is."""
    from biofeedback.io._integrity import channel_problems

    data = np.random.default_rng(0).normal(0, 1e-5, (4, 2000))
    data[:, 1000:1100] = np.nan
    data[3, 10:13] = np.inf
    _, warnings = channel_problems(data, ["TP9", "AF7", "AF8", "TP10"])
    assert warnings == [
        "Channels TP9, AF7, AF8 each hold 100 NaN or inf samples (in one run, 1000 "
        "samples into the recording).",
        "Channel TP10 holds 103 NaN or inf samples (in 2 runs, the longest 100 samples, "
        "1000 samples into the recording)."]


def test_an_all_nan_channel_is_said_once_and_info_stays_quiet(tmp_path, capsys):
    """Not also 'flat' (it has no signal to be flat), and info's range warns nothing."""
    fname = tmp_path / "an.csv"
    fname.write_text(MUSE_HEAD + _muse_rows(300, ch=lambda i, k: float("nan") if k == 1
                                            else float(i % 9)))
    rec = read_recording(fname)
    assert not any("Flat" in w for w in rec.warnings), rec.warnings
    assert main(["info", str(fname)]) == 0
    out = capsys.readouterr()
    assert "AF7 nan" in out.out and out.err == ""


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(RecordingFormatError, match="no such file"):
        read_recording(tmp_path / "nope.xdf")
    with pytest.raises(RecordingFormatError, match="folder"):
        read_recording(tmp_path)
    with pytest.raises(ValueError, match="Invalid value for the 'format' parameter"):
        read_recording(tmp_path / "x.csv", format="excel")


def _as_a_plain_user():
    """The command prefix under which file permissions apply: none for a
    plain user; for root, ``setpriv`` dropping the capabilities that let
    root read anything (None when that cannot be done)."""
    import os
    import shutil

    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        return None
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


@pytest.mark.parametrize("command", ["info", "replay", "convert"])
def test_a_file_without_read_permission_is_one_sentence(tmp_path, command):
    import subprocess
    import sys

    prefix = _as_a_plain_user()
    if prefix is None:
        pytest.skip("running as root without setpriv: permissions do not apply")
    fname = tmp_path / "no read.csv"
    fname.write_text(MUSE_HEAD + _muse_rows(600))
    fname.chmod(0)
    args = [str(fname)] + ([str(tmp_path / "o.xdf")] if command == "convert" else [])
    out = subprocess.run([*prefix, sys.executable, "-m", "biofeedback.cli", command, *args],
                         capture_output=True, text=True, timeout=120)
    if out.returncode == 0 and prefix:
        pytest.skip("setpriv could not drop root's read-anything capability here")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert out.stderr == (f"biofeedback: error: {fname}: cannot be read: this user has no "
                          "read permission on it; grant it (chmod u+r, or ask its owner) or "
                          "read a copy.\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["no read.csv"]


@pytest.mark.parametrize("fmt, name", [("muse-csv", "m.csv"), ("mind-monitor", "mm.csv"),
                                       ("openbci-txt", "o.txt"), ("brainflow", "b.csv"),
                                       ("xdf", "x.xdf"), ("mne", "e.edf")])
def test_a_file_without_read_permission_read_as_a_named_format(tmp_path, fmt, name):
    """With --format no sniff opens the file first: the reader's own open says
    it in the same sentence, whichever reader it is."""
    import subprocess
    import sys

    prefix = _as_a_plain_user()
    if prefix is None:
        pytest.skip("running as root without setpriv: permissions do not apply")
    fname = tmp_path / name
    fname.write_text(MUSE_HEAD + _muse_rows(300))
    fname.chmod(0)
    out = subprocess.run([*prefix, sys.executable, "-m", "biofeedback.cli", "info",
                          str(fname), "--format", fmt],
                         capture_output=True, text=True, timeout=120)
    if out.returncode == 0 and prefix:
        pytest.skip("setpriv could not drop root's read-anything capability here")
    assert out.returncode == 1
    assert out.stderr == (f"biofeedback: error: {fname}: cannot be read: this user has no "
                          "read permission on it; grant it (chmod u+r, or ask its owner) or "
                          "read a copy.\n")


def test_a_readable_file_is_opened_by_the_sniff_and_its_reader_alone(tmp_path, opens):
    """No open only to test the read permission: the sniff's open and the
    reader's are all."""
    from biofeedback.io._muse import read_muse_csv

    fname = tmp_path / "m.csv"
    fname.write_text(MUSE_HEAD + _muse_rows(300))
    with opens(fname) as by_reader:
        read_muse_csv(fname)
    with opens(fname) as by_read:
        assert read_recording(fname).n_times == 300
    assert len(by_reader) >= 1 and len(by_read) == len(by_reader) + 1


def test_a_recording_with_two_channels_of_one_name_replays(tmp_path, capsys):
    """Named alike, the engine refused them (a ValueError traceback); renamed, it runs."""
    fname = tmp_path / "dup.csv"
    fname.write_text(MUSE_HEAD.replace("AF7", "TP9") + _muse_rows(1024))
    assert read_recording(fname).ch_names == ["TP9", "TP9-2", "AF8", "TP10"]
    assert main(["replay", str(fname)]) == 0
    assert "windows" in capsys.readouterr().out


def test_stream_of_a_file_that_is_not_xdf_is_one_sentence(tmp_path, capsys):
    fname = tmp_path / "m.csv"
    fname.write_text(MUSE_HEAD + _muse_rows(300))
    assert main(["info", str(fname), "--stream", "EEG"]) == 1
    err = capsys.readouterr().err
    assert err == (f"biofeedback: error: {fname}: is read as muse-csv, which holds one EEG "
                   "stream; --stream NAME (stream= in Python) picks a stream of an XDF file "
                   "only: leave it out.\n")


def test_a_path_from_home_reads_and_writes_as_mne_takes_it(tmp_path, monkeypatch):
    """``read_recording("~/x.csv")`` in Python, where no shell expands ``~``."""
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "m.csv").write_text(MUSE_HEAD + _muse_rows(600))
    rec = read_recording("~/m.csv")
    assert rec.n_times == 600 and rec.provenance["fname"] == str(tmp_path / "m.csv")
    from biofeedback.io import write_recording

    assert write_recording(rec, "~/m.xdf") == tmp_path / "m.xdf"
    assert (tmp_path / "m.xdf").is_file()


def test_replay_out_from_home_lands_at_home(tmp_path, monkeypatch):
    """replay(out="~/est.csv") made a folder named '~' in the working folder."""
    from biofeedback.replay import replay

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.csv").write_text(MUSE_HEAD + _muse_rows(1600))
    replay(tmp_path / "m.csv", out="~/est.csv")
    assert (tmp_path / "home" / "est.csv").is_file() and not (tmp_path / "~").exists()


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    """An ``lda`` model of two 20 s Muse CSVs, and a good recording beside it."""
    from biofeedback.training import extract_dataset, fit_model, label_files, save_model

    folder = tmp_path_factory.mktemp("bad-input-model")
    paths = []
    for label, hz in (("calm", 10.0), ("busy", 6.0)):
        rows = _muse_rows(20 * 256, lambda i, k, hz=hz: 20 * np.sin(2 * np.pi * hz * i / 256)
                          + (i * 7 + k * 13) % 5)
        paths.append(folder / f"p1-{label}-1.csv")
        paths[-1].write_text(MUSE_HEAD + rows)
    ds = extract_dataset(label_files(paths), n_jobs=1)
    return save_model(fit_model(ds, "lda"), folder / "m.bfm"), paths[0]


ERRORS = [c for c in CASES if c[3][0] == "error"]
PATHS = ["replay", "replay --realtime", "convert", "train", "evaluate"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("case, name, make, expected", ERRORS, ids=[c[0] for c in ERRORS])
def test_bad_input_is_the_same_sentence_on_every_path(tmp_path, capsys, small_model, path,
                                                      case, name, make, expected):
    """The batch paths (replay, convert, train's and evaluate's extraction) and the
    paced live path say of a malformed file what 'info' says, in one sentence."""
    model, good = small_model
    fname = tmp_path / name
    fname.write_bytes(make(tmp_path))
    capsys.readouterr()
    assert main(["info", str(fname)]) == 1
    sentence = capsys.readouterr().err
    manifest = tmp_path / "labels.csv"  # train reads a good recording beside it
    manifest.write_text(f"path,label,subject\n{fname},calm,p2\n"
                        + (f"{good},busy,p2\n" if path == "train" else ""))
    argv = {"replay": ["replay", str(fname)],
            "replay --realtime": ["replay", str(fname), "--realtime", "--speed", "1000"],
            "convert": ["convert", str(fname), str(tmp_path / "out.xdf")],
            "train": ["train", "--labels-from", "manifest", "--manifest", str(manifest),
                      "--cv", "none", "--out", str(tmp_path / "m.bfm"), "-q",
                      "--n-jobs", "1"],
            "evaluate": ["evaluate", str(model), "--labels-from", "manifest", "--manifest",
                         str(manifest), "-q", "--n-jobs", "1"]}[path]
    assert main(argv) == 1
    out = capsys.readouterr()
    assert "Traceback" not in out.out
    if case == "unknown_text" and path in ("train", "evaluate"):
        # they take no --format: the same sentence, its advice to leave the file
        # out or convert it
        head, _, advice = sentence.partition("; to read it as one, pass --format")
        assert advice and out.err.startswith(head + "; leave it out of the recordings given")
        assert "--in-format NAME" in out.err and out.err.count("\n") == 1
    else:
        assert out.err == sentence
    assert not (tmp_path / "out.xdf").exists() and not (tmp_path / "m.bfm").exists()

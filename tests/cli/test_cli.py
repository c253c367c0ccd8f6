"""The command line: one sentence and a non-zero exit on errors, help that teaches."""

import subprocess
import sys

import numpy as np
import pytest

from biofeedback.cli import build_parser, main
from biofeedback.hardware import get_profile


def _run(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "biofeedback.cli", *args],
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("args, message", [
    (["live", "--board", "cytom"], "Unknown board 'cytom'; known boards are"),
    (["live", "--board", "cyton"], "The cyton board needs --serial-port"),
    # (then "check that the streaming app is running", or the EEG streams that
    # are there: another test's session may be publishing one)
    (["live", "--lsl", "no-such-stream-3f9a", "--lsl-timeout", "0.3"],
     "No LSL stream named 'no-such-stream-3f9a' was found within 0.3 s"),
    (["live", "--pipeline", "/nonexistent/p.toml"], "/nonexistent/p.toml: no such file"),
    (["replay", "/nonexistent/r.xdf"], "r.xdf"),
    (["convert", "x.csv", "--bids-root", "/nonexistent/b", "--participant", "a b"],
     "Invalid participant ID 'a b': use ASCII letters and digits only"),
])
def test_errors_are_one_sentence_without_traceback(args, message):
    out = _run(*args)
    assert out.returncode == 1
    err = [ln for ln in out.stderr.splitlines() if ln.startswith("biofeedback:")]
    assert len(err) == 1 and message in err[0], out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("args, message", [
    (["live", "--duration", "-5"], "argument --duration: must be a number above 0, got -5"),
    (["live", "--duration", "nan"], "argument --duration: must be a number above 0, got nan"),
    (["live", "--check-seconds", "1"], "argument --check-seconds: must be a number at least 2"),
    (["check", "--seconds", "0"], "argument --seconds: must be a number at least 2, got 0"),
    (["replay", "x.xdf", "--realtime", "--speed", "0"], "argument --speed: must be a number"),
    (["simulate", "demo", "--speed", "-1"], "argument --speed: must be a number above 0"),
    (["dashboard", "--duration", "0"], "argument --duration: must be a number above 0"),
    (["live", "--lsl-timeout", "x"], "argument --lsl-timeout: 'x' is not a number"),
    (["info", "x.xdf", "--markers", "-2"], "argument --markers: must be a whole number at "
                                          "least 0, got -2"),
    (["info", "x.xdf", "--markers", "1.5"], "argument --markers: '1.5' is not a whole number"),
    (["train", "--out", "m.bfm", "--n-jobs", "0"], "argument --n-jobs: must be a whole number "
                                                   "other than 0 (-1: one process per core)"),
    (["train", "--out", "m.bfm", "--switch-every", "-5"], "argument --switch-every: must be a "
                                                          "number at least 0, got -5"),
    (["evaluate", "m.bfm", "--switch-every", "inf"], "argument --switch-every: must be a "
                                                     "number at least 0, got inf"),
    (["simulate", "demo", "--seed", "-1"], "argument --seed: must be a whole number at least 0"),
    (["simulate", "demo", "--participant", "p1", "--sessions", "0"],
     "argument --sessions: must be a whole number at least 1, got 0"),
    (["train", "--out", "m.bfm", "--evidence-weight", "0"], "argument --evidence-weight: must "
                                                            "be a number above 0 and at most 1"),
    (["train", "--out", "m.bfm", "--evidence-weight", "1.5"], "argument --evidence-weight: "
                                                              "must be a number above 0 and at "
                                                              "most 1, got 1.5"),
    (["train", "--out", "m.bfm", "--dwell", "-5"], "argument --dwell: must be a number at "
                                                   "least 0, got -5"),
    (["dashboard", "--port", "70000"], "argument --port: must be a whole number at least 0 and "
                                       "at most 65535, got 70000"),
    # LabRecorder matches these with no stream: the session said none was sending
    (["live", "--also-record", "name=MyMarkers"], "argument --also-record: 'MyMarkers' in "
                                                  "'name=MyMarkers' needs quotes: "
                                                  "\"name='MyMarkers'\""),
    (["live", "--also-record", "MyMarkers"], "argument --also-record: 'MyMarkers' is not a "
                                             "predicate; to record the stream of that name "
                                             "write \"name='MyMarkers'\""),
    (["live", "--also-record", "type='Markers' and"], "argument --also-record: \"type='Markers' "
                                                      "and\" ends with 'and', with nothing after "
                                                      "it; e.g. \"type='Markers' and "
                                                      "name='PsychoPy'\""),
])
def test_impossible_numbers_are_usage_errors(args, message, capsys):
    """Refused while parsing: no traceback, no session that never ends or divides by zero."""
    with pytest.raises(SystemExit) as info:
        main(args)
    err = capsys.readouterr().err
    assert info.value.code == 2 and message in err and "Traceback" not in err, err


@pytest.mark.parametrize("board, fname, message", [
    ("muse_2", "cyton.csv", "cyton.csv, line 1: 24 values, but BrainFlow's muse_2 layout has "
                            "8 rows (it fits cyton or cyton_wifi: pass that --board)."),
    ("cyton", "missing.csv", "The playback file {tmp}/missing.csv does not exist"),
    ("lsl", "cyton.csv", "The 'lsl' profile is not a BrainFlow board, so BrainFlow cannot play"),
    # with the sidecar 'convert' writes, not 'would play it as the lsl board (0 channels at 0 Hz)'
    ("lsl", "converted.csv", "The 'lsl' profile is not a BrainFlow board, so BrainFlow cannot "
                             "play a file as it"),
    # an export with a header (muse-lsl, OpenBCI GUI): say how to make a BrainFlow file of it
    ("muse_2016", "muse.csv", "{tmp}/muse.csv is not a BrainFlow file: its first line is a "
                              "header ('timestamps,TP9,AF7,AF8,TP10,Right AUX'), which "
                              "BrainFlow's playback board cannot read; write one with "
                              "'biofeedback convert muse.csv OUT.csv --profile muse_2016'"),
])
def test_a_playback_file_the_board_cannot_play_is_one_sentence(board, fname, message, tmp_path,
                                                               capsys):
    from brainflow.board_shim import BoardShim
    from brainflow.data_filter import DataFilter

    rows = BoardShim.get_num_rows(get_profile("cyton").board_id)
    DataFilter.write_file(np.zeros((rows, 5)), str(tmp_path / "cyton.csv"), "w")
    DataFilter.write_file(np.zeros((rows, 5)), str(tmp_path / "converted.csv"), "w")
    (tmp_path / "converted.json").write_text('{"board_id": 0, "profile": "cyton", '
                                             '"sfreq": 250.0}')
    (tmp_path / "muse.csv").write_text("timestamps,TP9,AF7,AF8,TP10,Right AUX\n"
                                       "1.0,1,2,3,4,0\n")
    code = main(["live", "--board", board, "--playback-file", str(tmp_path / fname),
                 "--no-record", "--view", "none"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and message.format(tmp=tmp_path) in err[0], err


def _two_channels_at_500_hz(fname):
    """An EDF of two channels at 500 Hz: a recording of no BrainFlow board."""
    import mne

    x = np.random.default_rng(0).normal(0, 10e-6, (2, 5000))
    raw = mne.io.RawArray(x, mne.create_info(["Cz", "Pz"], 500.0, "eeg"), verbose="error")
    mne.export.export_raw(fname, raw, verbose="error")


@pytest.mark.parametrize("command", ["live", "check"])
def test_a_converted_recording_of_no_board_is_not_played_as_the_synthetic_board(
        command, tmp_path, capsys):
    """'convert' writes a recording of no board in the synthetic board's rows: its
    sidecar says no board made it, and playing it as the synthetic board (its
    2 channels at 500 Hz run as 16 at 250 Hz, every window gated) is one
    sentence saying what to run instead; a sidecar of an earlier version, which
    named the synthetic board, is refused by its rate."""
    import json

    _two_channels_at_500_hz(tmp_path / "two.edf")
    assert main(["convert", str(tmp_path / "two.edf"), str(tmp_path / "two.csv")]) == 0
    side = json.loads((tmp_path / "two.json").read_text())
    assert side["profile"] is None and side["source_format"] == "mne"
    assert side["board_id"] == -1 and side["sfreq"] == 500.0
    fname = tmp_path / "two.csv"
    for sidecar, said in ((side, "that no BrainFlow board recorded (its sidecar two.json "
                                 "says so; converted from mne): "),
                          ({**side, "profile": "synthetic"}, "(its sidecar two.json): ")):
        (tmp_path / "two.json").write_text(json.dumps(sidecar))
        capsys.readouterr()
        extra = ["--no-record", "--view", "none"] if command == "live" else []
        assert main([command, "--board", "synthetic", "--playback-file", str(fname),
                     *extra]) == 1
        err = capsys.readouterr().err
        assert err == (f"biofeedback: error: {fname} holds 2 channels at 500 Hz {said}"
                       "BrainFlow's playback board would play it as the synthetic board (16 "
                       "channels at 250 Hz); replay it offline with 'biofeedback replay "
                       f"{fname}' instead.\n")


def test_a_board_file_played_as_another_board_of_its_rows_names_its_board(tmp_path, capsys):
    """A Cyton + Daisy file has the synthetic board's 32 rows: played as the
    synthetic board it ran at the file's 125 Hz as 250 Hz; the sidecar's
    board is named, and played as it, the file is accepted."""
    from biofeedback.io import Recording, write_recording

    daisy = get_profile("cyton_daisy")
    rec = Recording(data=np.zeros((16, 500)), sfreq=125.0, ch_names=list(daisy.ch_names),
                    timestamps=1.7e9 + np.arange(500) / 125.0, profile="cyton_daisy")
    fname = write_recording(rec, tmp_path / "daisy.csv")
    assert main(["check", "--board", "synthetic", "--playback-file", str(fname)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.endswith(
        "holds 16 channels at 125 Hz (its sidecar daisy.json): BrainFlow's playback board "
        "would play it as the synthetic board (16 channels at 250 Hz); pass --board "
        "cyton_daisy.\n")
    from biofeedback.live import make_source

    assert make_source("cyton_daisy", params={"file": str(fname)}).playback == str(fname)


def test_a_pipeline_typo_names_file_and_key(tmp_path):
    bad = tmp_path / "typo.toml"
    bad.write_text("[window]\nlenght = 2.0\n")
    out = _run("live", "--pipeline", str(bad), "--no-record", "--duration", "1")
    assert out.returncode == 1
    assert "typo.toml, line 2 [window]: unknown key 'lenght'" in out.stderr
    assert "Traceback" not in out.stderr


def test_a_pipeline_saved_by_a_windows_editor_is_read(tmp_path):
    """UTF-8 with a byte-order mark and CRLF (Notepad) reads; Latin-1 is one sentence."""
    from biofeedback.config import load_pipeline
    from biofeedback.errors import PipelineConfigError

    bom = tmp_path / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbf[window]\r\nlength = 3.0\r\n")
    assert load_pipeline(bom).window.length == 3.0
    bom.write_bytes(b"\xef\xbb\xbf[window]\r\nlenght = 3.0\r\n")
    with pytest.raises(PipelineConfigError, match=r"bom\.toml, line 2 \[window\]: unknown "
                                                  r"key 'lenght'"):
        load_pipeline(bom)
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b"# r\xe9glages\n[window]\nlength = 3.0\n")
    with pytest.raises(PipelineConfigError, match=r"latin\.toml, line 1: byte 0xe9 is not "
                                                  r"UTF-8 text; save the file as UTF-8"):
        load_pipeline(latin)


def test_a_shipped_pipeline_is_named_as_simulate_names_it(tmp_path, monkeypatch):
    """'live --pipeline programme' reads the shipped one; a file of that name wins."""
    from biofeedback.config import load_pipeline
    from biofeedback.errors import PipelineConfigError

    monkeypatch.chdir(tmp_path)
    assert load_pipeline("programme").feedback.threshold_start == "carry"
    (tmp_path / "programme").write_text('name = "mine"\n')
    assert load_pipeline("programme").name == "mine"
    with pytest.raises(PipelineConfigError) as err:
        load_pipeline("nonesuch")
    assert str(err.value) == ("nonesuch: no such file, and no shipped pipeline has that "
                              "name (default, programme; or give a .toml path).")


def test_every_command_teaches_by_example():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert {"live", "replay", "boards"} <= set(sub.choices)
    for name, p in sub.choices.items():
        assert "Example" in p.format_help(), f"'{name} --help' has no example"
    assert "biofeedback live" in parser.format_help()
    # and every option says what it takes: no bare '--ip-port VALUE'
    bare = [(name, a.option_strings[0]) for name, p in sub.choices.items()
            for a in p._actions if a.option_strings and not a.help]
    assert not bare, f"options without help: {bare}"


#: What each command's description opens with: what the command does.
_VERBS = {"Run", "Replay", "List", "Read", "Convert", "Train", "Score", "Write", "Show",
          "Check", "Compile"}


def test_every_help_says_what_the_command_is_for_and_its_defaults():
    """A new user reads what a command does first, each option's default where it
    has one, and an option several commands share in the same words."""
    import argparse

    from biofeedback._data import data_dir
    from biofeedback.cli import BOARD, PIPELINE

    sub = next(a for a in build_parser()._actions if a.dest == "command").choices
    opening = {name: p.description.split()[0] for name, p in sub.items()}
    assert set(opening.values()) <= _VERBS, opening
    silent = [(name, a.option_strings[0]) for name, p in sub.items() for a in p._actions
              if a.option_strings and a.default not in (None, False, [], argparse.SUPPRESS)
              and not isinstance(a, (argparse._HelpAction, argparse._VersionAction))
              and "default" not in a.help]
    assert not silent, f"options with a default their help does not give: {silent}"
    shipped = sorted(p.stem for p in data_dir("pipelines").glob("*.toml"))
    assert PIPELINE.endswith(" or ".join([", ".join(shipped[:-1]), shipped[-1]]))
    shared = {"--pipeline": PIPELINE, "--profile": BOARD, "--board": BOARD,
              "--stream": "the one with the most samples, said in a warning",
              "--root": "$BIOFEEDBACK_ROOT"}
    differ = [(name, a.option_strings[0]) for name, p in sub.items() for a in p._actions
              if a.option_strings and a.option_strings[0] in shared
              and shared[a.option_strings[0]] not in a.help]
    assert not differ, f"shared options worded otherwise: {differ}"


def test_live_and_check_help_give_the_stream_names_common_apps_publish():
    """The examples named an LSL stream MuseEEG, which no common app publishes:
    a first user typed it beside muse-lsl's stream, named Muse."""
    sub = next(a for a in build_parser()._actions if a.dest == "command").choices
    for name in ("live", "check"):
        text = " ".join(sub[name].format_help().split())
        assert "MuseEEG" not in text
        assert "--lsl Muse --board muse_2" in text and "--lsl obci_eeg1 --board cyton" in text
        assert "muse-lsl names its stream Muse, OpenBCI GUI obci_eeg1" in text


def test_evaluate_help_teaches_in_parts_as_train_help_does():
    """'evaluate --help' was one paragraph of 16 lines: what is scored, how a
    model is calibrated and what is printed, run together."""
    sub = next(a for a in build_parser()._actions if a.dest == "command").choices
    for name in ("train", "evaluate"):
        text = sub[name].format_help()
        described = text[text.index("\n\n") + 2:text.index("Examples:")]
        longest = max(len(part.splitlines()) for part in described.split("\n\n"))
        assert longest <= 12, (name, longest)
    text = sub["evaluate"].format_help()
    scored = text[text.index("What is scored:"):text.index("Examples:")]
    flat = " ".join(scored.split())
    for phrase in ("sustained states one-state recordings", "after the first 20 s",
                   "switching states a stream that switches state every --switch-every "
                   "seconds (default 30)", "median lag until the output follows"):
        assert phrase in flat, phrase
    # a worked manifest under the examples, and the scoring options in a group of their own
    assert "path,label,start,stop\n  new_people/s07.xdf,relaxed,0,60" in text
    groups = {g.title: [a.option_strings[0] for a in g._group_actions
                        if a.option_strings] for g in sub["evaluate"]._action_groups}
    assert groups["scoring"] == ["--switch-every", "--json"]
    assert "--labels-from" in groups["labels"] and "--n-jobs" in groups["execution"]


def test_train_takes_the_classifier_by_the_name_other_commands_do_not_use():
    """Elsewhere --model is a model file; train's classifier is --classifier
    (--model, its older name, still works)."""
    parser = build_parser()
    for flag in ("--classifier", "--model"):
        args = parser.parse_args(["train", "r.xdf", "--out", "m.bfm", flag, "lda-channels"])
        assert args.model == "lda-channels"
    assert parser.parse_args(["train", "r.xdf", "--out", "m.bfm"]).model == "lda"


@pytest.mark.parametrize("command", ["live", "check"])
def test_live_and_check_take_the_same_playback_option(command):
    """The rehearsal file is --playback-file (BrainFlow's --file kept as an alias) on both."""
    parser = build_parser()
    for flag in ("--playback-file", "--file"):
        args = parser.parse_args([command, "--board", "cyton", flag, "cyton.csv"])
        assert args.file == "cyton.csv"
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    assert "--playback-file FILE" in sub.format_help()


def test_simulate_help_names_every_shipped_scenario():
    from biofeedback.simulate._scenario import list_scenarios

    sub = next(a for a in build_parser()._actions if a.dest == "command").choices
    text = " ".join(sub["simulate"].format_help().split())
    assert all(name in text for name in list_scenarios()), text


def test_boards_lists_every_profile(capsys):
    assert main(["boards"]) == 0
    out = capsys.readouterr().out
    for name in ("synthetic", "cyton", "cyton_daisy", "ganglion", "muse_2", "muse_s",
                 "muse_2016", "lsl"):
        assert f"\n{name} " in out
    assert "--serial-port" in out


def test_replay_out_is_pandas_ready_with_a_stable_header(muse_dir, tmp_path, capsys):
    pd = pytest.importorskip("pandas")
    out = tmp_path / "est.csv"
    assert main(["replay", str(muse_dir / "subjectc-concentrating-1.csv"), "--out", str(out)]) == 0
    df = pd.read_csv(out)
    assert list(df.columns[:1]) == ["t_end"] and df.columns[-1] == "gated"
    assert {"engagement", "arousal", "alpha_rel", "theta_beta", "faa"} <= set(df.columns)
    assert len(df) > 100 and np.all(np.diff(df["t_end"]) > 0)
    assert set(df["gated"].unique()) <= {0, 1}
    assert (tmp_path / "est.csv.json").exists()
    assert "windows" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["replay", "convert"])
def test_an_output_that_cannot_be_written_is_said_before_the_work(muse_dir, tmp_path,
                                                                   command):
    """Said at once, naming the output and its folder, not after the whole
    replay with the name of a hidden temporary file."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    dest = blocker / "sub" / "e.csv"
    src = str(muse_dir / "subjecta-relaxed-1.csv")
    args = [src, "--out", str(dest)] if command == "replay" else [src, str(dest)]
    out = _run(command, *args)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr == (f"biofeedback: error: {dest} cannot be written: {blocker} does "
                          "not take new files (not a folder); choose another place for "
                          "it.\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_a_command_that_cannot_be_imported_is_an_error_not_a_missing_command(monkeypatch):
    import biofeedback.cli as cli

    monkeypatch.setattr(cli, "_COMMANDS", (*cli._COMMANDS, "_no_such_command"))
    with pytest.raises(ModuleNotFoundError, match="_no_such_command"):
        cli.build_parser()


def _brainflow_without_counter(fname, board="CYTON_DAISY_BOARD", seconds=8):
    """A BrainFlow file of ``board`` with an empty package counter and no
    sidecar: nothing in it tells a Cyton + Daisy from the synthetic board."""
    from brainflow.board_shim import BoardIds, BoardShim
    from brainflow.data_filter import DataFilter

    d = BoardShim.get_board_descr(getattr(BoardIds, board).value)
    n = int(seconds * d["sampling_rate"])
    arr = np.zeros((d["num_rows"], n))
    t = np.arange(n) / d["sampling_rate"]
    rng = np.random.default_rng(0)
    arr[d["eeg_channels"]] = 20 * np.sin(2 * np.pi * 10 * t) + rng.normal(
        0, 5, (len(d["eeg_channels"]), n))
    arr[d["timestamp_channel"]] = 1.7e9 + t
    DataFilter.write_file(arr, str(fname), "w")
    return fname


def test_replay_takes_the_profile_the_reader_asks_for(tmp_path, capsys):
    """A file that does not name its board asks for --profile: replay takes it."""
    from biofeedback.io import read_recording
    from biofeedback.replay import replay

    fname = _brainflow_without_counter(tmp_path / "daisy.csv")
    assert main(["replay", str(fname)]) == 1
    err = capsys.readouterr().err
    assert "pass --profile NAME" in err and err.count("\n") == 1
    out = tmp_path / "est.csv"
    assert main(["replay", str(fname), "--profile", "cyton_daisy", "--out", str(out)]) == 0
    expected = replay(read_recording(fname, profile="cyton_daisy"))
    got = np.loadtxt(out, delimiter=",", skiprows=1, ndmin=2)
    assert len(got) == len(expected.t_end) > 0
    np.testing.assert_allclose(got[:, 0], expected.t_end)


def test_python_dash_m_biofeedback_is_the_command():
    """Where the 'biofeedback' script is not on PATH (a venv not activated)."""
    out = subprocess.run([sys.executable, "-m", "biofeedback", "replay", "/nonexistent/r.xdf"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert out.stderr == "biofeedback: error: /nonexistent/r.xdf: no such file.\n"


@pytest.mark.parametrize("option", ["--out", "--png"])
def test_report_into_a_folder_is_one_sentence_before_the_work(tmp_path, capsys, option):
    """It named a hidden '.part' file after building the whole report (--out),
    or wrote the figure beside the folder as FOLDER.png (--png)."""
    from biofeedback.io import Recording, write_recording

    rng = np.random.default_rng(0)
    rec = Recording(data=rng.normal(0, 1e-5, (2, 2500)), sfreq=250.0, ch_names=["Cz", "Pz"],
                    timestamps=np.arange(2500) / 250.0)
    src = write_recording(rec, tmp_path / "rec.xdf")
    folder = tmp_path / "figs"
    folder.mkdir()
    assert main(["report", str(src), option, str(folder)]) == 1
    assert capsys.readouterr().err == (f"biofeedback: error: {folder} is a folder; name a "
                                       "file to write.\n")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["figs", "rec.xdf"]


def test_report_in_a_bids_dataset_goes_under_its_derivatives(tmp_path, capsys):
    """The report was written beside the recording, into the dataset's subject
    folder, where BIDS validators take it for an error."""
    import json

    from biofeedback.io import Recording, write_recording

    root = tmp_path / "bids"
    (root / "sub-01" / "eeg").mkdir(parents=True)
    (root / "dataset_description.json").write_text(
        json.dumps({"Name": "study", "BIDSVersion": "1.8.0", "DatasetType": "raw"}))
    rng = np.random.default_rng(0)
    rec = Recording(data=rng.normal(0, 1e-5, (2, 2500)), sfreq=250.0, ch_names=["Cz", "Pz"],
                    timestamps=np.arange(2500) / 250.0)
    src = write_recording(rec, root / "sub-01" / "eeg" / "sub-01_task-rest_eeg.xdf")
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    assert main(["report", str(src)]) == 0
    html = root / "derivatives" / "biofeedback" / "sub-01" / "eeg" / "sub-01_task-rest_eeg.html"
    assert capsys.readouterr().out == f"report: {html}\n"
    assert "Methods (CRED-nf" in html.read_text()
    desc = json.loads((root / "derivatives" / "biofeedback"
                       / "dataset_description.json").read_text())
    assert desc["DatasetType"] == "derivative" and desc["BIDSVersion"] == "1.8.0"
    assert sorted(p.relative_to(root) for p in root.rglob("*")
                  if "derivatives" not in p.parts) == before
    # --out still says where
    assert main(["report", str(src), "--out", str(tmp_path / "r.html")]) == 0
    assert (tmp_path / "r.html").is_file()


def test_report_in_a_bids_dataset_is_named_as_the_recording_was_given(
        tmp_path, capsys, monkeypatch):
    """A recording given by a relative path had its report printed as an absolute
    path, though live, train and a report beside its recording print what was given."""
    import json

    from biofeedback.io import Recording, write_recording

    root = tmp_path / "bids"
    (root / "sub-01" / "eeg").mkdir(parents=True)
    (root / "dataset_description.json").write_text(json.dumps({"BIDSVersion": "1.8.0"}))
    rng = np.random.default_rng(0)
    rec = Recording(data=rng.normal(0, 1e-5, (2, 2500)), sfreq=250.0, ch_names=["Cz", "Pz"],
                    timestamps=np.arange(2500) / 250.0)
    write_recording(rec, root / "sub-01" / "eeg" / "sub-01_task-rest_eeg.xdf")
    monkeypatch.chdir(tmp_path)
    assert main(["report", "bids/sub-01/eeg/sub-01_task-rest_eeg.xdf"]) == 0
    said = "bids/derivatives/biofeedback/sub-01/eeg/sub-01_task-rest_eeg.html"
    assert capsys.readouterr().out == f"report: {said}\n"
    assert (tmp_path / said).is_file()
    # from inside the dataset, the way there and back
    monkeypatch.chdir(root / "sub-01" / "eeg")
    assert main(["report", "sub-01_task-rest_eeg.xdf"]) == 0
    assert capsys.readouterr().out == (
        "report: ../../derivatives/biofeedback/sub-01/eeg/sub-01_task-rest_eeg.html\n")


def _sample_with_sidecar(tmp_path, edit=None, text=None):
    """The shipped sample recording in ``tmp_path``, its sidecar edited or replaced."""
    import json
    import shutil

    from biofeedback._data import data_dir

    src = data_dir("recordings") / "sample_synthetic.xdf"
    fname = tmp_path / src.name
    shutil.copy(src, fname)
    side = json.loads(src.with_suffix(".json").read_text())
    if edit is not None:
        edit(side)
    fname.with_suffix(".json").write_text(text if text is not None else json.dumps(side))
    return fname


def _report_warnings(fname, caplog):
    """Run 'report'; the warnings it logged, and the HTML it wrote."""
    caplog.clear()
    with caplog.at_level("WARNING", logger="biofeedback"):
        assert main(["report", str(fname)]) == 0
    said = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    return said, fname.with_suffix(".html").read_text()


@pytest.mark.parametrize("edit, part", [
    (lambda side: side["summary"].update(latency_ms={"n": 5, "p50": [1], "p99": 2}),
     '"summary.latency_ms.p50" is [1], not a number'),
    (lambda side: side["pipeline"].update(feedback=-3.5),
     '"pipeline.feedback" is -3.5, not a table'),
    (lambda side: side["pipeline"]["features"].update(indices=1e308),
     '"pipeline.features.indices" is 1e+308, not a list of names'),
    (lambda side: side["board_profile"].update(ch_names="Fp1,Fp2"),
     '"board_profile.ch_names" is "Fp1,Fp2", not a list of names'),
    (lambda side: side.update(source=["synthetic"]), '"source" is ["synthetic"], not a table'),
])
def test_a_sidecar_part_of_another_type_is_named_and_left_out(edit, part, tmp_path, caplog):
    """A sidecar edited into another shape made the report a traceback, then a
    report without anything the sidecar held, under a warning that named no part."""
    fname = _sample_with_sidecar(tmp_path, edit)
    said, html = _report_warnings(fname, caplog)
    assert said == [f"The sidecar {fname.with_suffix('.json')} is not of a sidecar's shape: "
                    f"{part}; the report leaves out those parts."]
    # what is of its shape is still reported: the board and software, for one
    assert "Methods (CRED-nf" in html and "Board: synthetic" in html and "numpy " in html


def test_a_sidecar_without_the_parts_of_later_versions_is_read_without_a_word(
        tmp_path, caplog):
    """An older version, or a session killed before its end, wrote fewer parts:
    those are absent, not wrong (a latency without its percentiles failed the
    whole sidecar)."""
    def older(side):
        for key in ("summary", "software", "feedback"):
            del side[key]
        del side["pipeline"]["features"]["indices"]
        side["source"] = {"kind": "BrainFlowSource", "clock_offset": None}

    said, html = _report_warnings(_sample_with_sidecar(tmp_path, older), caplog)
    assert said == [] and "Board: synthetic" in html and "estimate latency" not in html
    said, html = _report_warnings(_sample_with_sidecar(
        tmp_path, lambda side: side["summary"]["latency_ms"].pop("p99")), caplog)
    assert said == [] and "Board: synthetic" in html and "estimate latency" not in html


@pytest.mark.parametrize("text, why", [
    ('{"session_id": "abc", "pipeline": {"featu', "is not valid JSON"),  # cut short
    ("", "is not valid JSON"),
    ('["not", "a", "table"]', 'holds ["not", "a", "table"], not a JSON object'),
])
def test_a_sidecar_that_is_not_a_json_object_is_said_in_one_sentence(text, why, tmp_path,
                                                                      caplog):
    """A cut or emptied sidecar was left out without a word."""
    fname = _sample_with_sidecar(tmp_path, text=text)
    said, html = _report_warnings(fname, caplog)
    assert len(said) == 1 and why in said[0] and "sample_synthetic.json" in said[0], said
    assert said[0].endswith("; the report leaves out what only the sidecar holds.")
    assert "Methods (CRED-nf" in html


@pytest.mark.parametrize("beside", [None, '{"TaskName": "rest", "SamplingFrequency": 250}'])
def test_report_on_a_recording_of_no_session_invents_no_methods(beside, tmp_path, capsys,
                                                                caplog):
    """A FIF from another program (no session sidecar) got a methods section of
    'filters (order None) ... high-pass None Hz' and an LSL clock it never had.
    Beside it, another program's JSON (BIDS's *_eeg.json beside a dataset's
    recording) was said to be a sidecar that 'cannot be read'."""
    import mne

    rng = np.random.default_rng(0)
    raw = mne.io.RawArray(rng.normal(0, 1e-5, (2, 2500)), mne.create_info(
        ["Cz", "Pz"], 250.0, "eeg"), verbose="error")
    fname = tmp_path / "rest_raw.fif"
    raw.save(fname, verbose="error")
    if beside is not None:
        (tmp_path / "rest_raw.json").write_text(beside)
    with caplog.at_level("WARNING", logger="biofeedback"):
        assert main(["report", str(fname)]) == 0
    assert ("rest_raw.fif has no sidecar of a biofeedback session beside it; the report "
            "shows its EEG alone, without estimates, cues or methods.") in caplog.text
    assert "cannot be read" not in caplog.text
    text = (tmp_path / "rest_raw.html").read_text()
    assert "None" not in text and "LSL clock" not in text
    assert ("No sidecar beside rest_raw.fif names the pipeline of a biofeedback session "
            "(rest_raw.json is absent or holds none)") in text
    assert "<td>sidecar</td>" not in text


@pytest.mark.parametrize("where", ["before", "after"])
def test_verbose_is_taken_before_or_after_the_command(where):
    """'biofeedback replay FILE --verbose' was a usage error: only
    'biofeedback --verbose replay FILE' showed the traceback."""
    args = ["replay", "/nonexistent/r.xdf"]
    args = ["--verbose", *args] if where == "before" else [*args, "--verbose"]
    out = _run(*args)
    assert out.returncode == 1
    assert "Traceback" in out.stderr and "RecordingFormatError" in out.stderr
    parser = build_parser()
    assert parser.parse_args(["info", "x.csv"]).verbose is False
    assert parser.parse_args(["-v", "info", "x.csv"]).verbose is True
    assert parser.parse_args(["info", "x.csv", "-v"]).verbose is True


def test_recordings_on_both_sides_of_options_are_read_and_checks_run_once(capsys):
    """train and evaluate take recordings before and after options; each command's
    checks run once, after its arguments are parsed, intermixed or not."""
    import argparse

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    seen = []
    for name in ("train", "evaluate", "progress"):
        commands.choices[name].checks.append(lambda p, args: seen.append(p.prog))
    args = parser.parse_args(["train", "a.xdf", "--out", "m.bfm", "b.xdf", "-v"])
    assert (args.recordings, args.out, args.verbose) == (["a.xdf", "b.xdf"], "m.bfm", True)
    args = parser.parse_args(["evaluate", "r1.xdf", "--model", "m.bfm", "r2.xdf"])
    assert (args.model, args.recordings, args.model_file) == ("r1.xdf", ["r2.xdf"], "m.bfm")
    args = parser.parse_args(["progress", "p01"])
    assert args.participant == "p01"
    assert seen == ["biofeedback train", "biofeedback evaluate", "biofeedback progress"]
    with pytest.raises(SystemExit) as exc:  # argparse's words, as for any command
        parser.parse_args(["train", "a.xdf", "--out", "m.bfm", "--bogus"])
    assert exc.value.code == 2
    assert "biofeedback: error: unrecognized arguments: --bogus" in capsys.readouterr().err


def test_replay_takes_the_format_the_sniffer_asks_for(tmp_path, capsys):
    """'matches no format ... pass --format NAME': replay takes it, as info does."""
    fname = tmp_path / "notes.csv"
    fname.write_text("time,TP9,AF7,AF8,TP10\n" + "1.0,2.0,3.0,4.0,5.0\n" * 600)
    assert main(["replay", str(fname)]) == 1
    assert "to read it as one, pass --format NAME" in capsys.readouterr().err
    assert main(["replay", str(fname), "--format", "muse-csv"]) == 1
    assert capsys.readouterr().err == (
        f"biofeedback: error: {fname}, line 1: a muse-lsl CSV starts with a 'timestamps' "
        "column, found 'time'.\n")


@pytest.mark.parametrize("gapped, n", [(False, 200), (False, 511), (True, 1500)])
def test_a_replay_with_no_window_says_why_and_writes_nothing(tmp_path, capsys, gapped, n):
    """It printed '0 windows' and wrote an empty estimates file, exit 0; a
    sample short of a window was said as '2.00 s, less than one 2 s window'."""
    t = 1.7e9 + np.arange(n) / 256.0
    if gapped:  # 1.2 s stretches between one-second gaps
        t += (np.arange(n) // 300) * 1.0
    rng = np.random.default_rng(0)
    rows = "".join(f"{ti:.6f}," + ",".join(f"{v:.3f}" for v in rng.normal(0, 10, 4)) + ",0\n"
                   for ti in t)
    fname = tmp_path / "short.csv"
    fname.write_text("timestamps,TP9,AF7,AF8,TP10,Right AUX\n" + rows)
    out = tmp_path / "est.csv"
    assert main(["replay", str(fname), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    what = ("is cut by gaps into stretches each shorter than one 2 s window" if gapped else
            f"holds {n} samples ({n / 256:.2f} s), fewer than the 512 of one 2 s window")
    assert err == (f"biofeedback: error: {fname}: no window to estimate, as the recording "
                   f"{what}; record for longer, or replay with --pipeline FILE whose [window] "
                   "length is shorter.\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["short.csv"]


@pytest.mark.parametrize("nan", ["all", "one_per_second", "but_one_second"])
def test_a_replay_with_no_window_of_numbers_says_why_and_writes_nothing(tmp_path, capsys,
                                                                         nan):
    """EEG of NaN (a headset that sent nothing) replayed into windows of NaN
    estimates, all gated, exit 0, and wrote them; a recording whose every
    window holds NaN in every channel gives no usable window either."""
    n = 256 * 20
    rng = np.random.default_rng(0)
    x = rng.normal(0, 10, (n, 4))
    if nan == "all":
        x[:] = np.nan
    elif nan == "one_per_second":
        x[::256] = np.nan
    else:
        x[np.r_[:5000, 5256:n]] = np.nan
    t = 1.7e9 + np.arange(n) / 256.0
    fname = tmp_path / "nan.csv"
    fname.write_text("timestamps,TP9,AF7,AF8,TP10,Right AUX\n" + "".join(
        f"{ti:.6f}," + ",".join(f"{v:.3f}" for v in row) + ",0\n" for ti, row in zip(t, x)))
    out = tmp_path / "est.csv"
    assert main(["replay", str(fname), "--out", str(out)]) == 1
    err = capsys.readouterr().err.splitlines()[-1]
    assert err == (f"biofeedback: error: {fname}: its EEG holds no number (every sample of "
                   "every channel is NaN or inf), so it cannot be cut into windows; the file "
                   "holds no signal." if nan == "all" else
                   f"biofeedback: error: {fname}: no window to estimate, as every 2 s window "
                   "holds NaN or inf samples in every channel; 'biofeedback info FILE' says "
                   "where they are.")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nan.csv"]


def test_convert_names_the_format_it_wrote_not_the_extension(tmp_path, capsys):
    """'convert IN out.dat --format edf' said 'xdf -> dat': the extension, not
    the format --format chose."""
    from biofeedback._data import data_dir

    src = data_dir("recordings") / "sample_synthetic.xdf"
    out = tmp_path / "out.dat"
    assert main(["convert", str(src), str(out), "--format", "edf"]) == 0
    assert "(xdf -> edf," in capsys.readouterr().out
    assert out.read_bytes()[:8] == b"0       "  # an EDF header, whatever the name


@pytest.mark.parametrize("verbose", [False, True])
def test_ctrl_c_while_the_command_loads_is_one_word_without_traceback(verbose):
    """Ctrl-C in the first tenth of a second (while the subcommands' parsers
    were built) printed a traceback of argparse's internals."""
    # a real SIGINT, sent the moment the parser is being built
    argv = ["biofeedback", "boards", *(["-v"] if verbose else [])]
    code = ("import os, signal, sys\n"
            "import biofeedback.cli as cli\n"
            "build = cli.build_parser\n"
            "def interrupted():\n"
            "    os.kill(os.getpid(), signal.SIGINT)\n"
            "    return build()\n"
            "cli.build_parser = interrupted\n"
            f"sys.argv = {argv!r}\n"
            "cli.run()\n")
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    if verbose:
        assert "Traceback" in got.stderr and "KeyboardInterrupt" in got.stderr
    else:
        assert (got.returncode, got.stderr) == (130, "biofeedback: interrupted\n")

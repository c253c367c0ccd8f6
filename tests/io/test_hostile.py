"""Hostile files and options: one clear sentence, exit 1, nothing overwritten.

Beside the bad-input table of the readers (``test_bad_input.py``), this table
runs whole commands on files a careless or hostile user could hand over: a
pipeline with NaN or frequencies above Nyquist, a scenario with NaN, odd XDF
streams, a byte-order mark, a named pipe, a model file that does not fit. Each
row says what must happen. Every command that writes is pointed at an existing
file with ``--overwrite``: when the input is bad that file must stay as it was.
"""

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from biofeedback._xdf_chunks import file_header
from biofeedback.cli import main
from biofeedback.config import default_pipeline_path

PRECIOUS = "do not touch\n"


def _pipeline(tmp, old, new):
    """The default pipeline with one line changed (``old`` must occur once)."""
    text = default_pipeline_path().read_text()
    assert text.count(old) == 1, old
    path = tmp / "p.toml"
    path.write_text(text.replace(old, new))
    return path


def _line_of(path, text):
    return next(i for i, ln in enumerate(Path(path).read_text().splitlines(), 1) if text in ln)


def _scenario(tmp, extra):
    path = tmp / "s.toml"
    path.write_text('name = "s"\nboard = "muse_2"\nduration = 5.0\n' + extra)
    return path


def _xdf(tmp, name, streams):
    """An XDF file with the given (name, ch_names, nominal rate, ts, values µV) streams."""
    from biofeedback._xdf_chunks import footer
    from biofeedback.io._xdf_write import _chunk, _numeric_samples, _stream_xml

    path = tmp / name
    with open(path, "wb") as fid:
        fid.write(file_header())  # magic and FileHeader
        for sid, (sname, ch, sfreq, _, _) in enumerate(streams, 1):
            fid.write(_chunk(2, _stream_xml(sname, "EEG", ch, ["microvolts"] * len(ch),
                                            ["EEG"] * len(ch), sfreq, "double64"), sid))
        for sid, (_, _, _, ts, vals) in enumerate(streams, 1):
            for content in _numeric_samples(ts, vals, 100):
                fid.write(_chunk(3, content, sid))
        for sid, (_, _, _, ts, _) in enumerate(streams, 1):
            fid.write(_chunk(6, footer(float(ts[0]), float(ts[-1]), len(ts), []), sid))
    return path


def _xdf_declaring(path, n_ch=None, n_samples=None, header=None):
    """An XDF file of one 2-channel stream whose header or first Samples chunk lies:
    ``n_ch`` channels in its header, ``n_samples`` samples in the chunk, or
    ``header`` as the header's XML."""
    import struct

    from biofeedback.io._xdf_write import _chunk, _numeric_samples, _stream_xml

    xml = header or _stream_xml("Amp", "EEG", ["Cz", "Pz"], ["microvolts"] * 2,
                                ["EEG"] * 2, 250.0, "double64")
    if n_ch is not None:
        xml = xml.replace(b"<channel_count>2</", f"<channel_count>{n_ch}</".encode())
    content = next(iter(_numeric_samples(np.arange(250) / 250.0, _eeg(250, 2), 250)))
    if n_samples is not None:  # the count is a varlen: size byte, then the value
        content = b"\x08" + struct.pack("<Q", n_samples) + content[1 + content[0]:]
    path.write_bytes(b"XDF:" + _chunk(1, b'<?xml version="1.0"?><info><version>1.0'
                                         b'</version></info>')
                     + _chunk(2, xml, 1) + _chunk(3, content, 1))
    return path


_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY l0 "lol">'
           + b"".join(b'<!ENTITY l%d "%s">' % (i, b"&l%d;" % (i - 1) * 10) for i in range(1, 10))
           + b"]><info><name>&l9;</name><type>EEG</type><channel_count>2</channel_count>"
           b"<nominal_srate>250</nominal_srate><channel_format>double64</channel_format>"
           b"</info>")


def _xdf_markers_only(path, name="Cues", type_="Markers", sfreq=0.0):
    """An XDF file holding one string stream (a recording without its EEG)."""
    from biofeedback._xdf_chunks import footer
    from biofeedback.io._xdf_write import _chunk, _stream_xml, _string_samples

    ts = np.array([1.0, 2.0, 3.0])
    with open(path, "wb") as fid:
        fid.write(file_header())  # magic and FileHeader
        fid.write(_chunk(2, _stream_xml(name, type_, ["cue"], [""], [""], sfreq,
                                        "string"), 1))
        for content in _string_samples(ts, ["a", "b", "c"], 100):
            fid.write(_chunk(3, content, 1))
        fid.write(_chunk(6, footer(1.0, 3.0, 3, []), 1))
    return path


def _eeg(n, n_ch, seed=0):
    return np.random.default_rng(seed).normal(0, 10, (n, n_ch))


#: A Mind Monitor export: its header and 300 rows of raw EEG.
_MIND_MONITOR = "TimeStamp,RAW_TP9,RAW_AF7,RAW_AF8,RAW_TP10,Elements\n" + "".join(
    f"2019-05-07 14:33:12.{i:03d},800,810,820,830,\n" for i in range(300))


@pytest.fixture(scope="module")
def muse_csv(tmp_path_factory):
    """Six seconds of a Muse CSV export."""
    path = tmp_path_factory.mktemp("rec") / "muse.csv"
    rng = np.random.default_rng(1)
    rows = [f"{1.7e9 + i / 256:.6f}," + ",".join(f"{v:.3f}" for v in rng.normal(0, 10, 4))
            + ",0.5" for i in range(6 * 256)]
    path.write_text("timestamps,TP9,AF7,AF8,TP10,Right AUX\n" + "\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def model_file(tmp_path_factory, muse_dir):
    """A real model trained on two shared Muse recordings."""
    from biofeedback.training import extract_dataset, fit_model, label_files, save_model

    files = label_files([muse_dir / "subjecta-relaxed-1.csv",
                         muse_dir / "subjecta-concentrating-1.csv"])
    model = fit_model(extract_dataset(files, n_jobs=1))
    return save_model(model, tmp_path_factory.mktemp("model") / "m.bfm")


def _edit_model(src, dst, edit):
    with zipfile.ZipFile(src) as zf:
        meta = json.loads(zf.read("meta.json"))
        estimator = {n: zf.read(n) for n in zf.namelist() if n != "meta.json"}
    edit(meta)
    with zipfile.ZipFile(dst, "w") as zf:
        zf.writestr("meta.json", json.dumps(meta))
        for name, blob in estimator.items():
            zf.writestr(name, blob)
    return dst


def _drop_features(meta):
    meta["feature_names"] = meta["feature_names"][:-3]


def _replay_with_pipeline(old, new):
    """``replay`` with the default pipeline's line ``old`` changed to ``new``."""
    return lambda t, c: ["replay", c["csv"], "--pipeline", str(_pipeline(t, old, new)),
                         "--out", c["out"], "--overwrite"]


# (id, line of the default pipeline, what it becomes, the error message's regex)
PIPELINE_CASES = [
    ("pipeline_nan_length", "length = 2.0", "length = nan",
     r"p\.toml, line 9 \[window\] length must be a finite number, got nan"),
    ("pipeline_nan_highpass", "highpass = 1.0 ", "highpass = nan ",
     r"line 13 \[preprocessing\] highpass must be a finite number"),
    ("pipeline_inf_gate", "max_ptp_uv = 150.0", "max_ptp_uv = inf",
     r"\[gates\] max_ptp_uv must be a finite number, got inf"),
    ("pipeline_nan_smoothing", "smoothing = 1.0 ", "smoothing = nan ",
     r"\[feedback\] smoothing must be a finite number"),
    ("welch_segment_longer_than_window", "welch_segment = 1.0 ", "welch_segment = 4.0 ",
     r"line 27 \[features\] welch_segment: a Welch segment of 4 s is longer "
     r"than the 2 s window"),
    ("lowpass_above_nyquist", "lowpass = 45.0 ", "lowpass = 200.0 ",
     r"line 14 \[preprocessing\] lowpass: a 200 Hz low-pass is at or above the "
     r"Nyquist frequency \(128 Hz for data at 256 Hz\)"),
    ("notch_above_nyquist", 'notch = "auto"', "notch = 150.0",
     r"\[preprocessing\] notch: a 150 Hz notch is at or above the Nyquist"),
    ("pipeline_typo_section", "[window]", "[windw]",
     r"p\.toml, line 8: unknown table \[windw\]; allowed keys are board, "),
    ("pipeline_typo_subsection", "[feedback.audio]", "[feedback.adio]",
     r"p\.toml, line 93 \[feedback\]: unknown table \[feedback\.adio\]; allowed keys"),
    ("band_above_nyquist", "gamma = [30.0, 45.0]", "gamma = [130.0, 140.0]",
     r"\[features\.bands\] gamma: band 'gamma' \(130 Hz and up\) is at or above"),
    # its top was cut at Nyquist without a word: the band's power silently changed
    ("band_high_edge_above_nyquist", "gamma = [30.0, 45.0]", "gamma = [30.0, 140.0]",
     r"\[features\.bands\] gamma: band 'gamma' \(30-140 Hz\) reaches above the Nyquist "
     r"frequency \(128 Hz for data at 256 Hz\); lower its high edge to 128 Hz or less\."),
    # the same for the range of total power and the gates' ranges, which were cut too
    ("spectral_range_high_edge_above_nyquist", "spectral_range = [1.0, 45.0]",
     "spectral_range = [1.0, 200.0]",
     r"p\.toml, line 30 \[features\] spectral_range: the spectral range \(1-200 Hz\) "
     r"reaches above the Nyquist frequency \(128 Hz for data at 256 Hz\); lower its high "
     r"edge to 128 Hz or less\."),
    ("gate_range_high_edge_above_nyquist", "muscle_high = [20.0, 45.0]",
     "muscle_high = [20.0, 150.0]",
     r"p\.toml, line 61 \[gates\] muscle_high: the range muscle_high \(20-150 Hz\) "
     r"reaches above the Nyquist frequency \(128 Hz for data at 256 Hz\); lower its high "
     r"edge to 128 Hz or less\."),
    # numbers that size buffers: refused before anything is allocated
    ("bad_channel_after_1e12_s", "bad_channel_after = 10.0", "bad_channel_after = 1e12",
     r"p\.toml, line \d+ \[gates\]: bad_channel_after must be 0 \(off\) to 3600 seconds, "
     r"got 1e\+12\."),
    # the hop was named as the window's length, and nothing said what to give
    ("hop_under_a_sample", "hop = 0.5 ", "hop = 0.001 ",
     r"p\.toml, line 10 \[window\] hop: a 0\.001 s hop holds less than 1 sample at 256 Hz; "
     r"make it at least 0\.00390625 s\."),
    ("welch_overlap_rounding_to_the_segment", "welch_overlap = 0.5", "welch_overlap = 0.9999",
     r"line 28 \[features\] welch_overlap: an overlap of 0\.9999 leaves no step between "
     r"Welch segments of 256 samples at 256 Hz; lower it\."),
]


# Each case: (id, make(tmp, ctx) -> argv, expected). ``ctx`` holds "csv" (a
# readable recording), "model" and "out" (an existing file holding PRECIOUS).
# expected: ("error", regex) -> exit 1, one line on stderr matching regex, no
# traceback, "out" untouched; ("ok", regex) -> exit 0, regex in stdout+stderr.
CASES = [(name, _replay_with_pipeline(old, new), ("error", message))
         for name, old, new, message in PIPELINE_CASES] + [
    ("live_window_of_1e12_s",  # its buffers and warm-up would take petabytes
     lambda t, c: ["live", "--pipeline", str(_pipeline(t, "length = 2.0", "length = 1e12")),
                   "--duration", "1", "--no-record"],
     ("error", r"p\.toml, line 8 \[window\]: length \(1e\+12 s\) is longer than the 600 s "
               r"a window may last\.")),
    ("scenario_nan_duration",
     lambda t, c: ["simulate", str(_write(t / "s.toml", 'name = "s"\nboard = "muse_2"\n'
                                                      'duration = nan\n')),
                   "--out", c["out_xdf"], "--overwrite"],
     ("error", r"s\.toml, line 3 duration must be a finite number, got nan")),
    ("scenario_profile_at_1e12_hz",  # its buffers would take terabytes
     lambda t, c: ["simulate", str(_scenario(t, "").parent / _write(
         t / "s2.toml", f'name = "s"\nboard = "{_write(t / "fast.toml", _fast_profile())}"\n'
                        'duration = 5.0\n').name), "--out", c["out_xdf"], "--overwrite"],
     ("error", r"fast\.toml: sfreq must be 0 \(the stream's own\) to 100000 Hz, got 1e\+12\.")),
    ("simulate_out_unknown_extension",
     lambda t, c: ["simulate", "demo", "--out", str(t / "demo.mat")],
     ("error", r"demo\.mat: cannot tell the format from the extension '\.mat'; use one of "
               r"\.xdf, ")),
    ("convert_out_unknown_extension_before_reading",
     lambda t, c: ["convert", c["csv"], str(t / "x.bdf")],
     ("error", r"x\.bdf: cannot tell the output format from the extension '\.bdf'; end "
               r"the name with \.xdf, \.fif, \.edf, \.csv, \.tsv, or pass --format")),
    ("scenario_nan_drift",
     lambda t, c: ["simulate", str(_scenario(t, "[faults]\ndrift_ppm = nan\n")), "--out",
                   c["out_xdf"], "--overwrite"],
     ("error", r"s\.toml, line 5 \[faults\] drift_ppm must be a finite number")),
    ("xdf_irregular_eeg_regular_stamps",
     lambda t, c: ["replay", str(_xdf(t, "irr.xdf", [("Irr", ["Cz", "Pz"], 0.0,
                                                      np.arange(1500) / 250.0,
                                                      _eeg(1500, 2))]))],
     ("ok", r"declares no rate \(irregular.*read at their rate, 250 Hz|windows")),
    ("xdf_irregular_eeg_uneven_stamps",
     lambda t, c: ["replay", str(_xdf(t, "uneven.xdf", [
         ("Irr", ["Cz", "Pz"], 0.0,
          np.cumsum(np.random.default_rng(0).uniform(0.001, 0.01, 1500)),
          _eeg(1500, 2))])), "--out", c["out"], "--overwrite"],
     ("error", r"uneven\.xdf: its EEG stream .Irr. declares no sampling rate")),
    ("xdf_two_eeg_streams",
     lambda t, c: ["info", str(_xdf(t, "two.xdf", [
         ("A", ["Cz", "Pz"], 250.0, np.arange(1500) / 250.0, _eeg(1500, 2)),
         ("B", ["C3", "C4", "O1"], 250.0, np.arange(1000) / 250.0, _eeg(1000, 3))]))],
     ("ok", r"2 EEG streams; read 'A' .*--stream NAME .*'B'")),
    ("xdf_no_stream_typed_eeg",
     lambda t, c: ["replay", str(_write_bytes(t / "exg.xdf", _xdf(t, "src.xdf", [
         ("Amp", ["Cz", "Pz"], 250.0, np.arange(1500) / 250.0, _eeg(1500, 2))])
         .read_bytes().replace(b"<type>EEG</type>", b"<type>EXG</type>")))],
     ("error", r"exg\.xdf: no EEG stream \(type 'EEG'\) in this XDF file; its numeric "
               r"streams are 'Amp' \(read one as EEG with --stream NAME")),
    ("xdf_without_clock_offsets_says_what_that_means",
     lambda t, c: ["info", str(_xdf(t, "noclock.xdf", [
         ("A", ["Cz", "Pz"], 250.0, np.arange(1500) / 250.0, _eeg(1500, 2))]))],
     ("ok", r"1 stream holds no clock offsets \('A'; the recorder did not write "
            r"them\), so its timestamps are taken as recorded")),
    ("xdf_markers_only",
     lambda t, c: ["replay", str(_xdf_markers_only(t / "markers.xdf"))],
     ("error", r"markers\.xdf: this XDF file holds no signal, only 1 string \(marker\) "
               r"stream \('Cues'\); the EEG stream was not recorded")),
    ("xdf_eeg_stamped_in_unix_milliseconds",  # a JavaScript sender's Date.now()
     lambda t, c: ["replay", str(_xdf(t, "js.xdf", [
         ("JS", ["Cz", "Pz"], 250.0, (1.7e9 + np.arange(1500) / 250.0) * 1000.0,
          _eeg(1500, 2))]))],
     ("ok", r"(?s)\d+ windows.*stamped with Unix time in milliseconds")),
    ("xdf_eeg_sent_as_strings",  # a sender that formats its samples as text
     lambda t, c: ["replay", str(_xdf_markers_only(t / "text.xdf", "Amp", "EEG", 250.0))],
     ("error", r"text\.xdf: the EEG stream 'Amp' was sent as strings \(channel format "
               r"string\), not numbers, .*have the streaming app send EEG as numbers")),
    ("xdf_cut_mid_chunk_replay_says_so",
     lambda t, c: ["replay", str(_write_bytes(t / "cut.xdf", _xdf(t, "whole.xdf", [
         ("Amp", ["Cz", "Pz"], 250.0, np.arange(1500) / 250.0, _eeg(1500, 2))])
         .read_bytes()[:-700]))],
     ("ok", r"(?s)\d+ windows.*warning: The file ends inside a \w+ chunk")),
    ("xdf_two_eeg_streams_pick_other",
     lambda t, c: ["replay", str(_xdf(t, "two.xdf", [
         ("A", ["Cz", "Pz"], 250.0, np.arange(1500) / 250.0, _eeg(1500, 2)),
         ("B", ["C3", "C4", "O1"], 250.0, np.arange(1000) / 250.0, _eeg(1000, 3))])),
         "--stream", "B"],
     ("ok", r"\d+ windows")),
    ("xdf_chunk_declares_1e13_channels",  # pyxdf would allocate what it declares
     lambda t, c: ["info", str(_xdf_declaring(t / "wide.xdf", n_ch=10**13))],
     ("error", r"wide\.xdf: the Samples chunk at byte \d+ declares 250 samples of "
               r"10000000000000 channels in \d+ bytes; the file is damaged or was made to "
               r"exhaust memory\.")),
    ("xdf_chunk_declares_1e9_samples",
     lambda t, c: ["replay", str(_xdf_declaring(t / "long.xdf", n_samples=10**9)),
                   "--out", c["out"], "--overwrite"],
     ("error", r"long\.xdf: the Samples chunk at byte \d+ declares 1000000000 samples of 2 "
               r"channels in \d+ bytes")),
    ("xdf_header_billion_laughs",  # expat refuses the entity expansion
     lambda t, c: ["info", str(_xdf_declaring(t / "laughs.xdf", header=_LAUGHS))],
     ("error", r"laughs\.xdf: pyxdf could not read this XDF file \(ParseError: limit on "
               r"input amplification factor")),
    ("xdf_header_external_entity",  # never read from disk
     lambda t, c: ["info", str(_xdf_declaring(t / "ext.xdf", header=_LAUGHS.replace(
         b'"lol">', b'SYSTEM "file:///etc/hostname">').replace(b"&l9;", b"&l0;")))],
     ("error", r"ext\.xdf: pyxdf could not read this XDF file \(ParseError")),
    ("csv_line_of_3_mb",  # never buffered whole, nor handed to loadtxt as text
     lambda t, c: ["info", str(_write_bytes(t / "long.csv", Path(c["csv"]).read_bytes()
                                            + b"1.0," * (3 * 2**18)))],
     ("error", r"long\.csv, line 1538: the line is longer than 1024 kB, which no "
               r"recording's row or header is; the file is not a recording, or is damaged\.")),
    ("csv_header_line_of_3_mb",
     lambda t, c: ["info", str(_write_bytes(t / "head.csv", b"timestamps," + b"x," * 2**20
                                            + b"\n1,2\n"))],
     ("error", r"head\.csv, line 1: the line is longer than 1024 kB")),
    ("mind_monitor_line_of_3_mb",  # read a bounded line at a time, as the text reader
     lambda t, c: ["convert", str(_write(t / "mindMonitor_2019-05-07.csv", _MIND_MONITOR
                                         + "1," * (3 * 2**19) + "\n")),
                   c["out_xdf"], "--overwrite"],
     ("error", r"mindMonitor_2019-05-07\.csv, line 302: the line is longer than 1024 kB, "
               r"which no recording's row or header is; the file is not a recording, or is "
               r"damaged\.")),
    ("mind_monitor_header_of_3_mb",
     lambda t, c: ["info", str(_write(t / "mindMonitor_2019-05-08.csv", _MIND_MONITOR.replace(
         ",Elements", ",Elements" + ",x" * (3 * 2**19), 1)))],
     ("error", r"mindMonitor_2019-05-08\.csv, line 1: the line is longer than 1024 kB")),
    ("csv_of_5000_columns",
     lambda t, c: ["info", str(_write(t / "wide.csv", "timestamps," + ",".join(
         f"c{i}" for i in range(5000)) + "\n" + "".join(
         f"{r / 256}," + ",".join("1.5" for _ in range(5000)) + "\n" for r in range(512))))],
     ("error", r"wide\.csv, line 2: the table has 5001 columns, more than the 4096 a "
               r"recording may have")),
    ("xdf_sidecar_nested_too_deep",  # a RecursionError no more
     lambda t, c: [_write(t / "deep.json", "[" * 100_000 + "]" * 100_000) and "info",
                   str(_xdf(t, "deep.xdf", [("A", ["Cz", "Pz"], 250.0,
                                             np.arange(1500) / 250.0, _eeg(1500, 2))]))],
     ("ok", r"The sidecar deep\.json is not valid JSON \(JSON nested too deeply to read\)")),
    ("xdf_sidecar_of_20_mb",  # never read whole
     lambda t, c: [_write(t / "big.json", " " * (20 * 2**20) + "{}") and "info",
                   str(_xdf(t, "big.xdf", [("A", ["Cz", "Pz"], 250.0,
                                           np.arange(1500) / 250.0, _eeg(1500, 2))]))],
     ("ok", r"The sidecar big\.json is not valid JSON \(20 MB, more than the 16 MB a "
            r"sidecar may hold\)")),
    ("openbci_bom_crlf",
     lambda t, c: ["info", str(_write_bytes(
         t / "OpenBCI-RAW-bom.txt",
         b"\xef\xbb\xbf" + _crlf((Path(c["shared"]) / "openbci-gui"
                                  / "OpenBCI-RAW-EyesClosed.txt").read_bytes())))],
     ("ok", r"read as:\s+openbci-txt")),
    ("openbci_unknown_board",
     lambda t, c: ["info", str(_write_bytes(
         t / "OpenBCI-RAW-foo.txt", (Path(c["shared"]) / "openbci-gui"
                                     / "OpenBCI-RAW-EyesClosed.txt").read_bytes().replace(
             b"%\r\n", b"%Board = OpenBCI_GUI$BoardFooBar\r\n", 1)))],
     ("ok", r"OpenBCI-RAW-foo\.txt: the header names the board 'BoardFooBar', which this "
            r"reader does not know; it is read with the 'cyton' profile \(choose another "
            r"with --profile NAME")),
    ("model_feature_count_replay",
     lambda t, c: ["replay", c["csv"], "--model",
                   str(_edit_model(c["model"], t / "bad.bfm", _drop_features)), "--out",
                   c["out"], "--overwrite"],
     ("error", r"bad\.bfm: its classifier reads 20 features but the file lists 17")),
    ("model_feature_count_evaluate",
     lambda t, c: ["evaluate", str(_edit_model(c["model"], t / "bad.bfm", _drop_features)),
                   c["csv"]],
     ("error", r"bad\.bfm: its classifier reads 20 features")),
    ("evaluate_every_window_gated",
     lambda t, c: ["evaluate", str(c["model"]), str(_loud_copy(c["csv"], t / "s1-relaxed-1.csv")),
                   "-q", "--n-jobs", "1"],
     ("error", r"Every window of s1-relaxed-1\.csv is gated by the quality gates; look "
               r"at them with 'biofeedback info FILE' \(flat, railed or empty channels\), or "
               r"pass --gated include \(gated='include' in Python\) to use the gated windows "
               r"anyway\.")),
    ("evaluate_one_state_recording_too_short",
     lambda t, c: ["evaluate", str(c["model"]),
                   str(_write_bytes(t / "s1-relaxed-1.csv", Path(c["csv"]).read_bytes())),
                   "-q", "--n-jobs", "1"],
     ("error", r"No recording is longer than 20 s plus a window: one-state recordings are "
               r"scored after their first 20 s")),
    ("model_rate_replay",
     lambda t, c: ["replay", str(_xdf(t, "r250.xdf", [
         ("Amp", ["TP9", "AF7", "AF8", "TP10"], 250.0, np.arange(1500) / 250.0,
          _eeg(1500, 4))])), "--model", str(c["model"]), "--out", c["out"], "--overwrite"],
     ("error", r"r250\.xdf: The model m\.bfm was trained at 256 Hz but the data are sampled "
               r"at 250 Hz; a model reads data at the rate it was trained at: use one trained "
               r"on recordings at 250 Hz\.")),
    ("model_rate_evaluate",
     lambda t, c: ["evaluate", str(c["model"]), str(_xdf(t, "s1-relaxed-1.xdf", [
         ("Amp", ["TP9", "AF7", "AF8", "TP10"], 250.0, np.arange(7500) / 250.0,
          _eeg(7500, 4))])), "-q", "--n-jobs", "1"],
     ("error", r"The model m\.bfm was trained at 256 Hz but the data of \S+s1-relaxed-1\.xdf "
               r"are sampled at 250 Hz; .* use one trained on recordings at 250 Hz\.")),
    ("replay_out_exists",
     lambda t, c: ["replay", c["csv"], "--out", c["out"]],
     ("error", r"exists; pass --overwrite to replace it")),
    ("replay_out_is_a_folder",
     lambda t, c: ["replay", c["csv"], "--out", str(t)],
     ("error", r"is a folder; name a file")),
]


def _fast_profile():
    """The shipped Muse 2 profile, renamed, at 10¹² Hz."""
    from biofeedback.hardware import get_profile

    text = Path(get_profile("muse_2").fname).read_text()
    assert text.count("sfreq = 256.0") == 1
    return text.replace("sfreq = 256.0", "sfreq = 1e12").replace('name = "muse_2"',
                                                                 'name = "fast"')


def _loud_copy(src, dst):
    """``src`` (a Muse CSV) with every EEG value far beyond the gates' peak-to-peak."""
    lines = Path(src).read_text().splitlines()
    rows = [ln.split(",") for ln in lines[1:]]
    for i, r in enumerate(rows):
        r[1:5] = [f"{(-1) ** (i // 128) * 900.0:.1f}"] * 4  # a 1 Hz square wave
    dst.write_text("\n".join([lines[0], *(",".join(r) for r in rows)]) + "\n")
    return dst


def _crlf(raw):
    return raw if b"\r\n" in raw else raw.replace(b"\n", b"\r\n")


def _write(path, text):
    path.write_text(text)
    return path


def _write_bytes(path, data):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case, make, expected", CASES, ids=[c[0] for c in CASES])
def test_hostile_table(tmp_path, capsys, muse_csv, model_file, shared_data, case, make,
                       expected):
    out = tmp_path / "existing.csv"
    out.write_text(PRECIOUS)
    out_xdf = tmp_path / "existing.xdf"
    out_xdf.write_text(PRECIOUS)
    ctx = {"csv": str(muse_csv), "model": model_file, "out": str(out),
           "out_xdf": str(out_xdf), "shared": str(shared_data)}
    argv = make(tmp_path, ctx)
    capsys.readouterr()
    code = main(argv)
    cap = capsys.readouterr()
    assert "Traceback" not in cap.err + cap.out
    kind, pattern = expected
    if kind == "error":
        assert code == 1, cap
        assert cap.err.count("\n") == 1 and cap.err.startswith("biofeedback: error: "), cap.err
        assert re.search(pattern, cap.err), cap.err
        # bad input never touches an existing output, nor leaves a temporary file
        assert out.read_text() == PRECIOUS and out_xdf.read_text() == PRECIOUS
        assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
    else:
        assert code == 0, cap
        assert re.search(pattern, cap.out + cap.err), cap.out + cap.err


def test_nan_pipeline_line_numbers_are_the_files():
    """The line numbers the table expects are those of the shipped pipeline."""
    path = default_pipeline_path()
    assert _line_of(path, "length = 2.0") == 9
    assert _line_of(path, "highpass = 1.0") == 13
    assert _line_of(path, "lowpass = 45.0") == 14
    assert _line_of(path, "welch_segment = 1.0") == 27


def test_replay_overwrite_replaces_only_on_success(tmp_path, muse_csv):
    out = tmp_path / "est.csv"
    out.write_text(PRECIOUS)
    assert main(["replay", str(muse_csv), "--out", str(out), "--overwrite"]) == 0
    assert out.read_text().startswith("t_end,")
    assert (tmp_path / "est.csv.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["est.csv", "est.csv.json"]


def test_convert_takes_the_stream_the_reader_asks_for(tmp_path, capsys):
    """Of an XDF file with two EEG streams the warning says 'pass --stream
    NAME': convert takes it, and refuses it with a BIDS export, where it
    could not apply to every file."""
    from biofeedback.io import read_recording

    src = _xdf(tmp_path, "two.xdf", [
        ("A", ["Cz", "Pz"], 250.0, np.arange(1500) / 250.0, _eeg(1500, 2)),
        ("B", ["C3", "C4", "O1"], 250.0, np.arange(1000) / 250.0, _eeg(1000, 3, seed=1))])
    assert main(["convert", str(src), str(tmp_path / "a.fif")]) == 0
    said = capsys.readouterr()  # warnings on stderr, as replay says them; the result on stdout
    assert "--stream NAME" in said.err and said.out.startswith("wrote ")
    assert main(["convert", str(src), str(tmp_path / "b.fif"), "--stream", "B"]) == 0
    back = read_recording(tmp_path / "b.fif")
    assert back.ch_names == ["C3", "C4", "O1"] and back.n_times == 1000
    np.testing.assert_allclose(back.data, read_recording(src, stream="B").data)
    capsys.readouterr()
    assert main(["convert", str(src), "--stream", "B", "--bids-root",
                 str(tmp_path / "bids")]) == 1
    assert "--stream picks the EEG stream of one file" in capsys.readouterr().err
    assert not (tmp_path / "bids").exists()


def test_outputs_are_readable_as_a_plain_open_makes_them(tmp_path):
    """Moved into place from a temporary file, an output keeps 0666 less the umask."""
    from biofeedback._outputs import _umask, atomic_output

    with atomic_output(tmp_path / "est.csv") as tmp:
        tmp.write_text("t_end\n")
    plain = tmp_path / "plain.csv"
    plain.write_text("t_end\n")
    assert (tmp_path / "est.csv").stat().st_mode & 0o777 == 0o666 & ~_umask()
    assert (tmp_path / "est.csv").stat().st_mode & 0o777 == plain.stat().st_mode & 0o777


def test_fifo_is_refused_at_once(tmp_path):
    fifo = tmp_path / "stream.csv"
    os.mkfifo(fifo)
    proc = subprocess.run([sys.executable, "-m", "biofeedback.cli", "info", str(fifo)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "not a regular file" in proc.stderr and "Traceback" not in proc.stderr


def test_info_into_a_closed_pipe_is_quiet(shared_data):
    """``biofeedback info FILE | head -1``: the reader leaves; no BrokenPipe traceback."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "biofeedback.cli", "info",
             str(shared_data / "openbci-gui" / "OpenBCI-RAW-EyesOpen.txt")],
            stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write_end)
    assert proc.stderr == ""
    assert proc.returncode == 141


def test_model_brings_no_outputs(tmp_path, model_file, caplog):
    """A model's pipeline may not choose where to record, write or send."""
    from biofeedback.training import load_model

    def hostile(meta):
        pipe = meta["pipeline"]
        pipe["recording"] = {"enabled": True, "dir": str(tmp_path / "elsewhere")}
        pipe["feedback"]["sinks"] = ["osc", "audio"]
        pipe["feedback"]["osc"] = {"host": "203.0.113.7", "port": 9000, "prefix": "/x"}
        pipe["feedback"]["audio"]["wav"] = str(tmp_path / "victim.txt")
        pipe["board"] = str(tmp_path / "profile.toml")  # a file to read, by its path

    bad = _edit_model(model_file, tmp_path / "hostile.bfm", hostile)
    with caplog.at_level("WARNING", logger="biofeedback"):
        model = load_model(bad)
    cfg = model.config
    assert cfg.recording.dir == "recordings"
    assert cfg.feedback.sinks == ("terminal", "lsl")
    assert cfg.feedback.osc.host == "127.0.0.1"
    assert cfg.feedback.audio.wav == ""
    assert cfg.board == "synthetic"
    assert model.ignored_outputs == ["board", "[recording] dir", "[feedback] sinks",
                                     "[feedback.osc]", "[feedback.audio] wav"]
    assert "ignored" in caplog.text
    # what it computes is kept
    assert cfg.features == load_model(model_file).config.features


def test_info_flags_a_railed_channel_of_a_live_recording(tmp_path):
    """A live session's sidecar names the board under "board_profile"."""
    from biofeedback.hardware import get_profile
    from biofeedback.io import Recording, read_recording, write_recording

    prof = get_profile("cyton")
    n = 1000
    data = np.random.default_rng(0).normal(0, 20e-6, (len(prof.ch_names), n))
    data[2] = -prof.rail_uv * 1e-6  # pinned at the negative rail
    rec = Recording(data=data, sfreq=prof.sfreq, ch_names=list(prof.ch_names),
                    timestamps=np.arange(n) / prof.sfreq)
    rec.provenance["sidecar"] = {"session_id": "x", "board_profile": prof.to_dict()}
    fname = write_recording(rec, tmp_path / "live.xdf")
    back = read_recording(fname)
    assert back.profile == "cyton"
    railed = rf"\d+ railed channels? \(([^)]*, )?{prof.ch_names[2]}\b"
    assert any(re.search(railed, w) for w in back.warnings)


def test_info_lists_markers_of_any_text_one_line_each(tmp_path, capsys):
    """A marker is any text its sender chose (an also-recorded stream): a
    line break split the listing, and an escape sequence reached the
    terminal, which it can clear or retitle."""
    from biofeedback.io import Recording, write_recording

    n = 1000
    rec = Recording(data=np.random.default_rng(0).normal(0, 20e-6, (2, n)), sfreq=250.0,
                    ch_names=["Cz", "Pz"], timestamps=np.arange(n) / 250.0,
                    markers=[(0.5, "a\nb"), (1.0, "\x1b[2Jcleared"), (1.5, "x" * 5000)])
    fname = write_recording(rec, tmp_path / "odd.xdf")
    assert main(["info", str(fname)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    listed = out.split("markers:", 1)[1].splitlines()[1:4]
    assert [ln.split()[1][:9] for ln in listed] == ["a?b", "?[2Jclear", "xxxxxxxxx"]
    assert len(listed[2]) < 250


@pytest.mark.lsl
def test_live_options_that_cannot_work_say_why(tmp_path, capsys, uid):
    """--recordings naming a file, --also-record matching nothing, a stream of
    another layout than --board: one sentence each, no traceback."""
    import pylsl

    afile = tmp_path / "afile"
    afile.write_text(PRECIOUS)
    info = pylsl.StreamInfo(f"eight-{uid}", "EEG", 8, 250.0, "float32", f"eight-{uid}")
    outlet = pylsl.StreamOutlet(info)  # noqa: F841 - kept open while resolving
    cases = [
        (["live", "--duration", "2", "--view", "none", "--recordings", str(afile)],
         r"afile is a file; recordings go into a folder"),
        (["live", "--duration", "2", "--view", "none", "--recordings", str(tmp_path / "r"),
          "--also-record", f"type='NoSuch{uid}'"],
         rf"No LSL stream matches \"type='NoSuch{uid}'\""),
        (["live", "--lsl", f"eight-{uid}", "--board", "muse_2", "--duration", "2",
          "--view", "none", "--no-record"],
         r"has 8 channels but the 'muse_2' profile has 4"),
    ]
    for argv, pattern in cases:
        capsys.readouterr()
        assert main(argv) == 1, argv
        err = capsys.readouterr().err
        assert "Traceback" not in err and re.search(pattern, err), err
    assert afile.read_text() == PRECIOUS
    # the recording's name was reserved, then given back when the recorder failed
    assert not list((tmp_path / "r").glob("*.xdf"))


def test_sessions_started_in_the_same_second_get_two_files(tmp_path):
    from biofeedback.recorder import session_filename

    first = session_filename(tmp_path / "recs", "synthetic")
    second = session_filename(tmp_path / "recs", "synthetic")
    assert first != second and first.exists() and second.exists()  # each one reserved


def test_bids_export_without_mne_bids_says_what_to_install(tmp_path, capsys, monkeypatch,
                                                           muse_csv):
    monkeypatch.setitem(sys.modules, "mne_bids", None)  # as if not installed
    capsys.readouterr()
    assert main(["convert", str(muse_csv), "--bids-root", str(tmp_path / "bids")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and 'pip install "biofeedback[bids]"' in err
    assert not (tmp_path / "bids").exists() or not any((tmp_path / "bids").rglob("*.edf"))


def test_a_pipeline_never_replaces_an_existing_cue_wav(tmp_path, capsys):
    victim = tmp_path / "notes.txt"
    victim.write_text(PRECIOUS)
    text = default_pipeline_path().read_text()
    text = text.replace('sinks = ["terminal", "lsl"]', 'sinks = ["terminal", "lsl", "audio"]')
    text = text.replace('wav = ""', f'wav = "{victim}"')
    pipe = tmp_path / "p.toml"
    pipe.write_text(text)
    capsys.readouterr()
    assert main(["live", "--pipeline", str(pipe), "--duration", "2", "--no-record",
                 "--view", "none"]) == 1
    err = capsys.readouterr().err
    assert re.search(r"p\.toml, line \d+ \[feedback\.audio\] wav: .*notes\.txt exists", err), err
    assert victim.read_text() == PRECIOUS


def test_a_writer_failing_half_way_leaves_the_old_file_whole(tmp_path, monkeypatch, muse_csv):
    from biofeedback.io import _xdf_write, read_recording, write_recording

    out = tmp_path / "out.xdf"
    out.write_text(PRECIOUS)
    rec = read_recording(muse_csv)

    def broken(*args, **kwargs):
        yield b"\x01"  # some bytes reach the file, then the disk fills up
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_xdf_write, "_numeric_samples", broken)
    with pytest.raises(OSError, match="No space left"):
        write_recording(rec, out, overwrite=True)
    assert out.read_text() == PRECIOUS
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.xdf"]
    monkeypatch.undo()
    write_recording(rec, out, overwrite=True)  # and when it works, it replaces
    assert read_recording(out).n_times == rec.n_times

"""Muse CSV readers on the shared muse-lsl recordings and generated files."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from biofeedback.errors import RecordingFormatError
from biofeedback.io import read_recording


def test_muse_lsl_real_file(shared_io):
    fname = shared_io / "muse-mental-state" / "subjecta-relaxed-1.csv"
    rec = read_recording(fname)
    assert rec.source_format == "muse-csv"
    assert rec.ch_names == ["TP9", "AF7", "AF8", "TP10"]
    assert rec.sfreq == 256.0
    assert rec.profile == "muse_2016"
    assert rec.data.flags.c_contiguous and rec.data.dtype == np.float64
    # First line: 1533059192.499,30.762,15.625,29.785,0.977,0.977 (µV -> V)
    assert_allclose(rec.data[:, 0], [30.762e-6, 15.625e-6, 29.785e-6, 0.977e-6])
    assert rec.timestamps[0] == pytest.approx(1533059192.499)
    assert rec.provenance["dropped_columns"] == ["Right AUX"]
    assert "aux" in rec.streams
    assert abs(rec.provenance["measured_sfreq"] - 256) < 2.56
    assert rec.gaps == []


def test_every_shared_muse_file_reads(shared_io):
    files = sorted((shared_io / "muse-mental-state").glob("*.csv"))
    assert files
    for fname in files:
        rec = read_recording(fname)
        assert rec.n_times > 256 * 30, fname


def test_muse_csv_gap_and_marker_column(tmp_path):
    ts = 1.7e9 + np.arange(512) / 256.0
    ts[300:] += 0.5  # 128 samples lost
    lines = ["timestamps,TP9,AF7,AF8,TP10,Right AUX,Marker0"]
    for i, t in enumerate(ts):
        lines.append(f"{t:.6f},1,2,3,{i % 7},0,{1 if i == 100 else 0}")
    fname = tmp_path / "m.csv"
    fname.write_text("\n".join(lines) + "\n")
    rec = read_recording(fname)
    assert [(g.n_missing, g.source) for g in rec.gaps] == [(128, "timestamps")]
    assert rec.markers == [(pytest.approx(ts[100]), "Marker0=1")]
    assert "3 flat channels (TP9, AF7, AF8)" in " ".join(rec.warnings)


@pytest.mark.parametrize("end", ["\n", "\r\n"])
def test_muse_csv_text_markers(tmp_path, end):
    """muse-lsl writes a marker stream's values as they came: a PsychoPy
    stream's text lands in Marker0 (pandas writes 0 elsewhere), in any
    language. Such a file reads, its markers as text, numbers as before."""
    ts = 1.7e9 + np.arange(1024) / 256.0
    marks = {100: "stim_on", 300: "Müde – Pause", 700: "2.000"}
    lines = ["timestamps,TP9,AF7,AF8,TP10,Right AUX,Marker0,Marker1"]
    for i, t in enumerate(ts):
        lines.append(f"{t:.6f},{i % 5},2,3,{i % 7},0,{marks.get(i, 0)},"
                     f"{'x' if i == 900 else '0.0'}")
    fname = tmp_path / "m.csv"
    fname.write_bytes((end.join(lines) + end).encode())
    rec = read_recording(fname)
    assert rec.ch_names == ["TP9", "AF7", "AF8", "TP10"]
    assert rec.n_times == 1024
    assert_allclose(rec.data[0] * 1e6, np.arange(1024) % 5)
    assert rec.markers == [(pytest.approx(ts[100]), "Marker0=stim_on"),
                           (pytest.approx(ts[300]), "Marker0=Müde – Pause"),
                           (pytest.approx(ts[700]), "Marker0=2"),
                           (pytest.approx(ts[900]), "Marker1=x")]
    assert rec.streams["aux"].ch_names == ["Right AUX"]


def test_mind_monitor(tmp_path):
    head = ("TimeStamp,Delta_TP9,Delta_AF7,RAW_TP9,RAW_AF7,RAW_AF8,RAW_TP10,"
            "AUX_RIGHT,Accelerometer_X,HeadBandOn,Elements")
    rows = [head]
    for i in range(600):
        ms = int(i * 1000 / 256)
        stamp = f"2019-05-07 14:33:{12 + ms // 1000:02d}.{ms % 1000:03d}"
        rows.append(f"{stamp},0.5,0.6,{800 + i % 5},{810 + i % 3},820,{830 + i % 2},"
                    f"1,0.01,1,")
        if i == 200:
            rows.append(f"{stamp},,,,,,,,,,/muse/elements/blink")
    fname = tmp_path / "mindMonitor_2019-05-07.csv"
    fname.write_text("\n".join(rows) + "\n")
    rec = read_recording(fname)
    assert rec.source_format == "mind-monitor"
    assert rec.ch_names == ["TP9", "AF7", "AF8", "TP10"]
    assert rec.n_times == 600
    assert_allclose(rec.data[0, :5], np.array([800, 801, 802, 803, 804]) * 1e-6)
    assert [m[1] for m in rec.markers] == ["/muse/elements/blink"]
    assert rec.streams["band_powers"].ch_names == ["Delta_TP9", "Delta_AF7"]
    assert "accelerometer" in rec.streams


def test_mind_monitor_line_of_3_mb_is_refused_unread(tmp_path):
    """A row is read up to 1 MB: a longer one is named, never held whole."""
    from biofeedback.errors import RecordingFormatError

    head = "TimeStamp,RAW_TP9,RAW_AF7,RAW_AF8,RAW_TP10,Elements"
    rows = [head] + [f"2019-05-07 14:33:12.{i:03d},800,810,820,830," for i in range(300)]
    fname = tmp_path / "mindMonitor_2019-05-07.csv"
    fname.write_text("\n".join(rows) + "\n" + "1," * (3 * 2**19) + "\n")
    with pytest.raises(RecordingFormatError, match=r"mindMonitor_2019-05-07\.csv, line 302: "
                                                   r"the line is longer than 1024 kB"):
        read_recording(fname)


def _markers_read_plainly(fname, sep, decimal_comma):
    """The markers of a muse-lsl CSV, each line split and each cell read."""
    lines = fname.read_bytes().split(b"\n")
    header = lines[0].decode().strip().split(sep)
    mark = [j for j, h in enumerate(header) if h.startswith("Marker")]
    out, row = [], -1
    for raw in lines[1:]:
        if not raw.strip():
            continue
        row += 1
        cells = raw.rstrip(b"\r").split(sep.encode())
        for j in mark:
            text = cells[j].decode("utf-8").strip().strip('"').strip() \
                if j < len(cells) else ""
            try:
                value = float(text.replace(",", ".") if decimal_comma else text)
            except ValueError:
                if text:
                    out.append((row, f"{header[j]}={text}"))
                continue
            if value != 0 and value == value:
                out.append((row, f"{header[j]}={value:g}"))
    return out


@pytest.mark.parametrize("sep,end", [(",", "\n"), (",", "\r\n"), (";", "\n")])
def test_muse_csv_markers_in_some_rows(tmp_path, monkeypatch, sep, end):
    """Markers in a few rows of a long file (zeros or empty cells elsewhere,
    written every way pandas and spreadsheets write them, blank lines, blocks
    cut anywhere) are those a plain reading of each line finds, and only the
    lines that may hold one are split and decoded."""
    from biofeedback.io import _muse, _text

    monkeypatch.setattr(_text, "BLOCK_BYTES", 997)  # many blocks, cut mid-line
    decoded = []
    marker_text = _muse._marker_text
    monkeypatch.setattr(_muse, "_marker_text",
                        lambda cell, dc: decoded.append(cell) or marker_text(cell, dc))
    rng = np.random.default_rng(3)
    n = 3000
    quiet = ["0", "", "0.000", "0.0", '""'] + (["0,0", "0,000"] if sep == ";" else [])
    loud = {17: ("stim_on", "0"), 18: ("2.000", "x"), 400: ("Müde – Pause", ""),
            401: (" 0 ", "00"), 402: ("0.000000", "nan"), 999: ("-1.5e3", '"go"'),
            1000: ("0", "7"), 2999: ("end", "0")}
    if sep == ";":
        loud[1500] = ("2,5", "0")
    lines = [sep.join(["timestamps", "TP9", "AF7", "AF8", "TP10", "Right AUX", "Marker0",
                       "Marker1"])]
    for i in range(n):
        cells = [f"{1.7e9 + i / 256:.6f}"] + [f"{v:.3f}" for v in rng.normal(0, 30, 5)]
        if sep == ";":
            cells = [c.replace(".", ",") for c in cells]
        cells += loud.get(i, (quiet[i % len(quiet)], quiet[i // 7 % len(quiet)]))
        lines.append(sep.join(cells))
        if i in (10, 11, 2000):
            lines.append("")
    fname = tmp_path / "m.csv"
    fname.write_bytes((end.join(lines) + end).encode())
    rec = read_recording(fname)
    expected = _markers_read_plainly(fname, sep, decimal_comma=sep == ";")
    assert len(expected) >= 8
    assert rec.markers == sorted((float(rec.timestamps[k]), m) for k, m in expected)
    assert len(decoded) < 40


def _muse_lsl_save(pd, fname, x, ts, markers, last, correction=0.0):
    """One save of 'muse-lsl record' (muselsl/record.py ``_save``, pandas as it
    runs there): the samples so far, stamped with the inlet's time
    ``correction``, a Marker column per marker channel once a marker came,
    written whole the first time and appended, without the header, after the
    samples of the last save (its last stamp as received, not corrected)."""
    ts = ts + correction
    data = pd.DataFrame(np.c_[ts, x], columns=["timestamps", "TP9", "AF7", "AF8", "TP10",
                                               "Right AUX"])
    if markers:
        for j in range(len(markers[0][0])):  # pandas < 3 made the column object
            data[f"Marker{j}"] = pd.Series([0] * len(data), dtype=object)
        for values, t in markers:
            ix = np.argmin(np.abs(t - ts))
            for j, v in enumerate(values):
                data.loc[ix, f"Marker{j}"] = v
    if last is None:
        data.to_csv(fname, float_format="%.3f", index=False)
    else:
        data[data["timestamps"] > last].to_csv(fname, float_format="%.3f", index=False,
                                               mode="a", header=False)


@pytest.mark.parametrize("marks", [{2000: ["stim"], 6000: ["rest"]},
                                   {300: [1.0, 2.0], 4000: [3.0, 0.0]}])
def test_muse_lsl_record_markers_after_its_header_was_written(tmp_path, marks):
    """'muse-lsl record' saves every 5 s (continuous, its default): the first
    save writes the header before a marker came, so the Marker columns of the
    marker stream are on the appended lines alone. Such a file reads, its
    markers where they came."""
    pd = pytest.importorskip("pandas")
    n = 256 * 30
    x = np.random.default_rng(0).normal(0, 30, (n, 5))
    ts = 1.7e9 + np.arange(n) / 256
    fname = tmp_path / "EEG_recording.csv"
    markers, last = [], None
    for a in range(12, n + 1, 12):  # a chunk of 12 samples at a time
        markers += [[marks[k], ts[k]] for k in range(a - 12, a) if k in marks]
        if last is None or last + 5 < ts[a - 1]:
            _muse_lsl_save(pd, fname, x[:a], ts[:a], markers, last)
            last = ts[a - 1]
    _muse_lsl_save(pd, fname, x, ts, markers, last)
    lines = fname.read_text().splitlines()
    assert "Marker" not in lines[0] and lines[-1].count(",") > lines[1].count(",")
    rec = read_recording(fname)
    assert rec.n_times == n
    assert_allclose(rec.data, np.round(x[:, :4].T, 3) * 1e-6, atol=1e-12)
    assert_allclose(rec.timestamps, np.round(ts, 3))
    want = sorted((round(ts[k], 3), f"Marker{j}={v if isinstance(v, str) else f'{v:g}'}")
                  for k, vals in marks.items() for j, v in enumerate(vals) if v)
    assert [(round(t, 3), m) for t, m in rec.markers] == want
    assert rec.warnings == []
    # two lines run together are still refused, naming the line
    lines[3000] += lines.pop(3001)
    fname.write_text("\n".join(lines) + "\n")
    with pytest.raises(RecordingFormatError, match=r"line 3001: expected \d+ columns, found"):
        read_recording(fname)


def test_muse_lsl_record_direct_file(tmp_path):
    """'muse-lsl record_direct' (recording from the headset without LSL) writes
    its DataFrame with pandas' index first and the clock last."""
    pd = pytest.importorskip("pandas")
    x = np.random.default_rng(1).normal(0, 30, (2560, 5))
    ts = 1.7e9 + np.arange(2560) / 256
    frame = pd.DataFrame(data=x, columns=["TP9", "AF7", "AF8", "TP10", "Right AUX"])
    frame["timestamps"] = ts
    fname = tmp_path / "recording_2023-11-14-22.13.20.csv"
    frame.to_csv(fname, float_format="%.3f")
    rec = read_recording(fname)
    assert rec.source_format == "muse-csv" and rec.ch_names == ["TP9", "AF7", "AF8", "TP10"]
    assert_allclose(rec.data, np.round(x[:, :4].T, 3) * 1e-6, atol=1e-12)
    assert_allclose(rec.timestamps, np.round(ts, 3))
    assert_allclose(rec.streams["aux"].data[0], np.round(x[:, 4], 3) * 1e-6, atol=1e-12)
    assert rec.warnings == []


def test_muse_csv_header_with_a_trailing_comma_its_lines_without(tmp_path):
    """A header ending in ',' (an empty last name) over lines without one: the
    lines hold the table's columns."""
    fname = tmp_path / "muse.csv"
    x = np.random.default_rng(2).normal(0, 30, (4, 512))
    lines = ["timestamps,TP9,AF7,AF8,TP10,Right AUX,"]
    lines += [f"{1.7e9 + i / 256:.3f}," + ",".join(f"{v:.3f}" for v in x[:, i]) + ",0.000"
              for i in range(512)]
    fname.write_text("\n".join(lines) + "\n")
    rec = read_recording(fname)
    assert rec.ch_names == ["TP9", "AF7", "AF8", "TP10"]
    assert_allclose(rec.data, np.round(x, 3) * 1e-6, atol=1e-12)
    assert rec.warnings == []


def test_muse_lsl_record_rows_written_twice_are_read_once(tmp_path):
    """'muse-lsl record' keeps the samples stamped after the last one it saved,
    comparing corrected stamps with the uncorrected last one: with a positive
    time correction, each append writes the last saved sample again (and its
    marker). Those rows are read once, with a warning."""
    pd = pytest.importorskip("pandas")
    n = 256 * 20
    x = np.random.default_rng(3).normal(0, 30, (n, 5))
    ts = 1.7e9 + np.arange(n) / 256
    marks = {11: ["stim"], 3000: ["rest"]}  # sample 11 ends the first save
    fname = tmp_path / "EEG_recording.csv"
    markers, last = [], None
    for a in range(12, n + 1, 12):
        markers += [[marks[k], ts[k]] for k in range(a - 12, a) if k in marks]
        if last is None or last + 5 < ts[a - 1]:
            _muse_lsl_save(pd, fname, x[:a], ts[:a], markers, last, correction=2e-5)
            last = ts[a - 1]
    # (its last save, as the recording stops, compares the stamps with None and
    # appends none: the file ends with the last of the saves every 5 s, at 3864)
    stamps = np.loadtxt(fname, delimiter=",", skiprows=1, usecols=0)
    assert stamps.size == 3864 + 3  # the last sample of each of three saves, again
    rec = read_recording(fname)
    assert rec.n_times == 3864
    assert_allclose(rec.data, np.round(x[:3864, :4].T, 3) * 1e-6, atol=1e-12)
    assert_allclose(rec.timestamps, np.round(ts[:3864] + 2e-5, 3))
    assert [m for _, m in rec.markers] == ["Marker0=stim", "Marker0=rest"]
    assert_allclose([t for t, _ in rec.markers], np.round(ts[[11, 3000]] + 2e-5, 3))
    assert rec.warnings == [
        "3 rows repeat the row before exactly (its timestamp and every value), as "
        "'muse-lsl record' writes the last sample of a save again when it appends the "
        "next; they were dropped."]


def test_muse_lsl_markers_on_another_clock_than_the_eeg_are_said_lost(tmp_path):
    """muse-lsl puts each marker on the row nearest its stamp: PsychoPy's
    markers (LSL clock) beside the Muse's time.time() stamps land on the first
    row, which the first 5 s save wrote before they came. The Marker0 column
    is there, empty: the reader says why."""
    pd = pytest.importorskip("pandas")
    n = 256 * 20
    x = np.random.default_rng(4).normal(0, 30, (n, 5))
    ts = 1.7e9 + np.arange(n) / 256  # the Muse's time.time()
    fname = tmp_path / "EEG_recording.csv"
    markers, last = [], None
    for a in range(12, n + 1, 12):
        if a == 2400:  # a marker on the LSL clock (seconds since the computer started)
            markers.append([["stim"], 5321.5])
        if last is None or last + 5 < ts[a - 1]:
            _muse_lsl_save(pd, fname, x[:a], ts[:a], markers, last)
            last = ts[a - 1]
    assert "stim" not in fname.read_text() and ",0\n" in fname.read_text()
    rec = read_recording(fname)
    assert rec.markers == []
    said = [w for w in rec.warnings if "Marker0" in w]
    assert len(said) == 1 and "column holds no marker" in said[0]
    assert "'muselsl stream --lsltime'" in said[0]

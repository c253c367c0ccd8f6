"""Files as other tools and other versions write them, made here with the
tools' own layouts (and their own libraries where they have one)."""

import re
from datetime import datetime

import numpy as np
import pytest
from numpy.testing import assert_allclose

from biofeedback.io import read_recording

SF = 250.0


def _eeg(n, n_ch, sfreq, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sfreq
    return 20 * np.sin(2 * np.pi * 10 * t)[None, :] + 5 * rng.standard_normal((n_ch, n))


def _openbci_classic(fname, n, n_ch=8, sfreq=SF, unix_ms=True, n_aux=3, cut=None,
                     t0=1678789230.123, aux=None):
    """An OpenBCI GUI v3/v4 file: classic header, each line ending with the
    time of day and, from v3 on, the host's Unix time in milliseconds.
    ``aux(i)`` gives line i's aux cells (else ``n_aux`` accelerometer zeros,
    as the GUI writes them: ``%.3f``)."""
    x = _eeg(n, n_ch, sfreq)
    lines = ["%OpenBCI Raw EEG Data", f"%Number of channels = {n_ch}",
             f"%Sample Rate = {sfreq:.1f} Hz", "%First Column = SampleIndex",
             "%Last Column = Timestamp ",
             "%Other Columns = EEG data in microvolts followed by Accel Data (in G) "
             "interleaved with Aux Data"]
    step = 2 if n_ch == 16 else 1
    for i in range(n):
        t = t0 + i / sfreq
        row = [str((step * i) % 256)] + [f"{v:.2f}" for v in x[:, i]]
        row += aux(i) if aux is not None else ["0.000"] * n_aux
        row.append(datetime.fromtimestamp(t).strftime("%H:%M:%S.%f")[:-3])
        if unix_ms:
            row.append(str(int(round(t * 1000))))
        lines.append(", ".join(row))
    text = "\n".join(lines) + "\n"
    if cut is not None:
        text = text[:cut(text)]
    fname.write_text(text)
    return x, t0


@pytest.mark.parametrize("n_ch, sfreq, profile", [(8, 250.0, "cyton"),
                                                  (16, 125.0, "cyton_daisy")])
def test_openbci_gui_v4_lines_end_with_unix_ms(tmp_path, n_ch, sfreq, profile):
    """GUI v3-v4 write ``hh:mm:ss.fff, <Unix ms>`` at the end of each line;
    the Unix time is the clock (it has the date)."""
    fname = tmp_path / "OpenBCI-RAW-2020-01-01_10-00-00.txt"
    x, t0 = _openbci_classic(fname, 1000, n_ch=n_ch, sfreq=sfreq)
    rec = read_recording(fname)
    assert rec.profile == profile and len(rec.ch_names) == n_ch
    assert rec.sfreq == sfreq
    assert_allclose(rec.data, np.round(x, 2) * 1e-6, atol=1e-12)
    assert rec.timestamps[0] == pytest.approx(t0, abs=1e-3)
    assert_allclose(np.diff(rec.timestamps), 1 / sfreq, atol=1e-6)
    assert "Unix" in rec.provenance["clock"]
    assert rec.gaps == [] and rec.warnings == []
    assert rec.streams["accelerometer"].data.shape == (3, 1000)


def test_openbci_gui_unix_ms_from_2000_on(tmp_path):
    """Unix milliseconds are told by the years every reader takes them in, 2000
    to 2100 (this reader took them from 2001-09-09 on, when they have 13 digits)."""
    fname = tmp_path / "OpenBCI-RAW-2000-01-01_00-00-00.txt"
    _, t0 = _openbci_classic(fname, 500, t0=946684800.0)
    rec = read_recording(fname)
    assert "Unix" in rec.provenance["clock"]
    assert rec.timestamps[0] == pytest.approx(t0, abs=1e-3)
    assert rec.streams["accelerometer"].data.shape == (3, 500)


def test_openbci_gui_analog_mode_aux_columns(tmp_path):
    """A Cyton in analog mode writes its aux inputs where the accelerometer
    was; the header's channel count tells the EEG columns apart."""
    fname = tmp_path / "OpenBCI-RAW-analog.txt"
    x, _ = _openbci_classic(fname, 500, n_aux=5)
    rec = read_recording(fname)
    assert rec.ch_names[:2] == ["F3", "F4"] and len(rec.ch_names) == 8
    assert_allclose(rec.data, np.round(x, 2) * 1e-6, atol=1e-12)
    assert "accelerometer" not in rec.streams


def _pin_reads(n, n_pins, seed=1, top=1024):
    """A Cyton's pin reads in analog (0-1023) or digital (0/1) mode."""
    return np.random.default_rng(seed).integers(0, top, size=(n, n_pins))


@pytest.mark.parametrize("n_pins, key, names", [
    (3, "analog", ["A5", "A6", "A7"]),  # analog mode, serial dongle
    (2, "analog", ["A5", "A6"]),  # analog mode over WiFi
])
def test_openbci_gui_v4_analog_mode_is_kept_as_analog_reads(tmp_path, n_pins, key, names):
    """GUI v4 in analog mode writes the pins' whole-number reads under the
    header line naming 'Accel Data (in G)' (OpenBCI_GUI's writeAuxValues): they
    are analog reads, said so, never an accelerometer in g."""
    fname = tmp_path / "OpenBCI-RAW-analog.txt"
    reads = _pin_reads(400, n_pins)
    x, _ = _openbci_classic(fname, 400, aux=lambda i: [str(v) for v in reads[i]])
    rec = read_recording(fname)
    assert "accelerometer" not in rec.streams
    assert rec.streams[key].ch_names == names and rec.streams[key].type == "Analog"
    assert_allclose(rec.streams[key].data, reads.T)
    assert_allclose(rec.streams[key].timestamps, rec.timestamps)
    assert_allclose(rec.data, np.round(x, 2) * 1e-6, atol=1e-12)
    assert any("analog reads of pins" in w and "not the accelerometer" in w
               for w in rec.warnings)


def test_openbci_gui_v4_digital_mode_is_kept_as_digital_reads(tmp_path):
    """Digital mode over the dongle: D11, D12, D13, D17, D18 as 0 or 1."""
    fname = tmp_path / "OpenBCI-RAW-digital.txt"
    reads = _pin_reads(300, 5, top=2)
    _openbci_classic(fname, 300, aux=lambda i: [str(v) for v in reads[i]])
    rec = read_recording(fname)
    assert len(rec.ch_names) == 8 and "accelerometer" not in rec.streams
    assert rec.streams["digital"].ch_names == ["D11", "D12", "D13", "D17", "D18"]
    assert_allclose(rec.streams["digital"].data, reads.T)


def test_openbci_gui_v4_accelerometer_resaved_by_a_spreadsheet_is_still_g(tmp_path):
    """A spreadsheet writes the GUI's ``0.000`` as ``0``: the accelerometer's
    fractions elsewhere still say g."""
    fname = tmp_path / "OpenBCI-RAW-accel.txt"
    _openbci_classic(fname, 300, aux=lambda i: ["0.04", "0.42", "0.238"] if i % 10 == 0
                     else ["0", "0", "0"])
    rec = read_recording(fname)
    assert "analog" not in rec.streams and rec.warnings == []
    assert rec.streams["accelerometer"].data[:, 0] == pytest.approx([0.04, 0.42, 0.238])


_V6_CYTON = ("Sample Index, " + ", ".join(f"EXG Channel {i}" for i in range(8))
             + ", Accel Channel 0, Accel Channel 1, Accel Channel 2, Not Used, "
             "Digital Channel 0 (D11), Digital Channel 1 (D12), Digital Channel 2 (D13), "
             "Digital Channel 3 (D17), Not Used, Digital Channel 4 (D18), "
             "Analog Channel 0, Analog Channel 1, Analog Channel 2, Timestamp, "
             "Marker Channel, Timestamp (Formatted)")


def _openbci_v6_cyton(fname, n, aux_bytes, stop_byte):
    """A GUI v6 Cyton file: BrainFlow's rows as the GUI writes them (Java's
    doubles). Each packet's six aux bytes (``aux_bytes(i)``) fill the
    'Digital' columns one by one in every mode, the accelerometer from a
    0xC0 packet, the three 'Analog' 16-bit numbers from a 0xC1 one
    (BrainFlow's cyton driver)."""
    x = _eeg(n, 8, SF)
    lines = ["%OpenBCI Raw EXG Data", "%Number of channels = 8", "%Sample Rate = 250 Hz",
             "%Board = OpenBCI_GUI$BoardCytonSerial", _V6_CYTON]
    for i in range(n):
        b = aux_bytes(i)
        words = [b[0] * 256 + b[1], b[2] * 256 + b[3], b[4] * 256 + b[5]]
        accel = [0.0] * 3 if stop_byte == 0xC1 else [w * 0.002 / 16 for w in words]
        analog = words if stop_byte == 0xC1 else [0, 0, 0]
        t = 1678789230.123 + i / SF
        lines.append(", ".join([f"{i % 256}.0", *(f"{v}" for v in x[:, i]),
                                *(f"{v}" for v in accel), f"{stop_byte}.0",
                                *(f"{v}.0" for v in b), *(f"{v}.0" for v in analog),
                                f"{t}", "0.0", "2023-03-14 10:20:30.123"]))
    fname.write_text("\n".join(lines) + "\n")
    return x


def test_openbci_gui_v6_analog_mode_keeps_the_analog_reads(tmp_path):
    """In analog mode the 'Analog Channel' columns hold A5-A7 (0-1023) and the
    accelerometer columns zeros: the reads are kept, no accelerometer of zeros."""
    reads = _pin_reads(300, 3)
    fname = tmp_path / "OpenBCI-RAW-analog.txt"
    x = _openbci_v6_cyton(fname, 300, lambda i: [v for r in reads[i] for v in divmod(r, 256)],
                          0xC1)
    rec = read_recording(fname)
    assert_allclose(rec.data, x * 1e-6)
    assert rec.streams["analog"].ch_names == ["A5", "A6", "A7"]
    assert_allclose(rec.streams["analog"].data, reads.T)
    assert "accelerometer" not in rec.streams and "digital" not in rec.streams


def test_openbci_gui_v6_digital_mode_keeps_the_pins(tmp_path):
    """In digital mode each aux byte is a pin (D11, D12, D13, D17, D18)."""
    pins = _pin_reads(300, 5, top=2)
    fname = tmp_path / "OpenBCI-RAW-digital.txt"
    _openbci_v6_cyton(fname, 300, lambda i: [*pins[i][:4], 0, pins[i][4]], 0xC1)
    rec = read_recording(fname)
    assert rec.streams["digital"].ch_names == ["D11", "D12", "D13", "D17", "D18"]
    assert_allclose(rec.streams["digital"].data, pins.T)
    assert "analog" not in rec.streams


def test_openbci_gui_v6_accelerometer_mode_keeps_no_pin_reads(tmp_path):
    """With the accelerometer on, the aux bytes are its; no pin reads."""
    fname = tmp_path / "OpenBCI-RAW-accel.txt"
    _openbci_v6_cyton(fname, 300, lambda i: [0, 20, 0, 210, 0, 119], 0xC0)
    rec = read_recording(fname)
    assert "analog" not in rec.streams and "digital" not in rec.streams
    assert_allclose(rec.streams["accelerometer"].data[:, 0], [0.0025, 0.02625, 0.014875])


def test_openbci_file_cut_mid_line_drops_that_line(tmp_path):
    """A file cut mid-write: the last line lacks columns, and its cells (a
    Unix time cut to its first digits) are not read as data."""
    fname = tmp_path / "OpenBCI-RAW-cut.txt"
    n = 300
    x = _eeg(n, 8, SF)
    lines = ["%OpenBCI Raw EXG Data", "%Number of channels = 8", "%Sample Rate = 250 Hz",
             "%Board = OpenBCI_GUI$BoardCytonSerial",
             "Sample Index, " + ", ".join(f"EXG Channel {i}" for i in range(8))
             + ", Accel Channel 0, Accel Channel 1, Accel Channel 2, Other, Other, "
             "Timestamp, Marker Channel, Timestamp (Formatted)"]
    for i in range(n):
        t = 1678789230.123 + i / SF
        lines.append(f"{i % 256}, " + ", ".join(f"{v:.2f}" for v in x[:, i])
                     + f", 0.0, 0.0, 0.0, 0.0, 0.0, {t:.6f}, 0.0, 2023-03-14 10:20:30.123")
    text = "\n".join(lines)
    fname.write_text(text[: text.rindex(", 0.0, 2023") - 8])  # inside the Timestamp
    rec = read_recording(fname)
    assert rec.n_times == n - 1
    assert np.all(np.diff(rec.timestamps) > 0)
    assert any("cut short" in w and "dropped" in w for w in rec.warnings)


def _muse_lsl(fname, n=512, t0=5321.123456, header="timestamps,TP9,AF7,AF8,TP10,Right AUX",
              end=""):
    x = _eeg(n, 4, 256.0)
    lines = [header + end]
    for i in range(n):
        lines.append(f"{t0 + i / 256:.6f}," + ",".join(f"{v:.3f}" for v in x[:, i])
                     + ",0.000" + end)
    fname.write_text("\n".join(lines) + "\n")
    return x


@pytest.mark.parametrize("header, end", [
    ('"timestamps","TP9","AF7","AF8","TP10","Right AUX"', ""),  # R's write.csv
    ("timestamps,TP9,AF7,AF8,TP10,Right AUX", ","),  # a trailing empty column
    ("Timestamp,TP9,AF7,AF8,TP10,Right AUX", ""),  # the clock named in the singular
])
def test_muse_csv_variants(tmp_path, header, end):
    fname = tmp_path / "muse.csv"
    x = _muse_lsl(fname, header=header, end=end)
    rec = read_recording(fname)
    assert rec.source_format == "muse-csv"
    assert rec.ch_names == ["TP9", "AF7", "AF8", "TP10"]
    assert_allclose(rec.data, np.round(x, 3) * 1e-6, atol=1e-12)
    assert rec.warnings == []


def test_muse_csv_resaved_by_pandas_with_its_index(tmp_path):
    """``pd.read_csv(f).to_csv(g)`` puts the row index first, under an empty name."""
    pd = pytest.importorskip("pandas")
    src = tmp_path / "muse.csv"
    x = _muse_lsl(src)
    fname = tmp_path / "resaved.csv"
    pd.read_csv(src).to_csv(fname)
    assert fname.read_text().startswith(",timestamps,TP9,")
    rec = read_recording(fname)
    assert rec.source_format == "muse-csv" and rec.ch_names == ["TP9", "AF7", "AF8", "TP10"]
    assert_allclose(rec.data, np.round(x, 3) * 1e-6, atol=1e-12)
    assert_allclose(rec.timestamps, read_recording(src).timestamps)
    assert rec.warnings == [] and list(rec.streams) == ["aux"]


def test_muse_csv_resaved_by_excel_with_whole_second_stamps(tmp_path):
    """Excel saves a CSV as its General format shows each number, in 11
    characters: muse-lsl's Unix times lose their fraction of a second. Each
    second's samples then share one stamp, which read as a second lost every
    second (60 gaps a minute), and replay found no window to estimate."""
    pd = pytest.importorskip("pandas")
    src = tmp_path / "muse.csv"
    x = _muse_lsl(src, n=2048, t0=1_700_000_000.123456)
    true = 1_700_000_000.123456 + np.arange(2048) / 256
    df = pd.read_csv(src)
    df["timestamps"] = df["timestamps"].map(lambda t: f"{t:.0f}")  # as Excel shows them
    fname = tmp_path / "excel.csv"
    df.to_csv(fname, index=False, encoding="utf-8-sig", lineterminator="\r\n")
    rec = read_recording(fname)
    assert_allclose(rec.data, np.round(x, 3) * 1e-6, atol=1e-12)
    assert rec.gaps == [] and np.abs(rec.timestamps - true).max() < 0.5
    assert_allclose(np.diff(rec.timestamps), 1 / 256, rtol=1e-6)
    assert_allclose(rec.streams["aux"].timestamps, rec.timestamps)
    assert rec.warnings == [
        "The timestamps hold whole seconds only, each repeated for about 256 samples, as "
        "a spreadsheet saves Unix times it shows with fewer decimals; they are rebuilt from "
        "the 256 Hz rate, so samples lost inside the file cannot be told."]
    # shown as a Number, with Excel's 2 decimals: 0.01 s steps of 2 or 3 samples
    df["timestamps"] = [f"{t:.2f}" for t in true]
    df.to_csv(fname, index=False)
    rec = read_recording(fname)
    assert rec.gaps == [] and np.abs(rec.timestamps - true).max() < 0.005
    assert rec.warnings[0].startswith("The timestamps hold steps of 0.01 s only, each "
                                      "repeated for about 3 samples")
    # with samples lost inside, the rate cannot place the stamps: they stay, said
    df.drop(index=range(700, 1000)).to_csv(fname, index=False)
    rec = read_recording(fname)
    assert rec.gaps and rec.warnings[0].endswith(
        "they do not follow the 256 Hz rate, so the gaps they show are sized only to the "
        "step: export the file again from its source, or save its timestamp column as a "
        "number with 6 decimals.")


def test_mind_monitor_resaved_by_excel_says_to_read_the_export(tmp_path, capsys):
    """Excel shows Mind Monitor's TimeStamp as a date to the minute
    ('14/03/2023 10:20') and saves it so: the reader named the cell and said
    nothing of why or what to do."""
    from biofeedback.cli import main

    fname = tmp_path / "mindMonitor_2023-03-14--10-20-30.csv"
    _mind_monitor(fname, n=300)
    fname.write_text(re.sub(r"2023-03-14 (\d\d:\d\d):\d\d\.\d{3}", r"14/03/2023 \1",
                            fname.read_text()))
    assert main(["info", str(fname)]) == 1
    assert capsys.readouterr().err == (
        f"biofeedback: error: {fname}, line 2: TimeStamp '14/03/2023 10:20' is not a date "
        "and time as Mind Monitor writes it (2019-05-07 14:33:12.123); a spreadsheet that "
        "saved the file again rewrote it in its own format: read the file Mind Monitor "
        "exported.\n")


def test_muse_csv_clock_is_named_as_it_is(tmp_path):
    """muse-lsl's ``record`` writes LSL-clock times (seconds since the computer
    started), not Unix times: the note says which it found."""
    _muse_lsl(tmp_path / "lsl.csv", t0=5321.1)
    _muse_lsl(tmp_path / "unix.csv", t0=1.7e9)
    assert read_recording(tmp_path / "lsl.csv").provenance["clock"].startswith("LSL")
    assert read_recording(tmp_path / "unix.csv").provenance["clock"].startswith("Unix")


def _brainflow_file(fname, board, n, *, late_batches=False, sidecar=True):
    """A file in ``board``'s layout (from BrainFlow's own board description)
    written by BrainFlow's ``DataFilter.write_file``; the package counter as
    the board's driver numbers it."""
    import json

    from brainflow.board_shim import BoardShim
    from brainflow.data_filter import DataFilter

    d = BoardShim.get_board_descr(board)
    sfreq = float(d["sampling_rate"])
    arr = np.zeros((d["num_rows"], n))
    arr[d["eeg_channels"]] = _eeg(n, len(d["eeg_channels"]), sfreq)
    ts = 1.7e9 + np.arange(n) / sfreq
    if late_batches:  # the host stamps what arrives: a late batch, then a burst
        for k in range(50, n - 20, 200):
            ts[k: k + 10] = ts[k + 10] - np.arange(10, 0, -1) * 1e-5
    arr[d["timestamp_channel"]] = ts
    if "muse" in d["name"].lower():  # a 16-bit number per 12 samples
        arr[d["package_num_channel"]] = np.arange(n) // 12
    elif d["name"] == "GanglionWifi":  # the Ganglion's own sample counter, 0-200
        arr[d["package_num_channel"]] = np.arange(n) % 201
    else:  # a Cyton + Daisy steps by 2 (over WiFi its packets of one sample share one)
        step = 2 if d["name"].lower().endswith("daisy") else 1
        arr[d["package_num_channel"]] = (step * np.arange(n)) % 256
    DataFilter.write_file(arr, str(fname), "w")
    if sidecar:
        fname.with_suffix(".json").write_text(json.dumps({"board_id": int(board)}))
    return arr, d


def _brainflow_excel(fname, stamps, keep, counter=None):
    """A synthetic board's file by BrainFlow's ``DataFilter.write_file``, its
    samples ``keep`` (a mask) stamped ``stamps``, then re-saved by a
    spreadsheet that shows the stamps as whole seconds."""
    import json

    from brainflow.board_shim import BoardShim
    from brainflow.data_filter import DataFilter

    d = BoardShim.get_board_descr(-1)
    n = stamps.size
    arr = np.zeros((d["num_rows"], n))
    arr[d["eeg_channels"]] = _eeg(n, len(d["eeg_channels"]), SF)
    arr[d["package_num_channel"]] = (np.arange(n) if counter is None else counter) % 256
    arr[d["timestamp_channel"]] = stamps
    DataFilter.write_file(np.ascontiguousarray(arr[:, keep]), str(fname), "w")
    fname.with_suffix(".json").write_text(json.dumps({"board_id": -1}))
    _excel_stamps(fname, d["timestamp_channel"], "\t")
    return arr[d["eeg_channels"]][:, keep]


def test_brainflow_file_resaved_by_excel_rebuilds_its_stamps_from_the_counter(tmp_path):
    """A BrainFlow file re-saved by Excel holds whole-second stamps: read as a
    second lost every second, or as stamps that pause where the counter lost
    nothing. The rate rebuilds them, and the counter places the samples lost."""
    fname = tmp_path / "excel.csv"
    true = 1.7e9 + 0.3 + np.arange(2000) / SF
    keep = np.ones(2000, bool)
    keep[900:940] = False
    x = _brainflow_excel(fname, true, keep)
    rec = read_recording(fname)
    assert_allclose(rec.data * 1e6, x, atol=1e-5)
    assert [(g.n_missing, g.source) for g in rec.gaps] == [(40, "packet_counter")]
    assert np.abs(rec.timestamps - true[keep]).max() < 0.01
    assert rec.gaps[0].onset == pytest.approx(true[899], abs=0.01)
    assert rec.warnings[0].startswith("The timestamps hold whole seconds only, each ")
    assert rec.warnings[0].endswith(
        "as a spreadsheet saves Unix times it shows with fewer decimals; they are rebuilt "
        "from the 250 Hz rate and the packet counter, which counts the samples lost.")
    assert rec.warnings[1:] == [
        "1 dropped-packet gap (package counter) (40 samples, 0.160 s missing in total); "
        "kept as gaps, not interpolated."]


def test_brainflow_file_resaved_by_excel_keeps_stamps_the_rate_does_not_explain(tmp_path):
    """Appended across a 3 s stop: the counter starts again at 0 and cannot
    count the pause, so the rate and the counter do not explain the stamps;
    they stay, said, and the pause is still a restart they size."""
    fname = tmp_path / "appended.csv"
    true = 1.7e9 + 0.3 + np.arange(2000) / SF
    true[1000:] += 3.0
    _brainflow_excel(fname, true, np.ones(2000, bool), counter=np.r_[np.arange(1000),
                                                                      np.arange(1000)])
    rec = read_recording(fname)
    assert [g.source for g in rec.gaps] == ["packet_counter_restart"]
    assert abs(rec.gaps[0].duration - 3.0) <= 1.0
    assert np.all(rec.timestamps == np.round(rec.timestamps))
    assert rec.warnings[0].endswith(
        "they do not follow the 250 Hz rate and the packet counter, so the recording is "
        "placed on them only to the step: export the file again from its source, or save "
        "its timestamp column as a number with 6 decimals.")


def test_brainflow_late_host_stamps_are_not_lost_samples(tmp_path):
    """BrainFlow stamps samples on the host when they arrive: a batch that
    arrives late pauses the timestamps, but the package counter shows nothing
    lost, and the counter is what counts."""
    from brainflow.board_shim import BoardIds

    fname = tmp_path / "synthetic.csv"
    _brainflow_file(fname, BoardIds.SYNTHETIC_BOARD.value, 2000, late_batches=True)
    rec = read_recording(fname)
    assert rec.gaps == []
    assert any("package counter shows no loss" in w for w in rec.warnings)


@pytest.mark.parametrize("fast", [0.0, 0.02])
def test_brainflow_rate_is_judged_over_the_span_not_within_bursts(tmp_path, fast):
    """BrainFlow's Cyton driver stamps each sample as it reads the serial
    port, which hands them over in bursts (the USB adapter's 16 ms): four
    samples 20 µs apart, then a pause. The rate was measured within the
    bursts ('49937 Hz differs from the declared 250 Hz'); it is the counter's
    samples over the stamps' span, so a board 2 % fast is still said."""
    import json

    from brainflow.board_shim import BoardIds, BoardShim
    from brainflow.data_filter import DataFilter

    board = BoardIds.CYTON_BOARD.value
    d = BoardShim.get_board_descr(board)
    n = 250 * 20
    arr = np.zeros((d["num_rows"], n))
    arr[d["eeg_channels"]] = _eeg(n, 8, 250.0)
    k = np.arange(n)
    burst_end = (k // 4 + 1) * 4 / (250.0 * (1 + fast))
    arr[d["timestamp_channel"]] = 1.7e9 + burst_end + (k % 4) * 2e-5
    arr[d["package_num_channel"]] = k % 256
    fname = tmp_path / "cyton.csv"
    DataFilter.write_file(arr, str(fname), "w")
    fname.with_suffix(".json").write_text(json.dumps({"board_id": board}))
    rec = read_recording(fname)
    said = [w for w in rec.warnings if "measured sampling rate" in w]
    if not fast:
        assert said == [] and rec.gaps == []
    else:
        assert len(said) == 1 and "The measured sampling rate 255.1" in said[0], said


@pytest.mark.parametrize("board, profile", [("SYNTHETIC_BOARD", "synthetic"),
                                            ("CYTON_DAISY_BOARD", "cyton_daisy"),
                                            ("MUSE_S_BOARD", "muse_2")])
def test_brainflow_board_without_sidecar_guessed_from_data(tmp_path, board, profile):
    """Boards with the same row count are told apart by the rate of the
    timestamps and the counter's step (the synthetic board and a Cyton + Daisy
    both have 32 rows); a Muse S and a Muse 2 write one layout and read alike."""
    from brainflow.board_shim import BoardIds

    fname = tmp_path / "board.csv"
    arr, d = _brainflow_file(fname, getattr(BoardIds, board).value, 1000, sidecar=False)
    rec = read_recording(fname)
    assert rec.profile == profile
    assert_allclose(rec.data * 1e6, arr[d["eeg_channels"]], atol=1e-6)
    assert any(w.startswith("No sidecar names the board; guessed") for w in rec.warnings)


@pytest.mark.parametrize("board, profile", [("GANGLION_NATIVE_BOARD", "ganglion"),
                                            ("MUSE_2_BLED_BOARD", "muse_2"),
                                            ("MUSE_S_BLED_BOARD", "muse_s"),
                                            ("MUSE_2016_BLED_BOARD", "muse_2016")])
def test_brainflow_board_of_another_connection_reads_as_its_device(tmp_path, board,
                                                                    profile):
    """BrainFlow names one device by how it connects: a Ganglion over the
    computer's own Bluetooth (GANGLION_NATIVE_BOARD, 46), a Muse over a BLED112
    dongle (MUSE_2_BLED_BOARD, 22...). Their rows are the device's; a sidecar
    naming them read no profile: channels EEG1..EEG4 on a Ganglion, and
    losses guessed from the host's stamps, not the package counter."""
    import json

    from brainflow.board_shim import BoardIds, BoardShim
    from brainflow.data_filter import DataFilter

    from biofeedback.hardware import get_profile

    bid = getattr(BoardIds, board).value
    d = BoardShim.get_board_descr(bid)
    sfreq, n = float(d["sampling_rate"]), 3000
    keep = np.ones(n, bool)
    # 12 Ganglion packets (two samples each from sample 1), 2 Muse packets (of 12)
    keep[slice(1001, 1025) if "ganglion" in profile else slice(1008, 1032)] = False
    arr = np.zeros((d["num_rows"], n))
    arr[d["eeg_channels"]] = _eeg(n, 4, sfreq)
    if "ganglion" in profile:  # 0, then packets 101-200 of two samples each
        arr[d["package_num_channel"]] = [0] + [101 + (i - 1) // 2 % 100 for i in range(1, n)]
    else:  # a 16-bit number per 12 samples
        arr[d["package_num_channel"]] = np.arange(n) // 12
    # the host stamps what a Bluetooth notification brings: 6 samples at a time
    arr[d["timestamp_channel"]] = 1.7e9 + np.ceil(np.arange(n) / 6) * 6 / sfreq
    fname = tmp_path / "brainflow.csv"
    DataFilter.write_file(np.ascontiguousarray(arr[:, keep]), str(fname), "w")
    fname.with_suffix(".json").write_text(json.dumps({"board_id": bid}))
    rec = read_recording(fname)
    assert rec.profile == profile
    assert rec.ch_names == list(get_profile(profile).ch_names)
    assert [(g.n_missing, g.source) for g in rec.gaps] == [(24, "packet_counter")]
    assert_allclose(rec.data * 1e6, arr[d["eeg_channels"]][:, keep], atol=1e-5)


@pytest.mark.parametrize("preset, what", [("AUXILIARY_PRESET", "auxiliary preset "
                                                                "(accelerometer, gyroscope)"),
                                           ("ANCILLARY_PRESET", "ancillary preset (PPG)")])
@pytest.mark.parametrize("sidecar", [True, False])
def test_brainflow_file_of_a_muses_other_preset_says_what_it_holds(tmp_path, capsys,
                                                                   preset, what, sidecar):
    """BrainFlow 5 gives a Muse's accelerometer and gyroscope, and its PPG, as
    presets of their own: ``get_board_data(preset=...)`` written by
    ``DataFilter.write_file`` is not EEG, and is said to be what it is."""
    import json

    from brainflow.board_shim import BoardIds, BoardShim, BrainFlowPresets
    from brainflow.data_filter import DataFilter

    from biofeedback.cli import main

    bid = BoardIds.MUSE_2_BOARD.value
    d = BoardShim.get_board_descr(bid, getattr(BrainFlowPresets, preset))
    arr = np.zeros((d["num_rows"], 520))
    arr[d["package_num_channel"]] = np.arange(520)
    arr[d["timestamp_channel"]] = 1.7e9 + np.arange(520) / d["sampling_rate"]
    fname = tmp_path / "muse_aux.csv"
    DataFilter.write_file(arr, str(fname), "w")
    if sidecar:
        fname.with_suffix(".json").write_text(json.dumps({"board_id": bid}))
    assert main(["info", str(fname)]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"its {d['num_rows']} columns are the rows of MUSE_" in err
    assert f"'s {what}, not EEG; read the file written from get_board_data() " in err


def _mind_monitor(fname, n=1024, *, sep=",", decimal=".", encoding="utf-8", newline="\n"):
    """A Mind Monitor CSV: date-time stamps, band powers, RAW_*, sensors and
    ``Elements``; a marker is a row of its own with every other cell empty."""
    from datetime import timedelta

    bands = [f"{b}_{c}" for b in ("Delta", "Theta", "Alpha", "Beta", "Gamma")
             for c in ("TP9", "AF7", "AF8", "TP10")]
    header = (["TimeStamp"] + bands + ["RAW_TP9", "RAW_AF7", "RAW_AF8", "RAW_TP10",
              "AUX_RIGHT", "Accelerometer_X", "Accelerometer_Y", "Accelerometer_Z",
              "Gyro_X", "Gyro_Y", "Gyro_Z", "HeadBandOn", "HSI_TP9", "HSI_AF7",
              "HSI_AF8", "HSI_TP10", "Battery", "Elements"])
    x = _eeg(n, 4, 256.0) + 800
    t0 = datetime(2023, 3, 14, 10, 20, 30, 123000)

    def num(v):
        return f"{v:.3f}".replace(".", decimal)

    lines = [sep.join(header)]
    for i in range(n):
        ts = (t0 + timedelta(seconds=i / 256)).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        lines.append(sep.join([ts] + [num(0.5)] * 20 + [num(v) for v in x[:, i]]
                              + [num(0.0)] * 7 + ["1"] * 5 + ["98", ""]))
        if i == 300:
            lines.append(sep.join([ts] + [""] * (len(header) - 2) + ["/Marker/1"]))
    with open(fname, "w", encoding=encoding, newline="") as fid:
        fid.write(newline.join(lines) + newline)
    return x, t0


def _mind_monitor_as_packets_arrive(fname, n, lost=(), stall=None, seed=5):
    """A Mind Monitor CSV whose rows are stamped as the Muse's Bluetooth
    packets (12 samples) reach the phone, 20 ms and a random delay after the
    last was taken; ``lost``: (first, end) of the samples lost; ``stall``:
    (from, to) s, the packets taken then held back until ``to``. Returns the
    Unix times the n samples kept were taken."""
    from datetime import timedelta

    rng = np.random.default_rng(seed)
    fs = 256.0
    sent = np.arange(n + sum(b - a for a, b in lost))
    for a, b in sorted(lost, reverse=True):
        sent = np.delete(sent, np.s_[a:b])
    taken = sent / fs
    packet = sent // 12
    arrive = (packet + 1) * 12 / fs + 0.02 + rng.exponential(0.008, packet.max() + 1)[packet]
    if stall is not None:
        arrive[(taken > stall[0]) & (taken < stall[1])] = stall[1] + 0.03
    arrive = np.maximum.accumulate(arrive + (sent % 12) * 0.0001)
    x = _eeg(sent.size, 4, fs) + 800
    t0 = datetime(2025, 7, 1, 14, 56, 5, 422000)
    lines = ["TimeStamp,RAW_TP9,RAW_AF7,RAW_AF8,RAW_TP10,Elements",
             f"{t0:%Y-%m-%d %H:%M:%S.%f}"[:-3] + ",,,,,/muse/event/connected MuseS-84AC"]
    for i in range(sent.size):
        ts = f"{t0 + timedelta(seconds=float(arrive[i])):%Y-%m-%d %H:%M:%S.%f}"[:-3]
        lines.append(ts + "," + ",".join(f"{v:.3f}" for v in x[:, i]) + ",")
    fname.write_text("\n".join(lines) + "\n")
    return t0.timestamp() + taken


@pytest.mark.parametrize("lost, stall, told", [
    ((), (30.0, 34.0), []),  # a stall of 4 s, twice the window: nothing lost
    ([(6000, 6024)], (40.0, 44.0), [(24, 5999)]),  # a loss, then a long stall
    ([(384, 408)], None, [(24, 383)]),  # a loss 1.5 s after the start
    ([(15000, 15024)], None, [(24, 14999)]),  # a loss 1.4 s before the end
])
def test_mind_monitor_long_stalls_and_losses_near_the_ends(tmp_path, lost, stall, told):
    """A stall longer than the 2 s window was read as samples lost (and the
    samples after it stamped that much late); a loss within 2 s of either end
    was not told (or told at the window's edge). A stall loses nothing, a loss
    half a window or more from either end is told where it was."""
    fname = tmp_path / "mindMonitor_2025-07-01--14-56-05.csv"
    taken = _mind_monitor_as_packets_arrive(fname, 256 * 60, lost, stall)
    rec = read_recording(fname)
    assert [(g.n_missing, g.source) for g in rec.gaps] == [(m, "timestamps") for m, _ in told]
    for g, (_, before) in zip(rec.gaps, told):
        assert g.onset == pytest.approx(rec.timestamps[before])
    assert np.all(np.abs((rec.timestamps - rec.timestamps[0]) - (taken - taken[0])) < 0.01)


def test_mind_monitor_rows_stamped_as_packets_arrive(tmp_path):
    """Mind Monitor stamps each row as it reaches the phone: a Bluetooth
    packet's 12 samples within a millisecond or two, then a step of ~47 ms.
    Read as they are, the steps between packets were 1248 gaps a minute and
    most samples 'lost'. The samples' times are rebuilt from their count;
    the two packets really lost are one gap of 24 samples, and a stall
    (packets held back for 0.8 s, then handed over at once) loses nothing."""
    n, fs = 256 * 60, 256.0
    fname = tmp_path / "mindMonitor_2025-07-01--14-56-05.csv"
    taken_at = _mind_monitor_as_packets_arrive(fname, n, [(6000, 6024)], (30.0, 30.8))
    rec = read_recording(fname)
    assert rec.n_times == n
    assert [(g.n_missing, g.source) for g in rec.gaps] == [(24, "timestamps")]
    assert rec.gaps[0].onset == pytest.approx(rec.timestamps[5999])
    # the samples' times, within a packet's spread of when they were taken
    assert np.all(np.abs((rec.timestamps - rec.timestamps[0])
                         - (taken_at - taken_at[0])) < 0.01)
    assert abs(rec.provenance["measured_sfreq"] - fs) < 0.01 * fs
    assert any("reached the phone" in w for w in rec.warnings), rec.warnings


@pytest.mark.parametrize("kw", [
    dict(encoding="utf-8-sig", newline="\r\n"),  # saved on Windows
    dict(sep=";", decimal=","),  # re-saved by a spreadsheet in a European locale
])
def test_mind_monitor_variants(tmp_path, kw):
    fname = tmp_path / "mindMonitor_2023-03-14--10-20-30.csv"
    x, t0 = _mind_monitor(fname, **kw)
    rec = read_recording(fname)
    assert rec.source_format == "mind-monitor"
    assert rec.ch_names == ["TP9", "AF7", "AF8", "TP10"]
    assert_allclose(rec.data, np.round(x, 3) * 1e-6, atol=1e-12)
    assert rec.timestamps[0] == pytest.approx(t0.timestamp())
    assert [m[1] for m in rec.markers] == ["/Marker/1"]
    assert rec.gaps == [] and rec.warnings == []
    assert rec.streams["band_powers"].data.shape == (20, 1024)


@pytest.mark.parametrize("index", ["samples", "packets"])
def test_openbci_gui_v4_ganglion_file_without_a_board_line(tmp_path, index):
    """GUI v4 names no board; its Ganglion files hold 4 channels at 200 Hz,
    numbered 0-200 (OpenBCI_WIFI#78, OpenBCI_GUI#399) or by packet id. Read
    with a Cyton's 0-255 counter they lost 1,045 samples in 20 s (512,809
    by packet id); they are read as a Ganglion's, which is said."""
    n = 4000
    x = _eeg(n, 4, 200.0)
    t0 = 1678789230.123
    lines = ["%OpenBCI Raw EEG Data", "%Number of channels = 4", "%Sample Rate = 200.0 Hz",
             "%First Column = SampleIndex", "%Last Column = Timestamp ",
             "%Other Columns = EEG data in microvolts followed by Accel Data (in G) "
             "interleaved with Aux Data"]
    for i in range(n):
        t = t0 + i / 200.0
        idx = i % 201 if index == "samples" else (0 if i == 0 else 101 + (i - 1) // 2 % 100)
        lines.append(", ".join([str(idx)] + [f"{v:.2f}" for v in x[:, i]] + ["0.000"] * 3
                               + [datetime.fromtimestamp(t).strftime("%H:%M:%S.%f")[:-3],
                                  str(int(round(t * 1000)))]))
    fname = tmp_path / "OpenBCI-RAW-2018-11-07_14-45-42.txt"
    fname.write_text("\n".join(lines) + "\n")
    rec = read_recording(fname)
    assert rec.profile == "ganglion" and rec.ch_names == ["F3", "F4", "O1", "O2"]
    assert rec.gaps == []
    assert_allclose(rec.data * 1e6, np.round(x, 2), atol=1e-9)
    assert any("4 channels at 200 Hz are read as a Ganglion's" in w for w in rec.warnings)


@pytest.mark.parametrize("elements", [True, False])
def test_mind_monitor_cut_mid_line_drops_that_line(tmp_path, elements):
    """Mind Monitor stopped mid-row (the phone's app killed): the last line
    lacks cells and its line feed. It was a sample of NaN, or, without an
    Elements column, refused; it is dropped with a warning, as the other
    text readers drop it."""
    fname = tmp_path / "mindMonitor.csv"
    x, _ = _mind_monitor(fname, n=1024)
    text = fname.read_text()
    if not elements:
        text = "\n".join(ln.rsplit(",", 1)[0] for ln in text.splitlines()
                         if "/Marker/" not in ln) + "\n"
    last = text.splitlines()[-1]
    fname.write_text(text + last[: len(last) // 3])
    rec = read_recording(fname)
    assert rec.n_times == 1024
    assert_allclose(rec.data * 1e6, np.round(x, 3), atol=1e-9)
    assert any("is cut short" in w and "it was dropped" in w for w in rec.warnings)


def test_muse_csv_semicolons_and_decimal_commas(tmp_path, capsys):
    """A muse-lsl CSV re-saved by a spreadsheet in a European locale reads,
    and ``info`` says what it assumed."""
    from biofeedback.cli import main

    fname = tmp_path / "muse.csv"
    x = _eeg(600, 4, 256.0)
    lines = ["timestamps;TP9;AF7;AF8;TP10;Right AUX"]
    for i in range(600):
        lines.append(";".join([f"{1.7e9 + i / 256:.6f}"] + [f"{v:.3f}" for v in x[:, i]]
                              + ["0.000"]).replace(".", ","))
    fname.write_text("\n".join(lines) + "\n")
    rec = read_recording(fname)
    assert_allclose(rec.data, np.round(x, 3) * 1e-6, atol=1e-12)
    assert_allclose(np.diff(rec.timestamps), 1 / 256, atol=1e-5)
    assert main(["info", str(fname)]) == 0
    assert "assumed:     cells separated by ';', ',' as the decimal mark" in \
        capsys.readouterr().out


def test_files_saved_in_the_windows_code_page_read(tmp_path):
    """Text typed on Windows is often saved as Windows-1252, not UTF-8: a
    muse-lsl CSV re-saved by a German spreadsheet (its markers 'Müde – Pause')
    and an OpenBCI file whose header notes say 'µV' read; they were refused as
    binary content."""
    fname = tmp_path / "muse.csv"
    x = _eeg(600, 4, 256.0)
    lines = ["timestamps;TP9;AF7;AF8;TP10;Right AUX;Marker0"]
    for i in range(600):
        lines.append(";".join([f"{1.7e9 + i / 256:.6f}"] + [f"{v:.3f}" for v in x[:, i]]
                              + ["0.000"]).replace(".", ",")
                     + (";Müde – Pause" if i == 300 else ";0"))
    fname.write_bytes("\r\n".join(lines).encode("cp1252") + b"\r\n")
    rec = read_recording(fname)
    assert_allclose(rec.data, np.round(x, 3) * 1e-6, atol=1e-12)
    assert rec.markers == [(pytest.approx(1.7e9 + 300 / 256), "Marker0=Müde – Pause")]

    fname = tmp_path / "OpenBCI-RAW-notes.txt"
    x, t0 = _openbci_classic(fname, 1000)
    text = fname.read_text().replace("EEG data in microvolts", "EEG data in µV (Müller)")
    fname.write_bytes(text.encode("cp1252"))
    rec = read_recording(fname)
    assert rec.profile == "cyton" and rec.n_times == 1000
    assert_allclose(rec.data * 1e6, np.round(x, 2), atol=1e-9)


def test_many_channels_named_alike_are_said_as_a_capped_list(tmp_path):
    """An amplifier labelling all its channels 'EEG': the warning named every
    renaming (4095 of them in a 4096-channel file), now the first ten and how
    many more, as every list of names a file supplies."""
    from biofeedback.io import Recording, write_recording

    rec = Recording(_eeg(500, 14, SF) * 1e-6, SF, ["EEG"] * 14, np.arange(500) / SF)
    back = read_recording(write_recording(rec, tmp_path / "alike.xdf"))
    assert back.ch_names == ["EEG", *(f"EEG-{k}" for k in range(2, 15))]
    said = [w for w in back.warnings if "renamed" in w]
    assert said == ["Channels with the same name were renamed to tell them apart ("
                    + ", ".join(f"EEG -> EEG-{k}" for k in range(2, 12)) + " and 3 more); "
                    "name them in the recorder to keep them apart."]


def test_fif_markers_keep_characters_latin1_lacks(tmp_path):
    """MNE writes FIF text as Latin-1 and any other character as a reference
    ('Müde – Pause' came back 'Müde &#8211; Pause'), in files MNE wrote and
    in the ones convert writes; they read back as written."""
    from biofeedback.io import Recording, write_recording

    texts = ["Müde – Pause", "张 rest", "a &amp; b", "&#99999999;"]
    rec = Recording(_eeg(2000, 2, SF) * 1e-6, SF, ["Cz", "Pz"], np.arange(2000) / SF,
                    markers=[(1.0 + k, t) for k, t in enumerate(texts)])
    back = read_recording(write_recording(rec, tmp_path / "m_raw.fif"))
    assert [m[1] for m in back.markers] == texts


def test_irregular_eeg_is_one_sentence_for_every_command_that_needs_a_rate(tmp_path,
                                                                          capsys):
    """An EEG stream declared irregular whose timestamps are uneven reads (for
    info and XDF), and every command that needs a rate says so in one sentence
    naming the file and the stream; no partial output is left."""
    from biofeedback.cli import main
    from biofeedback.io import Recording, write_recording

    rng = np.random.default_rng(0)
    n = 2500
    ts = 100 + np.cumsum(rng.uniform(0.003, 0.005, n))
    rec = Recording(data=rng.normal(0, 10e-6, (4, n)), sfreq=0.0,
                    ch_names=["TP9", "AF7", "AF8", "TP10"], timestamps=ts,
                    source_format="xdf", provenance={"eeg_stream": "Uneven"})
    fname = write_recording(rec, tmp_path / "uneven.xdf")
    assert read_recording(fname).sfreq == 0.0
    assert main(["info", str(fname)]) == 0
    for cmd in (["replay", str(fname), "--out", str(tmp_path / "e.csv")],
                ["convert", str(fname), str(tmp_path / "u.fif")],
                ["report", str(fname), "--out", str(tmp_path / "r.html")]):
        capsys.readouterr()
        assert main(cmd) == 1, cmd
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err
        assert f"{fname}: its EEG stream 'Uneven' declares no sampling rate" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["uneven.xdf"]


def test_fif_bad_channels_are_said_and_written_back(tmp_path):
    """Channels a researcher marked bad in MNE are named, and survive a
    FIF -> FIF conversion."""
    import mne

    from biofeedback.io import write_recording

    names = ["Fz", "C3", "Cz", "C4"]
    raw = mne.io.RawArray(_eeg(2500, 4, SF) * 1e-6, mne.create_info(names, SF, "eeg"),
                          verbose="error")
    raw.info["bads"] = ["C3"]
    raw.set_annotations(mne.Annotations([2.0], [0.0], ["relaxed"]))
    fname = tmp_path / "sub-01_eeg.fif"
    raw.save(fname, verbose="error")
    rec = read_recording(fname)
    assert rec.ch_names == names and rec.provenance["bads"] == ["C3"]
    assert any(w.startswith("1 channel is marked bad in the file (C3): kept") for w in rec.warnings)
    assert [m[1] for m in rec.markers] == ["relaxed"]
    out = write_recording(rec, tmp_path / "back_eeg.fif")
    assert mne.io.read_raw(out, verbose="error").info["bads"] == ["C3"]


def test_mne_files_say_what_their_clock_is(tmp_path):
    """EDF written by MNE without a date holds 1 Jan 1985, EDF's stand-in for
    an unknown date: the clock note says so, rather than passing 1985 off as
    when the recording was made."""
    import mne

    raw = mne.io.RawArray(_eeg(1000, 2, SF) * 1e-6, mne.create_info(["Cz", "Pz"], SF, "eeg"),
                          verbose="error")
    mne.export.export_raw(tmp_path / "nodate.edf", raw, verbose="error")
    raw.set_meas_date(1678789230.0)
    mne.export.export_raw(tmp_path / "dated.edf", raw, verbose="error")
    raw.set_meas_date(None)
    raw.save(tmp_path / "nodate_raw.fif", verbose="error")
    clock = {name: read_recording(tmp_path / name).provenance["clock"]
             for name in ("nodate.edf", "dated.edf", "nodate_raw.fif")}
    assert "1985-01-01" in clock["nodate.edf"] and "unknown date" in clock["nodate.edf"]
    assert clock["dated.edf"] == "Unix seconds from the file's start, 2023-03-14 10:20:30 UTC"
    assert clock["nodate_raw.fif"].endswith("(the file holds no date)")


def test_an_edf_of_no_board_gives_asymmetry_from_its_labelled_frontal_pair(tmp_path):
    """An EDF names no board: its AF7 and AF8 still give frontal alpha
    asymmetry in a replay, as they do on an LSL stream, rather than a warning
    that no frontal pair is among them."""
    import mne

    from biofeedback.replay import replay

    names = ["TP9", "AF7", "AF8", "TP10"]
    raw = mne.io.RawArray(_eeg(256 * 12, 4, 256.0) * 1e-6,
                          mne.create_info(names, 256.0, "eeg"), verbose="error")
    mne.export.export_raw(tmp_path / "noboard.edf", raw, verbose="error")
    rec = read_recording(tmp_path / "noboard.edf")
    assert rec.profile is None
    out = replay(rec)
    faa = out.estimates[:, out.estimate_names.index("faa")]
    assert np.isfinite(faa[~out.gated]).any()


def test_a_clinical_edfs_labels_give_its_frontal_pair(tmp_path, caplog):
    """Clinical systems label each site with its signal and reference (TUH's
    'EEG F3-REF', 'F4-A2'): a replay found no frontal pair among 'EEG F3-REF'
    and 'EEG F4-REF' and gave no asymmetry; the labels' sites give it, and
    the frontal channels are checked for blinks."""
    edfio = pytest.importorskip("edfio")
    from biofeedback.hardware import profile_for_recording
    from biofeedback.replay import replay

    names = ["EEG FP1-REF", "EEG FP2-REF", "EEG F3-REF", "F4-A2", "EEG C3-REF",
             "EEG C4-REF", "EEG O1-REF", "EEG O2-REF"]
    x = _eeg(256 * 12, len(names), 256.0)
    edfio.Edf([edfio.EdfSignal(x[i], 256.0, label=name, physical_dimension="uV")
               for i, name in enumerate(names)]).write(tmp_path / "tuh.edf")
    rec = read_recording(tmp_path / "tuh.edf")
    assert rec.ch_names == names
    assert profile_for_recording(rec).frontal_pair == ("EEG F3-REF", "F4-A2")
    with caplog.at_level("WARNING", logger="biofeedback"):
        out = replay(rec)
    assert "No frontal pair" not in caplog.text
    faa = out.estimates[:, out.estimate_names.index("faa")]
    assert np.isfinite(faa[~out.gated]).any()
    from biofeedback.config import GatesConfig
    from biofeedback.quality import QualityGate

    gate = QualityGate(GatesConfig(), profile_for_recording(rec), 256.0, names)
    assert list(gate.frontal) == [True] * 4 + [False] * 4


def test_mind_monitor_recorded_at_an_interval_is_one_sentence(tmp_path, capsys):
    """Mind Monitor set to record a row every second writes one RAW_* value a
    second: not EEG at 256 Hz. It was read as 256 Hz with 'lost samples'
    between every row; it is refused, saying which setting to change."""
    from biofeedback.cli import main

    fname = tmp_path / "mindMonitor_interval.csv"
    _mind_monitor(fname, n=1024)
    lines = fname.read_text().splitlines()
    head, rows = lines[0], [ln for ln in lines[1:] if "/Marker" not in ln]
    fname.write_text("\n".join([head] + rows[::256]) + "\n")  # one row a second
    assert main(["info", str(fname)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "one row every 1 s" in err
    assert "set Recording Interval to Constant" in err


def test_brainflow_rows_of_one_board_at_another_rate_are_not_guessed(tmp_path, capsys):
    """A Cyton WiFi writes a Cyton's 24 rows at 1000 Hz: without a sidecar it
    is not read as a 250 Hz Cyton (every band would sit at 4x its frequency);
    the sentence says why and what to do, and the sidecar it asks for works."""
    from brainflow.board_shim import BoardIds

    from biofeedback.cli import main
    from biofeedback.errors import RecordingFormatError

    fname = tmp_path / "wifi.csv"
    arr, d = _brainflow_file(fname, BoardIds.CYTON_WIFI_BOARD.value, 3000, sidecar=False)
    with pytest.raises(RecordingFormatError,
                       match=r"\(24 columns, but its timestamps run at about 1000 Hz "
                             r"\(cyton_wifi's rate\), not 250\): put \{\"board_id\": N\} in "
                             r"wifi\.json"):
        read_recording(fname)
    assert main(["replay", str(fname)]) == 1
    assert "Traceback" not in capsys.readouterr().err
    fname.with_suffix(".json").write_text(f'{{"board_id": {BoardIds.CYTON_WIFI_BOARD.value}}}')
    rec = read_recording(fname)
    assert rec.sfreq == 1000.0 and rec.n_times == 3000 and rec.profile == "cyton_wifi"
    assert_allclose(rec.data * 1e6, arr[d["eeg_channels"]], atol=1e-6)
    # a Cyton that lost samples or stalled runs slower than 250 Hz: still a Cyton
    slow = tmp_path / "cyton.csv"
    _brainflow_file(slow, BoardIds.CYTON_BOARD.value, 3000, sidecar=False)
    rows = np.loadtxt(slow, delimiter="\t")
    rows[1000:, d["timestamp_channel"]] += 3.0
    np.savetxt(slow, rows, delimiter="\t", fmt="%.6f")
    assert read_recording(slow).profile == "cyton"


@pytest.mark.parametrize("board, profile", [("CYTON_WIFI_BOARD", "cyton_wifi"),
                                            ("CYTON_DAISY_WIFI_BOARD", "cyton_daisy_wifi"),
                                            ("GANGLION_WIFI_BOARD", "ganglion_wifi")])
def test_brainflow_boards_over_the_wifi_shield_read_with_their_profile(tmp_path, board,
                                                                      profile):
    """A board over OpenBCI's WiFi Shield (1000 Hz, the Ganglion's 1600 Hz),
    named by its sidecar, reads with its own profile: the montage, the rail,
    and its counter as its driver writes it (losses counted exactly)."""
    from brainflow.board_shim import BoardIds
    from brainflow.data_filter import DataFilter

    from biofeedback.hardware import get_profile

    fname = tmp_path / "wifi.csv"
    arr, d = _brainflow_file(fname, BoardIds[board].value, 6000)
    keep = np.ones(6000, bool)
    keep[2000:2007] = False  # 7 samples lost
    arr = arr[:, keep]
    arr[d["eeg_channels"][1], 3000:3600] = 187500.0 if "CYTON" in board else 15686.0
    DataFilter.write_file(np.ascontiguousarray(arr), str(fname), "w")
    rec = read_recording(fname)
    prof = get_profile(profile)
    assert rec.profile == profile and rec.sfreq == d["sampling_rate"] == prof.sfreq
    assert rec.ch_names == list(prof.ch_names)
    assert [g.n_missing for g in rec.gaps] == [7]
    assert rec.provenance["channel_problems"]["railed"] == [rec.ch_names[1]]
    assert not any("profile" in w.lower() for w in rec.warnings), rec.warnings


def _brainvision(folder, x, sfreq, ch_names):
    """A BrainVision recording as recorders write it: header, markers, float32 data."""
    (folder / "bv.eeg").write_bytes(np.asarray(x.T, "<f4").tobytes())
    (folder / "bv.vhdr").write_text(
        "Brain Vision Data Exchange Header File Version 1.0\n\n[Common Infos]\n"
        "Codepage=UTF-8\nDataFile=bv.eeg\nMarkerFile=bv.vmrk\nDataFormat=BINARY\n"
        f"DataOrientation=MULTIPLEXED\nNumberOfChannels={len(ch_names)}\n"
        f"SamplingInterval={1e6 / sfreq:g}\n\n[Binary Infos]\nBinaryFormat=IEEE_FLOAT_32\n\n"
        "[Channel Infos]\n" + "".join(f"Ch{i + 1}={c},,1,µV\n" for i, c in enumerate(ch_names)))
    (folder / "bv.vmrk").write_text(
        "Brain Vision Data Exchange Marker File, Version 1.0\n\n[Common Infos]\n"
        "Codepage=UTF-8\nDataFile=bv.eeg\n\n[Marker Infos]\n"
        "Mk1=New Segment,,1,1,0,20231114221320000000\nMk2=Stimulus,S  1,251,1,0\n")
    return folder / "bv.vhdr"


def test_brainvision_data_or_marker_file_names_its_header(tmp_path, capsys):
    """The .eeg or .vmrk of a BrainVision recording, given in place of its
    .vhdr, is one sentence naming the file to read."""
    from biofeedback.cli import main

    x = _eeg(1000, 4, SF)
    vhdr = _brainvision(tmp_path, x, SF, ["F3", "F4", "O1", "O2"])
    rec = read_recording(vhdr)
    assert rec.ch_names == ["F3", "F4", "O1", "O2"] and rec.sfreq == SF
    assert_allclose(rec.data * 1e6, x, rtol=1e-6, atol=1e-5)
    for part in ("bv.eeg", "bv.vmrk"):
        capsys.readouterr()
        assert main(["replay", str(tmp_path / part)]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err
        assert f"{part}: this is the " in err and "read bv.vhdr instead." in err


def test_openbci_gui_bdf_accelerometer_is_not_eeg(tmp_path, capsys):
    """The OpenBCI GUI's BDF+ holds 'EEG 1'... in uV and 'Accel X/Y/Z' in g:
    read as EEG, the accelerometer's values in g sat among volts and gated
    every window of a replay. They are kept as a stream instead."""
    edfio = pytest.importorskip("edfio")
    from biofeedback.cli import main

    x = _eeg(2500, 8, SF)
    rng = np.random.default_rng(1)
    sigs = [edfio.BdfSignal(x[i], SF, label=f"EEG {i + 1}", physical_dimension="uV",
                            physical_range=(-187500, 187500)) for i in range(8)]
    accel = 0.5 + 0.01 * rng.standard_normal((3, 2500))
    sigs += [edfio.BdfSignal(accel[i], SF, label=f"Accel {a}", physical_dimension="g",
                             physical_range=(-4, 4), digital_range=(-2048, 2047))
             for i, a in enumerate("XYZ")]
    fname = tmp_path / "OpenBCI-BDF-2023-03-01_10-00-00.bdf"
    edfio.Bdf(sigs, annotations=[edfio.EdfAnnotation(2.0, None, "start")]).write(fname)
    rec = read_recording(fname)
    assert rec.ch_names == [f"EEG {i}" for i in range(1, 9)]
    assert_allclose(rec.data * 1e6, x, atol=0.05)
    st = rec.streams["non_eeg"]
    assert st.ch_names == ["Accel X", "Accel Y", "Accel Z"] and st.meta["units"] == ["g"] * 3
    assert_allclose(st.data, accel, atol=0.005)
    assert ("3 channels are not measured in volts (Accel X (g), Accel Y (g), Accel Z (g)): "
            "they are kept as the stream 'non_eeg', not read as EEG.") in rec.warnings
    assert main(["replay", str(fname)]) == 0
    assert " (0 gated) " in capsys.readouterr().out


@pytest.mark.parametrize("kind, name", [("Edf", "x.bdf"), ("Bdf", "x.edf"),
                                        ("Edf", "x.rec"), ("Edf", "x")])
def test_an_edf_or_bdf_named_otherwise_is_one_sentence(tmp_path, capsys, kind, name):
    """MNE picks its EDF or BDF reader by the extension: an EDF named .bdf was
    read as 24-bit samples, other numbers without a word (or, with
    annotations, refused for bytes of its annotation channel). The content
    says which it is: the file is refused in one sentence saying what to
    name it."""
    edfio = pytest.importorskip("edfio")
    from biofeedback.cli import main

    x = _eeg(2500, 2, SF)
    signal = getattr(edfio, f"{kind}Signal")
    sigs = [signal(x[i], SF, label=f"EEG {i + 1}", physical_dimension="uV")
            for i in range(2)]
    written = tmp_path / f"rec.{kind.lower()}"
    getattr(edfio, kind)(sigs).write(written)
    assert_allclose(read_recording(written).data * 1e6, x, atol=0.05)
    fname = tmp_path / name
    written.rename(fname)
    ext = f".{kind.lower()}"
    assert main(["info", str(fname)]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert (f"{fname}: holds {kind.upper()} data but its name ends in "
            f"{fname.suffix or 'no extension'}, and MNE reads {kind.upper()} by its "
            f"extension; rename it (or a copy) to end in {ext} and read that.") in err


def test_edf_voltages_spelt_otherwise_than_mne_scales_them(tmp_path):
    """MNE scales an EDF signal's samples by its physical dimension only for
    'uV', 'µV' and 'mV', and reads any other as volts: a dimension written
    'UV', 'uv' or 'nV' gave samples a million or a billion times too large,
    without a word. They are scaled as the unit says, with a warning."""
    edfio = pytest.importorskip("edfio")

    x = _eeg(2560, 4, 256.0)  # µV
    dims = {"Fz": ("uV", 1.0), "Cz": ("UV", 1.0), "Pz": ("uv", 1.0), "Oz": ("nV", 1e3)}
    edfio.Edf([edfio.EdfSignal(x[i] * f, 256.0, label=ch, physical_dimension=d)
               for i, (ch, (d, f)) in enumerate(dims.items())]).write(tmp_path / "u.edf")
    rec = read_recording(tmp_path / "u.edf")
    assert rec.ch_names == list(dims)
    assert_allclose(rec.data * 1e6, x, atol=0.01)
    assert ("3 channels give their physical dimensions in a spelling MNE reads as volts "
            "(Cz (UV), Pz (uv), Oz (nV)); they were scaled as their units say.") in rec.warnings


def test_a_fif_named_otherwise_is_one_sentence(tmp_path, capsys):
    """A FIF file MNE saved, named otherwise (a copy renamed .dat), was read by
    whichever reader its extension named, or none; its first bytes say FIF."""
    import mne

    from biofeedback.cli import main

    raw = mne.io.RawArray(_eeg(2500, 2, SF) * 1e-6, mne.create_info(["F3", "F4"], SF, "eeg"),
                          verbose="error")
    raw.save(tmp_path / "rec_raw.fif", verbose="error")
    assert read_recording(tmp_path / "rec_raw.fif").ch_names == ["F3", "F4"]
    for name in ("rec.edf", "rec.dat"):
        fname = tmp_path / name
        fname.write_bytes((tmp_path / "rec_raw.fif").read_bytes())
        assert main(["info", str(fname)]) != 0
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err
        assert (f"{fname}: holds FIF data but its name ends in {fname.suffix}, and MNE "
                "reads FIF by its extension; rename it (or a copy) to end in .fif and "
                "read that.") in err


@pytest.mark.parametrize("sidecar", [True, False])
def test_brainflow_file_resaved_by_a_windows_editor(tmp_path, sidecar):
    """Saved again by an editor that adds a byte-order mark and CRLF line ends,
    a BrainFlow file reads as before (it said its first cell was not a
    number, or could not tell the board without its sidecar)."""
    from brainflow.board_shim import BoardIds

    fname = tmp_path / "synthetic.csv"
    arr, d = _brainflow_file(fname, BoardIds.SYNTHETIC_BOARD.value, 1000, sidecar=sidecar)
    plain = read_recording(fname)
    fname.write_bytes(b"\xef\xbb\xbf" + fname.read_bytes().replace(b"\n", b"\r\n"))
    rec = read_recording(fname)
    assert rec.profile == plain.profile == "synthetic"
    assert_allclose(rec.data * 1e6, arr[d["eeg_channels"]], atol=1e-6)
    assert_allclose(rec.timestamps, plain.timestamps)
    assert rec.warnings == plain.warnings


def _openbci_v5(fname, n, n_ch=8, sfreq=SF, lost=slice(0), marks=None, nan=None,
                restart=None, read_every=None):
    """An OpenBCI GUI v5/v6 file (Cyton's 24 named columns, Daisy's 32): samples
    ``lost`` left out (a slice), ``marks`` {sample: value} in 'Marker Channel',
    EEG NaN over the slice ``nan``. ``restart=(k, pause)``: the stream stopped
    after sample ``k - 1`` and started again ``pause`` seconds later, its
    counter at 0 again. ``read_every`` seconds: the Timestamp is the host's
    time of the serial read that brought the sample (a burst every 16 ms).
    Returns the EEG (µV) kept and t0."""
    x = _eeg(n, n_ch, sfreq)
    if nan is not None:
        x[:, nan] = np.nan
    keep = np.ones(n, bool)
    keep[lost] = False
    step = 2 if n_ch == 16 else 1
    board = "BoardCytonSerialDaisy" if n_ch == 16 else "BoardCytonSerial"
    lines = ["%OpenBCI Raw EXG Data", f"%Number of channels = {n_ch}",
             f"%Sample Rate = {sfreq:g} Hz", f"%Board = OpenBCI_GUI${board}",
             "Sample Index, " + ", ".join(f"EXG Channel {i}" for i in range(n_ch))
             + ", Accel Channel 0, Accel Channel 1, Accel Channel 2, Not Used, "
             "Digital Channel 0 (D11), Digital Channel 1 (D12), Digital Channel 2 (D13), "
             "Digital Channel 3 (D17), Not Used, Digital Channel 4 (D18), Analog Channel 0, "
             "Analog Channel 1, Analog Channel 2, Timestamp, Marker Channel, "
             "Timestamp (Formatted)"]
    t0 = 1678789230.125
    sent = np.arange(n)  # the sample's number since its stream started
    when = t0 + np.arange(n) / sfreq  # when its packet reached the host
    if restart is not None:
        sent[restart[0]:] -= restart[0]
        when[restart[0]:] += restart[1]
    if read_every:
        when = t0 + np.ceil((when - t0) / read_every) * read_every
    for i in np.flatnonzero(keep):
        lines.append(f"{step * sent[i] % 256:.1f}, " + ", ".join(f"{v:.6f}" for v in x[:, i])
                     + ", 0.0" * 13 + f", {when[i]:.6f}, "
                     f"{(marks or {}).get(i, 0.0):.1f}, 2023-03-14 10:20:30.125")
    fname.write_text("\n".join(lines) + "\n")
    return x[:, keep], t0


def _excel_stamps(fname, col, sep, *, first_line=0, fmt="{:.0f}"):
    """``fname`` with the cells of column ``col`` from line ``first_line`` on
    rewritten as a spreadsheet shows and saves them (its General format keeps
    a Unix time's 10 digits and drops the fraction)."""
    lines = fname.read_text().splitlines()
    for k in range(first_line, len(lines)):
        cells = lines[k].split(sep)
        cells[col] = (" " if cells[col].startswith(" ") else "") + fmt.format(
            float(cells[col]))
        lines[k] = sep.join(cells)
    fname.write_text("\n".join(lines) + "\n")


def test_openbci_gui_v5_resaved_by_excel_places_its_first_sample(tmp_path):
    """Excel cuts the GUI's Unix Timestamp to whole seconds: the counter
    still counts the lost samples, and the first sample's time, taken from the
    first cut stamp, was up to a second off, with every stamp said to repeat."""
    fname = tmp_path / "OpenBCI-RAW-2023-03-14_10-20-30.txt"
    x, t0 = _openbci_v5(fname, 2000, lost=slice(900, 940))
    _excel_stamps(fname, -3, ",", first_line=5)
    rec = read_recording(fname)
    assert [g.n_missing for g in rec.gaps] == [40]
    assert_allclose(rec.data * 1e6, x, atol=1e-6)
    assert abs(rec.timestamps[0] - t0) < 0.01
    assert rec.gaps[0].onset == pytest.approx(t0 + 899 / SF, abs=0.01)
    assert rec.warnings == [
        "The timestamps hold whole seconds only, each repeated for about 250 samples, as "
        "a spreadsheet saves Unix times it shows with fewer decimals; they are rebuilt from "
        "the 250 Hz rate and the packet counter, which counts the samples lost.",
        "1 dropped-packet gap (packet counter) (40 samples, 0.160 s missing in total); "
        "kept as gaps, not interpolated."]


def _openbci_classic_excel(fname, n, t0, lost=slice(0)):
    """A GUI v4 file re-saved by Excel: its General format shows the Unix ms
    as ``1.67879E+12`` (6 digits) and the time of day as ``mm:ss.0``."""
    x, t0 = _openbci_classic(fname, n, t0=t0)
    lines = fname.read_text().splitlines()
    if lost.stop:
        del lines[6 + lost.start: 6 + lost.stop]
    for k in range(6, len(lines)):
        cells = lines[k].split(", ")
        _, minutes, seconds = cells[-2].split(":")
        cells[-2] = f"{minutes}:{float(seconds):04.1f}"
        cells[-1] = f"{float(cells[-1]):.6G}"
        lines[k] = ", ".join(cells)
    fname.write_text("\n".join(lines) + "\n")
    keep = np.ones(n, bool)
    keep[lost] = False
    return x[:, keep], t0 + np.flatnonzero(keep) / SF


def test_openbci_gui_v4_resaved_by_excel_rebuilds_its_unix_ms(tmp_path):
    """Excel writes a v4 file's Unix ms as ``1.67880E+12`` and its time of day
    as ``57:49.9``: the file was refused (the Unix time was not told from the
    time of day). The counter rebuilds the stamps, as in other re-saved files;
    the step the stamps cross places them."""
    fname = tmp_path / "OpenBCI-RAW-2023-03-14_11-56-30.txt"
    x, true = _openbci_classic_excel(fname, 20000, 1678794990.0, lost=slice(9000, 9040))
    assert fname.read_text().splitlines()[6].endswith(", 56:30.0, 1.67879E+12")
    rec = read_recording(fname)
    assert_allclose(rec.data, np.round(x, 2) * 1e-6, atol=1e-12)
    assert np.abs(rec.timestamps - true).max() < 0.01
    assert [(g.n_missing, g.source) for g in rec.gaps] == [(40, "packet_counter")]
    assert rec.warnings == [
        "The timestamps hold steps of 10000 s only, each repeated for about 19960 "
        "samples, as a spreadsheet saves Unix times it shows with fewer decimals; they "
        "are rebuilt from the 250 Hz rate and the packet counter, which counts the "
        "samples lost.",
        "1 dropped-packet gap (packet counter) (40 samples, 0.160 s missing in total); "
        "kept as gaps, not interpolated."]


def test_openbci_gui_v4_resaved_by_excel_says_how_far_its_stamps_place_it(tmp_path):
    """Stamps of 6 digits that do not move within the file place it only to
    within 10,000 s: the warning says how far."""
    fname = tmp_path / "OpenBCI-RAW-2023-03-14_10-20-30.txt"
    _, true = _openbci_classic_excel(fname, 2000, 1678789230.123)
    rec = read_recording(fname)
    assert_allclose(np.diff(rec.timestamps), 1 / SF, atol=1e-6)
    assert abs(rec.timestamps[0] - true[0]) <= 4996
    assert rec.gaps == []
    assert rec.warnings == [
        "The timestamps hold steps of 10000 s only, each repeated for about 2000 "
        "samples, as a spreadsheet saves Unix times it shows with fewer decimals; they "
        "are rebuilt from the 250 Hz rate and the packet counter, which counts the "
        "samples lost; the stamps place the recording only to within ±4996 s."]


def _cyton_as_gui_and_brainflow(folder, counter, stamps):
    """The same Cyton samples (``counter``, host ``stamps``) as an OpenBCI GUI
    v5 file and a BrainFlow file (its board's rows, ``DataFilter.write_file``)."""
    import json

    from brainflow.board_shim import BoardShim
    from brainflow.data_filter import DataFilter

    x = _eeg(counter.size, 8, SF)
    gui = folder / "OpenBCI-RAW-2023-03-14_10-20-30.txt"
    lines = ["%OpenBCI Raw EXG Data", "%Number of channels = 8", "%Sample Rate = 250 Hz",
             "%Board = OpenBCI_GUI$BoardCytonSerial",
             "Sample Index, " + ", ".join(f"EXG Channel {i}" for i in range(8))
             + ", Accel Channel 0, Accel Channel 1, Accel Channel 2, Timestamp"]
    lines += [f"{c:.1f}, " + ", ".join(f"{v:.6f}" for v in x[:, i]) + f", 0.0, 0.0, 0.0, "
              f"{stamps[i]:.6f}" for i, c in enumerate(counter)]
    gui.write_text("\n".join(lines) + "\n")
    d = BoardShim.get_board_descr(0)
    arr = np.zeros((d["num_rows"], counter.size))
    arr[d["eeg_channels"]] = x
    arr[d["package_num_channel"]] = counter
    arr[d["timestamp_channel"]] = stamps
    bf = folder / "cyton.csv"
    DataFilter.write_file(arr, str(bf), "w")
    bf.with_suffix(".json").write_text(json.dumps({"board_id": 0}))
    return gui, bf


@pytest.mark.parametrize("case, expected", [
    ("lost 40", [(40, "packet_counter")]),
    ("lost 255", [(255, "packet_counter+clock")]),
    ("lost 511", [(511, "packet_counter+clock")]),
    ("lost 808", [(808, "packet_counter+clock")]),
    ("sent twice", []),
    ("restart", [(751, "packet_counter_restart")]),
])
def test_a_cytons_losses_are_counted_alike_in_gui_and_brainflow_files(tmp_path, case,
                                                                       expected):
    """The OpenBCI GUI reader counted a Cyton's counter its own way: 255 lost
    samples, which bring the counter back to its value, were 255 there but
    none in a BrainFlow file (and 511 were 512); a packet sent twice, stamped
    a read later, was a 9-sample counter restart there and nothing in a
    BrainFlow file. Both read the counter as the board's driver writes it."""
    idx = np.arange(5000)
    when = 1678789230.125 + idx / SF
    if case.startswith("lost"):
        idx = np.r_[0:1000, 1000 + int(case.split()[1]): 5000]
        when = 1678789230.125 + idx / SF
    elif case == "sent twice":
        idx, when = np.insert(idx, 1000, 999), np.insert(when, 1000, when[999] + 0.04)
    else:  # stopped, and started again 3 s later at 0
        when[2500:] += 3.0
        idx = np.r_[0:2500, 0:2500]
    stamps = 1678789230.125 + np.ceil((when - 1678789230.125) / 0.016) * 0.016
    for fname in _cyton_as_gui_and_brainflow(tmp_path, np.mod(idx, 256), stamps):
        rec = read_recording(fname)
        assert [(g.n_missing, g.source) for g in rec.gaps] == expected, fname.name


def test_openbci_gui_v5_marker_channel_becomes_markers(tmp_path):
    """GUI v5+ write the Marker widget's (and UDP/LSL marker inputs') values in
    'Marker Channel': they are markers, at their sample's rebuilt time, and
    survive a conversion."""
    fname = tmp_path / "OpenBCI-RAW-2023-03-14_10-20-30.txt"
    # a lost packet run before the second marker
    x, t0 = _openbci_v5(fname, 1000, lost=slice(400, 404), marks={100: 1.0, 600: 3.0})
    rec = read_recording(fname)
    assert [g.n_missing for g in rec.gaps] == [4]
    assert_allclose(rec.data * 1e6, x, atol=1e-6)
    assert [m[1] for m in rec.markers] == ["1", "3"]
    assert_allclose([m[0] for m in rec.markers], [t0 + 100 / SF, t0 + 600 / SF], atol=1e-6)
    from biofeedback.io import write_recording

    back = read_recording(write_recording(rec, tmp_path / "c.xdf"))
    assert [m[1] for m in back.markers] == ["1", "3"]


@pytest.mark.parametrize("read_every", [None, 0.016])
def test_openbci_gui_v5_counter_restart_is_sized_by_the_clock(tmp_path, read_every):
    """The GUI's stream stopped and started again (or the board reconnected):
    the Sample Index starts again at 0 and the Timestamp jumps 3 s. The counter
    says nothing across it: read as a loss, its 80 samples plus three whole
    turns put every later sample 0.39 s early. The file's clock sizes it, and
    the warning says it is a restart, not lost packets."""
    fname = tmp_path / "OpenBCI-RAW-restart.txt"
    x, t0 = _openbci_v5(fname, 2000, restart=(1200, 3.0), lost=slice(500, 503),
                        read_every=read_every)
    rec = read_recording(fname)
    # the clock is as good as the host's reads: a burst either side of the pause
    burst = round((read_every or 0) * SF)
    assert [g.source for g in rec.gaps] == ["packet_counter", "packet_counter_restart"]
    assert rec.gaps[0].n_missing == 3
    restart = rec.gaps[1]
    assert abs(restart.n_missing - 750) <= burst
    assert restart.duration == pytest.approx(restart.n_missing / SF)
    # the samples after the restart are where the clock puts them
    after = t0 + 3.0 + np.arange(1200, 2000) / SF
    assert_allclose(rec.timestamps[1197:], after, atol=burst / SF + 1e-9)
    assert_allclose(rec.timestamps[:1197], t0 + np.r_[0:500, 503:1200] / SF, atol=1e-9)
    assert_allclose(rec.data * 1e6, x, atol=1e-6)
    assert rec.provenance["n_dropped_samples"] == 3
    assert [w for w in rec.warnings if w.startswith("1 dropped-packet gap (packet counter) "
                                                    "(3 samples")]
    assert [w for w in rec.warnings if w.startswith(
        "1 packet counter restart (its pause sized by the file's clock) "
        f"({restart.n_missing} samples")]


def test_openbci_gui_v5_restart_right_after_the_counters_last_value(tmp_path):
    """Stopped at Sample Index 255 and started again at 0 0.4 s later: the
    counter steps as by one packet; the clock shows the pause and stays late,
    so it is a restart the clock sizes."""
    fname = tmp_path / "OpenBCI-RAW-restart-at-255.txt"
    x, t0 = _openbci_v5(fname, 2000, restart=(1024, 0.4), read_every=0.016)
    rec = read_recording(fname)
    assert [g.source for g in rec.gaps] == ["packet_counter_restart"]
    assert abs(rec.gaps[0].n_missing - 100) <= 4
    assert_allclose(rec.timestamps[1024:], t0 + 0.4 + np.arange(1024, 2000) / SF,
                    atol=4 / SF)
    assert rec.provenance["n_dropped_samples"] == 0
    assert [w for w in rec.warnings if w.startswith("1 packet counter restart")]


def test_openbci_gui_v5_counter_restart_without_a_pause_loses_nothing(tmp_path):
    """The Sample Index starts again at 0 while the clock runs on: no sample is
    missing, and none is invented from the counter's jump."""
    fname = tmp_path / "OpenBCI-RAW-renumbered.txt"
    x, t0 = _openbci_v5(fname, 2000, restart=(1200, 0.0))
    rec = read_recording(fname)
    assert rec.gaps == []
    assert_allclose(rec.timestamps, t0 + np.arange(2000) / SF, atol=1e-9)
    assert rec.provenance["n_dropped_samples"] == 0
    assert not [w for w in rec.warnings if "gap" in w or "restart" in w]


def _wild_file(tmp_path, kind):
    """One recording of each layout this module makes, with its losses and NaN."""
    from brainflow.board_shim import BoardIds

    if kind == "openbci_v5_daisy_loss_nan":
        fname = tmp_path / "OpenBCI-RAW-daisy.txt"
        _openbci_v5(fname, 2500, n_ch=16, sfreq=125.0, lost=slice(700, 720),
                    nan=slice(1500, 1530), marks={300: 2.0})
    elif kind == "openbci_v4_cyton":
        fname = tmp_path / "OpenBCI-RAW-v4.txt"
        _openbci_classic(fname, 3000)
    elif kind == "muse_lsl":
        fname = tmp_path / "muse.csv"
        _muse_lsl(fname, n=3000)
    elif kind == "mind_monitor":
        fname = tmp_path / "mindMonitor.csv"
        _mind_monitor(fname, n=3000)
    else:
        fname = tmp_path / "ganglion.csv"
        _brainflow_file(fname, BoardIds.GANGLION_BOARD.value, 3000)
    return fname


@pytest.mark.parametrize("kind", ["openbci_v5_daisy_loss_nan", "openbci_v4_cyton",
                                  "muse_lsl", "mind_monitor", "brainflow_ganglion"])
def test_replay_of_each_layout_is_the_live_engine_fed_chunk_by_chunk(tmp_path, kind):
    """What replay gives equals the live driver fed the same samples 13 at a
    time, gaps and NaN runs included."""
    from biofeedback.engine import Engine
    from biofeedback.replay import config_from_recording, profile_from_recording, replay

    rec = read_recording(_wild_file(tmp_path, kind))
    out = replay(rec)
    eng = Engine(config_from_recording(rec), rec.ch_names, rec.sfreq,
                 profile_from_recording(rec))
    live = eng.run(rec.data, rec.timestamps, chunk_size=13)
    assert len(out.t_end) == len(live.t_end) > 0
    np.testing.assert_array_equal(out.t_end, live.t_end)
    np.testing.assert_array_equal(out.gated, live.gated)
    np.testing.assert_allclose(out.estimates, live.estimates, rtol=1e-9, atol=1e-12,
                               equal_nan=True)
    if kind.endswith("loss_nan"):
        assert rec.gaps and out.gated.any() and not out.gated.all()


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_a_sidecar_written_by_hand_on_windows_reads(tmp_path, encoding):
    """The '{"board_id": N}' the docs ask for, saved by Notepad (a byte-order
    mark) or by PowerShell 5's 'echo ... > x.json' (UTF-16)."""
    from brainflow.board_shim import BoardIds

    fname = tmp_path / "daisy.csv"
    arr, d = _brainflow_file(fname, BoardIds.CYTON_DAISY_BOARD.value, 500, sidecar=False)
    fname.with_suffix(".json").write_bytes('{"board_id": 2}\r\n'.encode(encoding))
    rec = read_recording(fname)
    assert rec.profile == "cyton_daisy" and rec.warnings == []
    assert_allclose(rec.data * 1e6, arr[d["eeg_channels"]], atol=1e-6)


def test_trigger_channel_events_become_markers(tmp_path):
    """A FIF's 'STI 014' (or a BioSemi BDF's 'Status') holds the events: they
    were dropped with the channel; they are markers at their sample's time."""
    import mne

    x = _eeg(2500, 4, SF) * 1e-6
    stim = np.zeros(2500)
    stim[100:105] = 5
    stim[1000:1003] = 2
    info = mne.create_info(["F3", "F4", "O1", "O2", "STI 014"], SF,
                           ["eeg"] * 4 + ["stim"])
    raw = mne.io.RawArray(np.vstack([x, stim]), info, verbose="error")
    raw.set_meas_date(1700000000.0)
    raw.save(tmp_path / "trig_raw.fif", verbose="error")
    rec = read_recording(tmp_path / "trig_raw.fif")
    assert rec.ch_names == ["F3", "F4", "O1", "O2"]
    assert rec.markers == [(rec.timestamps[100], "5"), (rec.timestamps[1000], "2")]
    assert rec.timestamps[100] == pytest.approx(1700000000.0 + 100 / SF)


def test_biosemi_status_triggers_are_markers_and_its_state_bits_are_not(tmp_path):
    """BioSemi's 'Status' (a BDF signal MNE reads as stim, its dimension
    'Boolean') holds triggers in its low 16 bits and the device's state above:
    the triggers are markers; Status is neither EEG nor a non-volt stream."""
    edfio = pytest.importorskip("edfio")
    x = _eeg(2560, 4, 256.0)
    status = np.full(2560, -65536.0)  # 0xFF0000 as a signed 24-bit number
    status[500:510] += 3
    sigs = [edfio.BdfSignal(x[i], 256.0, label=f"A{i + 1}", physical_dimension="uV",
                            physical_range=(-262144, 262143)) for i in range(4)]
    sigs.append(edfio.BdfSignal(status, 256.0, label="Status", physical_dimension="Boolean",
                                physical_range=(-8388608, 8388607),
                                digital_range=(-8388608, 8388607)))
    fname = tmp_path / "biosemi.bdf"
    edfio.Bdf(sigs).write(fname)
    rec = read_recording(fname)
    assert rec.ch_names == ["A1", "A2", "A3", "A4"] and "non_eeg" not in rec.streams
    assert rec.markers == [(rec.timestamps[500], "3")]
    assert rec.warnings == []


def test_a_counter_restart_is_sized_by_the_clock_not_as_a_whole_turn(tmp_path):
    """A Muse that reconnects restarts its 16-bit packet counter at 0: read as a
    wrap, the 2 s outage became 51 minutes of lost samples."""
    from brainflow.board_shim import BoardIds

    fname = tmp_path / "muse.csv"
    arr, d = _brainflow_file(fname, BoardIds.MUSE_2_BOARD.value, 3000)
    ts_row, pk = d["timestamp_channel"], d["package_num_channel"]
    arr[pk] = np.arange(3000) // 12 + 5000  # mid-count when the file starts
    arr[pk, 1200:] = np.arange(1800) // 12  # back to 0 after the reconnect
    arr[ts_row, 1200:] += 2.0
    from brainflow.data_filter import DataFilter

    DataFilter.write_file(arr, str(fname), "w")
    rec = read_recording(fname)
    assert [g.n_missing for g in rec.gaps] == [512]
    assert rec.gaps[0].duration == pytest.approx(2.0, abs=0.01)


def _discontinuous(edf, after, pause):
    """The EDF+ file ``edf`` made EDF+D: records from ``after`` on start
    ``pause`` seconds later, as their annotation signal says."""
    b = bytearray(edf.read_bytes())
    ns, n_head, n_rec = int(b[252:256]), int(b[184:192]), int(b[236:244])
    labels = [bytes(b[256 + 16 * i: 256 + 16 * (i + 1)]).strip() for i in range(ns)]
    n_samp = [int(b[256 + 216 * ns + 8 * i: 256 + 216 * ns + 8 * (i + 1)]) for i in range(ns)]
    ann = labels.index(b"EDF Annotations")
    size, at, length = sum(n_samp) * 2, sum(n_samp[:ann]) * 2, n_samp[ann] * 2
    b[192:197] = b"EDF+D"
    for r in range(after, n_rec):
        s = n_head + r * size + at
        tal = bytes(b[s: s + length])
        end = tal.index(b"\x14")
        b[s: s + length] = (f"+{float(tal[1:end]) + pause:g}".encode()
                            + tal[end:])[:length].ljust(length, b"\x00")
    edf.write_bytes(bytes(b))


def test_a_discontinuous_edf_keeps_its_pause(tmp_path):
    """EDF+D (the OpenBCI GUI's BDF+D after a stop and start): MNE reads the
    records back to back; each is now stamped at its onset, the pause a gap,
    and no replay window spans it."""
    import mne

    from biofeedback.replay import replay

    x = _eeg(2500, 4, SF) * 1e-6
    raw = mne.io.RawArray(x, mne.create_info(["F3", "F4", "O1", "O2"], SF, "eeg"),
                          verbose="error")
    raw.set_meas_date(1700000000.0)
    fname = tmp_path / "d.edf"
    mne.export.export_raw(fname, raw, fmt="edf", verbose="error")
    _discontinuous(fname, after=5, pause=3.0)
    rec = read_recording(fname)
    assert rec.n_times == 2500
    assert [(g.n_missing, g.duration, g.source) for g in rec.gaps] == [(750, 3.0,
                                                                          "edf_records")]
    assert rec.gaps[0].onset == pytest.approx(1700000000.0 + 1249 / SF)
    assert rec.timestamps[1250] - rec.timestamps[1249] == pytest.approx(3.0 + 1 / SF)
    assert_allclose(rec.data, x, atol=1e-8)
    out = replay(rec)
    starts = out.t_end - (500 - 1) / SF  # 2 s windows
    assert not np.any((starts <= rec.timestamps[1249]) & (out.t_end >= rec.timestamps[1250]))


def test_a_discontinuous_edf_with_overlapping_onsets_stays_back_to_back(tmp_path):
    """Onsets in whole elapsed seconds (the OpenBCI GUI's) can make records
    overlap: they are no clock, so the records stay back to back, said once."""
    import mne

    x = _eeg(2500, 4, SF) * 1e-6
    raw = mne.io.RawArray(x, mne.create_info(["F3", "F4", "O1", "O2"], SF, "eeg"),
                          verbose="error")
    fname = tmp_path / "d.edf"
    mne.export.export_raw(fname, raw, fmt="edf", verbose="error")
    _discontinuous(fname, after=5, pause=-1.0)
    rec = read_recording(fname)
    assert rec.gaps == []
    assert_allclose(np.diff(rec.timestamps), 1 / SF, atol=1e-6)
    assert any("onsets overlap (record 6 starts 0 s after" in w for w in rec.warnings)


def test_an_edf_is_opened_once_beside_mne(tmp_path, opens):
    """The volts check and the record onsets read an EDF+D's headers in one
    open: besides MNE's own opens, the reader opens the file once."""
    import mne

    from biofeedback.io._mne import read_mne

    raw = mne.io.RawArray(_eeg(2500, 2, SF) * 1e-6,
                          mne.create_info(["F3", "F4"], SF, "eeg"), verbose="error")
    fname = tmp_path / "d.edf"
    mne.export.export_raw(fname, raw, fmt="edf", verbose="error")
    _discontinuous(fname, after=5, pause=3.0)
    with opens(fname) as by_mne:
        mne.io.read_raw(fname, preload=True, verbose="error")
    with opens(fname) as by_reader:
        rec = read_mne(fname)
    assert [g.n_missing for g in rec.gaps] == [750]
    assert len(by_mne) >= 1 and len(by_reader) == len(by_mne) + 1


@pytest.mark.parametrize("n_records", ["declared", "-1"])
def test_each_record_onset_of_a_discontinuous_edf_is_read(tmp_path, n_records):
    """Two pauses, records of 250 samples and the annotation signal between
    them, in a file whose header counts its records or still says -1 (a
    recorder that did not close it): every record's onset is read, each
    pause is its own gap, and the samples are stamped at their records."""
    import mne

    x = _eeg(10 * 250, 3, SF) * 1e-6
    raw = mne.io.RawArray(x, mne.create_info(["F3", "F4", "Cz"], SF, "eeg"),
                          verbose="error")
    fname = tmp_path / "d.edf"
    mne.export.export_raw(fname, raw, fmt="edf", verbose="error")
    _discontinuous(fname, after=3, pause=2.0)
    _discontinuous(fname, after=7, pause=0.5)  # records 7 on: 2.5 s late in all
    if n_records == "-1":
        b = bytearray(fname.read_bytes())
        b[236:244] = b"-1      "
        fname.write_bytes(bytes(b))
    rec = read_recording(fname)
    assert rec.n_times == 2500
    assert [(g.n_missing, g.duration) for g in rec.gaps] == [(500, 2.0), (125, 0.5)]
    late = np.repeat([0.0, 2.0, 2.5], [750, 1000, 750])
    assert_allclose(rec.timestamps - rec.timestamps[0], np.arange(2500) / SF + late,
                    atol=1e-6)
    assert_allclose(rec.data, x, atol=1e-8)


def test_the_one_board_of_a_column_count_is_guessed_without_a_second_read(tmp_path, opens):
    """A Cyton's 24 rows fit one board: its file is opened as often as with a
    sidecar naming the board (the guess reads no lines of its own), and its
    rate is checked on the timestamps the read gives."""
    from brainflow.board_shim import BoardIds

    fname = tmp_path / "cyton.csv"
    named = tmp_path / "named.csv"
    for f, side in ((fname, False), (named, True)):
        _brainflow_file(f, BoardIds.CYTON_BOARD.value, 3000, sidecar=side)
    with opens(fname) as guessed:
        rec = read_recording(fname)
    with opens(named) as told:
        read_recording(named)
    assert rec.profile == "cyton"
    assert any(w.startswith("No sidecar names the board; guessed cyton") for w in rec.warnings)
    assert len(told) >= 1 and len(guessed) == len(told)


def test_edf_channels_labelled_eog_ecg_emg_are_not_eeg(tmp_path):
    """EDF holds no channel types: a polysomnograph's 'EOG ROC', 'ECG' and 'EMG
    chin', in µV like the EEG, were read as EEG, so the engine filtered, gated
    and averaged them with the scalp channels and a model learnt their power."""
    edfio = pytest.importorskip("edfio")
    x = _eeg(2560, 4, 256.0)
    rng = np.random.default_rng(2)
    other = 50 * rng.standard_normal((3, 2560))
    labels = ["EOG ROC", "ECG", "EMG chin"]
    sigs = [edfio.EdfSignal(x[i], 256.0, label=ch, physical_dimension="uV",
                            physical_range=(-500, 500))
            for i, ch in enumerate(["Fp1", "Fp2", "C3", "C4"])]
    sigs += [edfio.EdfSignal(other[i], 256.0, label=ch, physical_dimension="uV",
                             physical_range=(-500, 500)) for i, ch in enumerate(labels)]
    fname = tmp_path / "psg.edf"
    edfio.Edf(sigs).write(fname)
    rec = read_recording(fname)
    assert rec.ch_names == ["Fp1", "Fp2", "C3", "C4"]
    assert_allclose(rec.data * 1e6, x, atol=0.05)
    st = rec.streams["non_eeg"]
    assert st.ch_names == labels and st.meta["units"] == ["V"] * 3
    assert_allclose(st.data * 1e6, other, atol=0.05)
    assert ("3 channels are named as signals other than EEG (EOG ROC (EOG), ECG (ECG), "
            "EMG chin (EMG)): they are kept as the stream 'non_eeg', not read as EEG."
            ) in rec.warnings
    # a FIF copy keeps them beside the EEG, typed as their labels say
    from biofeedback.io import write_recording

    back = read_recording(write_recording(rec, tmp_path / "psg_raw.fif"))
    assert back.ch_names == rec.ch_names and back.warnings == []
    assert back.streams["non_eeg"].ch_names == labels
    assert_allclose(back.streams["non_eeg"].data, st.data, atol=1e-12)
    # a file of such channels alone keeps them: there is nothing else to read
    edfio.Edf(sigs[4:]).write(fname)
    assert read_recording(fname).ch_names == labels


def test_fif_eog_and_ecg_channels_are_kept_beside_the_eeg(tmp_path):
    """A FIF file's EOG and ECG channels (typed so by MNE) were dropped without a
    word: only EEG was read. They are the stream 'non_eeg', as in an EDF."""
    import mne

    x = _eeg(2560, 4, 256.0) * 1e-6
    other = np.random.default_rng(3).normal(0, 50e-6, (2, 2560))
    info = mne.create_info(["Fz", "Cz", "Pz", "Oz", "VEOG", "ECG"], 256.0,
                           ["eeg"] * 4 + ["eog", "ecg"])
    fname = tmp_path / "rest_raw.fif"
    mne.io.RawArray(np.vstack([x, other]), info, verbose="error").save(fname, verbose="error")
    rec = read_recording(fname)
    assert rec.ch_names == ["Fz", "Cz", "Pz", "Oz"]
    assert rec.streams["non_eeg"].ch_names == ["VEOG", "ECG"]
    assert_allclose(rec.streams["non_eeg"].data, other, atol=1e-12)

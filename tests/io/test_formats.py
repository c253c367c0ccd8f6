"""OpenBCI, BrainFlow and MNE formats on real files and files we and others write."""

import json
import re
import time

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from biofeedback.cli import main
from biofeedback.io import Recording, read_recording, write_recording


@pytest.fixture
def obci_open(shared_io):
    return read_recording(shared_io / "openbci-gui" / "OpenBCI-RAW-EyesOpen.txt")


def test_openbci_real_eyes_open(obci_open):
    rec = obci_open
    assert rec.source_format == "openbci-txt"
    assert rec.sfreq == 250.0
    assert rec.profile == "cyton"
    from biofeedback.hardware import get_profile

    assert rec.ch_names == list(get_profile("cyton").ch_names)
    assert rec.n_times == 17073
    # first line: 0, -6976.11, -11534.48, ... µV
    assert_allclose(rec.data[:2, 0], [-6976.11e-6, -11534.48e-6])
    # counter jumps: three single drops, then the stream stopped and started
    # again 9.4 s later, its counter at 0: the file's clock sizes that pause
    assert [g.n_missing for g in rec.gaps[:3]] == [1, 1, 1]
    assert rec.gaps[3].n_missing > 2000
    assert rec.gaps[3].source == "packet_counter_restart"
    assert rec.provenance["channel_problems"]["railed"] == [rec.ch_names[6]]
    assert np.all(np.diff(rec.timestamps) > 0)
    assert rec.streams["accelerometer"].ch_names == ["X", "Y", "Z"]
    assert rec.streams["accelerometer"].data[2, 0] == pytest.approx(0.498)


def test_openbci_real_eyes_closed_and_profile_override(shared_io):
    fname = shared_io / "openbci-gui" / "OpenBCI-RAW-EyesClosed.txt"
    from biofeedback.io._openbci import read_openbci_txt

    names = ["F3", "Fz", "F4", "C3", "Cz", "C4", "O1", "I2"]  # the recorder's notes
    rec = read_openbci_txt(fname, ch_names=names)
    assert rec.ch_names == names
    assert len(rec.gaps) == 1 and rec.gaps[0].n_missing > 6000
    assert rec.provenance["channel_problems"]["railed"] == []


def test_openbci_counter_wrap_exact(tmp_path):
    """Drops across the 255 -> 0 wrap are counted exactly."""
    keep = np.ones(1000, bool)
    keep[[100, 101, 102, 255, 256, 511]] = False
    lines = ["%OpenBCI Raw EEG Data", "%Sample Rate = 250.0 Hz"]
    for i in np.flatnonzero(keep):
        s = i / 250
        lines.append(f"{i % 256}, " + ", ".join(["1.0"] * 7) + f", {i}.0, 0.0, 0.0, "
                     f"0.0, 10:00:{int(s):02d}.{int(round((s % 1) * 1000)):03d}")
    fname = tmp_path / "OpenBCI-RAW-wrap.txt"
    fname.write_text("\n".join(lines) + "\n")
    rec = read_recording(fname)
    assert [g.n_missing for g in rec.gaps] == [3, 2, 1]
    assert all(g.source == "packet_counter" for g in rec.gaps)
    # timestamps rebuilt on the true sample grid
    assert_allclose(rec.timestamps - rec.timestamps[0],
                    np.flatnonzero(keep) / 250.0, atol=1e-9)
    assert_allclose(rec.data[7] * 1e6, np.flatnonzero(keep))


def test_openbci_counter_step_is_judged_by_the_exact_median():
    """The counter's step (2 for a Cyton+Daisy) is told by the median of its
    steps, counted without sorting them: the same answer as ``np.median`` on
    odd and even counts, ties, NaN and values either side of 2."""
    from biofeedback.io._openbci import _median_is

    rng = np.random.default_rng(0)
    pool = np.array([0.0, 1.0, 1.5, 2.0, 2.0, 2.5, 3.0, 255.0, np.nan,
                     np.nextafter(2.0, 0.0), np.nextafter(2.0, 3.0)])
    for _ in range(5000):
        x = rng.choice(pool[: rng.integers(3, pool.size + 1)], rng.integers(1, 12))
        assert _median_is(x, 2.0) == (np.median(x) == 2.0), x
    assert not _median_is(np.empty(0), 2.0)


@pytest.mark.parametrize("wrap", [256, 100])
def test_openbci_counter_steps_are_np_mod_of_its_steps(wrap):
    """The counter's steps modulo its wrap, taken without a division for a
    counter within 0..wrap: np.mod's bits, fractions and repeats included."""
    from biofeedback.io._openbci import _counter_steps

    rng = np.random.default_rng(4)
    for _ in range(200):
        c = rng.integers(0, wrap, 500).astype(float)
        c[c < wrap - 1] += rng.choice([0, 0.5, 0.25, 1e-9], int(np.sum(c < wrap - 1)))
        want = np.mod(np.diff(c), wrap)
        assert _counter_steps(c, wrap, True).tobytes() == want.tobytes()
        assert _counter_steps(c * 3, wrap, False).tobytes() == \
            np.mod(np.diff(c * 3), wrap).tobytes()


@pytest.mark.parametrize("n_times", [1000, 600_000])
def test_channels_checked_aside_find_what_channel_problems_finds(n_times):
    """A long recording's channels are checked on a thread while its reader
    checks the clock: the same findings and warnings, the data scaled in
    place first; a short one's on the reader's thread."""
    from biofeedback.io._integrity import channel_problems, channel_problems_aside

    rng = np.random.default_rng(2)
    uv = rng.normal(0, 20, (4, n_times))
    uv[1] = 187500.0  # railed
    uv[2] = 3.0  # flat
    uv[3, ::7] = np.nan
    names = ["TP9", "AF7", "AF8", "TP10"]
    data = uv.copy()
    done = channel_problems_aside(data, names, 187500e-6, scale=1e-6)
    got = done()
    assert data.tobytes() == (uv * 1e-6).tobytes()
    assert got == channel_problems(uv * 1e-6, names, 187500e-6)
    assert got[0]["railed"] == ["AF7"] and got[0]["flat"] == ["AF8"]
    assert got[0]["nonfinite"] == {"TP10": len(range(0, n_times, 7))}


def test_openbci_gui_ganglion_file(tmp_path):
    """A GUI v5 Ganglion file: its packet ids (0, then 101-200, two samples each)
    are read as the Ganglion numbers them, so a turn of the counter is not a loss
    and real losses (a few packets, whole turns) are counted exactly."""
    keep = np.ones(4000, bool)
    keep[1001:1011] = False  # 5 packets
    keep[3001:3601] = False  # 3 whole turns of the counter: the clock says so
    idx = np.flatnonzero(keep)
    lines = ["%OpenBCI Raw EXG Data", "%Number of channels = 4", "%Sample Rate = 200 Hz",
             "%Board = OpenBCI_GUI$BoardGanglionBLE",
             "Sample Index, EXG Channel 0, EXG Channel 1, EXG Channel 2, EXG Channel 3, "
             "Accel Channel 0, Accel Channel 1, Accel Channel 2, Other, Timestamp, "
             "Marker Channel, Timestamp (Formatted)"]
    for i in idx:
        counter = 0 if i == 0 else 101 + ((i - 1) // 2) % 100
        lines.append(f"{counter}, {i}.0, 1.0, 2.0, 3.0, 0.0, 0.0, 0.0, 0, "
                     f"{1.7e9 + i / 200:.4f}, 0.0, 2023-11-14 22:13:20.000")
    fname = tmp_path / "OpenBCI-RAW-2023-11-14_22-13-20.txt"
    fname.write_text("\n".join(lines) + "\n")
    rec = read_recording(fname)
    assert rec.profile == "ganglion" and rec.ch_names == ["F3", "F4", "O1", "O2"]
    assert [g.n_missing for g in rec.gaps] == [10, 600]
    # (Unix seconds near 1.7e9 hold about 2e-7 s)
    assert_allclose(rec.timestamps - rec.timestamps[0], idx / 200.0, atol=1e-6)
    assert_allclose(rec.data[0] * 1e6, idx)
    assert "ganglion" not in " ".join(rec.warnings).lower(), rec.warnings
    # as a BrainFlow file (to play as the board) it keeps the Ganglion's own counter,
    # so a loss that splits a packet is not moved by a sample
    back = read_recording(write_recording(rec, tmp_path / "ganglion.csv"))
    assert back.profile == "ganglion" and [g.n_missing for g in back.gaps] == [10, 600]


def _ganglion_gui_file(fname, base, segments):
    """A GUI v5 Ganglion file numbering its packets from ``base`` (101 or 1), two
    samples each. Each segment is ``(pause, start, n_samples)``: ``pause``
    seconds of clock before it; ``start`` 0 (a stream started again: one
    sample numbered 0, then packets from ``base``), a packet id to restart
    on, ``"+k"`` (k packets lost) or None (no loss)."""
    lines = ["%OpenBCI Raw EXG Data", "%Number of channels = 4", "%Sample Rate = 200 Hz",
             "%Board = OpenBCI_GUI$BoardGanglionBLE",
             "Sample Index, EXG Channel 0, EXG Channel 1, EXG Channel 2, EXG Channel 3, "
             "Accel Channel 0, Accel Channel 1, Accel Channel 2, Other, Timestamp, "
             "Marker Channel, Timestamp (Formatted)"]
    t, i, packet = 1.7e9, 0, 0
    for pause, start, n in segments:
        t += pause
        counters = []
        if start == 0:
            counters, packet = [0], 0
        elif isinstance(start, str):
            packet += int(start)
        elif start is not None:
            packet = start - base
        while len(counters) < n:
            counters += [base + packet % 100] * 2
            packet += 1
        for c in counters[:n]:
            lines.append(f"{c}, {i}.0, 1.0, 2.0, 3.0, 0.0, 0.0, 0.0, 0, {t:.4f}, 0.0, "
                         "2023-11-14 22:13:20.000")
            t, i = t + 1 / 200, i + 1
    fname.write_text("\n".join(lines) + "\n")
    return fname


@pytest.mark.parametrize("base", [101, 1])
def test_openbci_gui_ganglion_restarts_onto_0_or_either_numbering(tmp_path, base):
    """A Ganglion's counter restarts onto 0 (its first, uncompressed sample) or
    onto the first id of either numbering (101-200 or 1-100). Only the restarts
    onto 1 were found; the others were losses of whole turns, the clock rounded
    to them (400 samples for a pause of 474). A loss of whole turns ending on
    the first id, which the clock agrees with, stays a loss (its turns the
    clock's)."""
    fname = _ganglion_gui_file(tmp_path / "OpenBCI-RAW-2023-11-14_22-13-20.txt", base, [
        (0, 0, 1001),  # 0, then 500 packets: ends on the cycle's last id
        (2.37, 0, 1001),  # restarted onto 0 after 2.37 s
        (0.6, base, 800),  # onto the first id, from the last: no jump by the counter
        (0.45, 0, 851),  # onto 0 from the last id: no jump either; ends mid-cycle
        (1.61, base, 800),  # onto the first id, from mid-cycle
        (3.0, "+300", 800),  # 3 turns lost, ending on the first id: the clock agrees
    ])
    rec = read_recording(fname)
    restart, loss = "packet_counter_restart", "packet_counter+clock"
    assert [(g.n_missing, g.source) for g in rec.gaps] == [
        (474, restart), (120, restart), (90, restart), (322, restart), (600, loss)]


def test_brainflow_synthetic_board_file(tmp_path):
    """A file written by BrainFlow's own DataFilter.write_file from a real board."""
    from brainflow.board_shim import BoardIds, BoardShim, BrainFlowInputParams
    from brainflow.data_filter import DataFilter

    BoardShim.disable_board_logger()
    board = BoardShim(BoardIds.SYNTHETIC_BOARD.value, BrainFlowInputParams())
    board.prepare_session()
    try:
        board.start_stream()
        time.sleep(1.0)
        board.insert_marker(7)
        time.sleep(0.5)
        raw = board.get_board_data()
        board.stop_stream()
    finally:
        board.release_session()
    fname = tmp_path / "synthetic.csv"
    DataFilter.write_file(raw, str(fname), "w")
    (tmp_path / "synthetic.json").write_text(json.dumps({"board_id": -1}))
    rec = read_recording(fname)
    assert rec.source_format == "brainflow"
    assert rec.profile == "synthetic" and len(rec.ch_names) == 16
    assert rec.provenance["clock"] == "Unix seconds (BrainFlow host time)"
    eeg = BoardShim.get_eeg_channels(BoardIds.SYNTHETIC_BOARD.value)
    assert_allclose(rec.data * 1e6, raw[eeg], atol=1e-6)
    ts_row = BoardShim.get_timestamp_channel(BoardIds.SYNTHETIC_BOARD.value)
    assert_allclose(rec.timestamps, raw[ts_row], atol=1e-6)
    assert [m[1] for m in rec.markers] == ["7"]
    accel = BoardShim.get_accel_channels(BoardIds.SYNTHETIC_BOARD.value)
    assert_allclose(rec.streams["accelerometer"].data, raw[accel], atol=1e-6)  # no key
    # and our writer produces what BrainFlow reads back, accelerometer included
    out = write_recording(rec, tmp_path / "ours.csv")
    back = DataFilter.read_file(str(out))
    assert_allclose(back[eeg], raw[eeg], atol=2e-6)
    assert_allclose(back[accel], raw[accel], atol=1e-6)
    assert np.ptp(raw[accel]) > 0
    again = read_recording(out)
    assert again.provenance["sidecar"]["accelerometer"] is True
    assert_allclose(again.streams["accelerometer"].data, raw[accel], atol=1e-6)


def _synthetic_board_parts(n_parts, pause):
    """Board arrays of BrainFlow's synthetic board, streamed ``n_parts`` times
    with ``stop_stream``/``start_stream`` and ``pause`` seconds between."""
    from brainflow.board_shim import BoardIds, BoardShim, BrainFlowInputParams

    BoardShim.disable_board_logger()
    board = BoardShim(BoardIds.SYNTHETIC_BOARD.value, BrainFlowInputParams())
    board.prepare_session()
    parts = []
    try:
        for k in range(n_parts):
            if k:
                time.sleep(pause)
            board.start_stream()
            time.sleep(1.5)
            parts.append(board.get_board_data())
            board.stop_stream()
    finally:
        board.release_session()
    return parts


def test_brainflow_file_appended_across_a_restart_sizes_the_pause_by_its_stamps(
        tmp_path):
    """``stop_stream``, ``start_stream`` and ``write_file(..., "a")``: the package
    counter starts again at 0 mid-file, and says nothing of the pause."""
    from brainflow.data_filter import DataFilter

    first, second = _synthetic_board_parts(2, 2.0)
    assert second[0, 0] == 0  # the counter restarted
    # end the first part at counter 100: read as a loss, the counter would say
    # 155 samples plus whole turns, not what the stamps say
    first = np.ascontiguousarray(first[:, : int(np.flatnonzero(first[0] == 100)[0]) + 1])
    fname = tmp_path / "appended.csv"
    DataFilter.write_file(first, str(fname), "w")
    DataFilter.write_file(second, str(fname), "a")
    (tmp_path / "appended.json").write_text(json.dumps({"board_id": -1}))
    rec = read_recording(fname)
    step = second[30, 0] - first[30, -1]
    assert len(rec.gaps) == 1
    assert rec.gaps[0].source == "packet_counter_restart"
    assert abs(rec.gaps[0].n_missing - (step * 250 - 1)) <= 1
    assert rec.gaps[0].duration == pytest.approx(step - 1 / 250)
    assert not [w for w in rec.warnings if "sampling rate" in w]
    assert [w for w in rec.warnings if "1 package counter restart" in w]


def test_brainflow_rate_is_judged_without_a_counter_restart(tmp_path):
    """Stamps 4 % slow on both sides of a long restart: the pause, sized by
    the stamps, does not pull the rate back to the declared one."""
    from brainflow.board_shim import BoardShim
    from brainflow.data_filter import DataFilter

    rows = BoardShim.get_num_rows(-1)
    fname = tmp_path / "slow.csv"
    t0 = 1.7e9
    for k, mode in enumerate("wa"):
        part = np.zeros((rows, 500))
        part[0] = np.arange(500) % 256
        part[1:17] = np.random.default_rng(k).normal(0, 10, (16, 500))
        part[30] = t0 + k * 62.0 + np.arange(500) / 240.0
        DataFilter.write_file(part, str(fname), mode)
    (tmp_path / "slow.json").write_text(json.dumps({"board_id": -1}))
    rec = read_recording(fname)
    assert [g.source for g in rec.gaps] == ["packet_counter_restart"]
    assert [w for w in rec.warnings if "measured sampling rate 240.0" in w]


def _cyton_rows(n, t, k0=0):
    """BrainFlow's rows of the synthetic board: counter from sample ``k0``, EEG,
    timestamps ``t``."""
    from brainflow.board_shim import BoardShim

    part = np.zeros((BoardShim.get_num_rows(-1), n))
    part[0] = np.arange(k0, k0 + n) % 256
    part[1:17] = np.random.default_rng(k0).normal(0, 10, (16, n))
    part[30] = t
    return part


def _read_stamps(true, every=0.016):
    """The host's time of the serial read that brought each sample."""
    return 1.7e9 + np.ceil((true - 1.7e9) / every) * every


def test_brainflow_restart_right_after_the_counters_last_value_is_sized_by_the_stamps(
        tmp_path):
    """Stopped at counter 255 and started again at 0 0.4 s later: the counter
    steps as by one packet and says nothing was lost; the stamps pause, and stay
    late (a restarted stream's stamps never catch up), so the pause is a restart
    they size, and the samples after it are placed 0.4 s later."""
    from brainflow.data_filter import DataFilter

    fname = tmp_path / "appended.csv"
    true = 1.7e9 + np.arange(1024) / 250.0
    DataFilter.write_file(_cyton_rows(512, _read_stamps(true[:512])), str(fname), "w")
    DataFilter.write_file(_cyton_rows(512, _read_stamps(true[512:] + 0.4)), str(fname),
                          "a")
    (tmp_path / "appended.json").write_text(json.dumps({"board_id": -1}))
    rec = read_recording(fname)
    assert [g.source for g in rec.gaps] == ["packet_counter_restart"]
    assert abs(rec.gaps[0].n_missing - 100) <= 4
    assert [w for w in rec.warnings if "1 package counter restart" in w]


def test_brainflow_late_batch_onto_counter_zero_is_no_restart(tmp_path):
    """The host stalled 0.5 s and then read what it held back at once: the
    stamps pause where the counter reads 0, then catch up. Nothing was lost:
    no gap, and the pause is said as samples stamped late."""
    from brainflow.data_filter import DataFilter

    fname = tmp_path / "stalled.csv"
    stamps = _read_stamps(1.7e9 + np.arange(1024) / 250.0)
    stamps[512:637] = stamps[637]  # read with the first sample after the stall
    DataFilter.write_file(_cyton_rows(1024, stamps), str(fname), "w")
    (tmp_path / "stalled.json").write_text(json.dumps({"board_id": -1}))
    rec = read_recording(fname)
    assert rec.gaps == []
    assert [w for w in rec.warnings if "stamped late on the host, not lost" in w]


def test_brainflow_csv_of_a_recording_without_accelerometer_reads_back_without_one(
        tmp_path, capsys):
    """A board recording with no accelerometer (an XDF of its EEG alone) is
    written in the board's rows; the accelerometer rows are left empty and the
    sidecar says so, so no all-zero accelerometer is read back as measured."""
    rng = np.random.default_rng(0)
    x = rng.normal(0, 10e-6, (8, 1000))
    rec = Recording(data=x, sfreq=250.0, ch_names=["Fp1", "Fp2", "C3", "C4", "P7", "P8",
                                                   "O1", "O2"],
                    timestamps=1.7e9 + np.arange(1000) / 250.0, profile="cyton",
                    source_format="xdf")
    back = read_recording(write_recording(rec, tmp_path / "x.csv"))
    assert back.profile == "cyton" and "accelerometer" not in back.streams
    assert back.provenance["sidecar"]["accelerometer"] is False
    assert_allclose(back.data, x, atol=1e-11)
    # the same through the command line's convert
    src = write_recording(rec, tmp_path / "eeg.xdf")
    assert main(["convert", str(src), str(tmp_path / "c.csv")]) == 0
    assert "accelerometer" not in read_recording(tmp_path / "c.csv").streams


def test_brainflow_csv_of_a_jittery_recording_loses_no_packets_and_keeps_a_gap(tmp_path):
    """A live session's XDF is stamped in LSL chunks: steps of up to two
    periods are jitter, not losses, and the BrainFlow counter written from
    them must not read back as dropped packets; a real 2 s gap still does."""
    rng = np.random.default_rng(0)
    n, sfreq = 5000, 250.0
    ts = 100.0 + np.arange(n) / sfreq
    ts[::10] += rng.uniform(-1.0, 1.0, n // 10) / sfreq  # chunk stamps off by a period
    ts[3005:] += 2.0  # 500 samples missing between two unjittered stamps
    rec = Recording(data=rng.normal(0, 10e-6, (16, n)), sfreq=sfreq,
                    ch_names=[f"C{i}" for i in range(16)], timestamps=ts,
                    profile="synthetic", source_format="xdf")
    back = read_recording(write_recording(rec, tmp_path / "jitter.csv"))
    assert [g.n_missing for g in back.gaps] == [500]


def test_brainflow_csv_says_whose_clock_its_timestamps_are(tmp_path):
    """A recording on the LSL clock written as BrainFlow CSV is not said to
    hold Unix seconds (BrainFlow's own files are); a sidecar's clock is
    printed safely."""
    rng = np.random.default_rng(0)
    rec = Recording(data=rng.normal(0, 10e-6, (4, 500)), sfreq=250.0,
                    ch_names=["TP9", "AF7", "AF8", "TP10"],
                    timestamps=11906.852 + np.arange(500) / 250.0,
                    profile="synthetic", source_format="xdf")
    back = read_recording(write_recording(rec, tmp_path / "lsl.csv"))
    assert back.provenance["clock"] == "the timestamps of the xdf it was written from"
    again = read_recording(write_recording(back, tmp_path / "again.csv"))
    assert again.provenance["clock"] == back.provenance["clock"]
    side = json.loads((tmp_path / "lsl.json").read_text())
    side["clock"] = "\x1b[2Jsome clock"
    (tmp_path / "lsl.json").write_text(json.dumps(side))
    assert read_recording(tmp_path / "lsl.csv").provenance["clock"] == "?[2Jsome clock"


def test_mne_roundtrips(tmp_path, obci_open):
    rec = obci_open.copy().crop(None, obci_open.timestamps[9000])
    assert len(rec.gaps) == 2
    rec.markers = [(float(rec.timestamps[100]), "session_start"),
                   (float(rec.timestamps[4000]), "block_start baseline_eyes_open")]
    raw = rec.to_mne()
    desc = list(raw.annotations.description)
    assert desc.count("BAD_gap") == 2 and "BAD_railed" in desc
    assert raw.get_montage() is not None
    assert_allclose(raw.get_data(), rec.data)
    back = Recording.from_mne(raw)
    assert back.markers == rec.markers
    assert [g.n_missing for g in back.gaps] == [g.n_missing for g in rec.gaps]
    assert_allclose(back.timestamps, rec.timestamps, atol=1e-9)

    fif = write_recording(rec, tmp_path / "x_raw.fif")
    r_fif = read_recording(fif)
    assert_allclose(r_fif.data, rec.data, rtol=1e-6)  # FIF stores float32
    assert r_fif.markers == rec.markers and r_fif.profile == "cyton"

    edf = write_recording(rec, tmp_path / "x.edf")
    r_edf = read_recording(edf)
    assert r_edf.n_times == rec.n_times  # padding of the last record removed
    step = np.ptp(rec.data, axis=1) / 65535
    assert np.all(np.abs(r_edf.data - rec.data) <= step[:, None])
    assert [m[1] for m in r_edf.markers] == ["session_start",
                                             "block_start baseline_eyes_open"]
    # EDF+ keeps only annotation text: the gaps' missing samples travel in it
    assert [g.n_missing for g in r_edf.gaps] == [g.n_missing for g in rec.gaps]
    assert_allclose(r_edf.timestamps - r_edf.timestamps[0], rec.timestamps - rec.timestamps[0],
                    atol=1e-6)
    assert r_edf.profile == "cyton"  # in EDF+'s equipment field, as FIF keeps it
    unknown = rec.copy()
    unknown.profile = "not_a_board"  # a name no profile has is not written
    assert read_recording(write_recording(unknown, tmp_path / "u.edf")).profile is None


def test_an_edf_board_name_is_matched_without_reading_every_profile(monkeypatch):
    """The name in EDF+'s equipment field is one of the shipped profiles' names
    or none; telling which reads no profile file."""
    from biofeedback.hardware import _profiles
    from biofeedback.io._mne import _known_profile

    monkeypatch.setattr(_profiles, "_READ", {})
    said = {name: _known_profile(name)
            for name in ("cyton", "muse_2", "not_a_board", "../cyton", "cyton.toml", "", None)}
    assert said == {"cyton": "cyton", "muse_2": "muse_2", "not_a_board": None,
                    "../cyton": None, "cyton.toml": None, "": None, None: None}
    assert _profiles._READ == {}  # no profile file was parsed


def test_edf_refuses_labels_it_cannot_hold(make_recording, tmp_path):
    rec = make_recording(n_ch=2)
    rec.ch_names = ["Fz", "a-very-long-channel-name"]
    with pytest.raises(ValueError, match="'a-very-long-channel-name' has 24"):
        write_recording(rec, tmp_path / "x.edf")
    assert not (tmp_path / "x.edf").exists()


def test_edf_refuses_nan_in_one_sentence(make_recording, tmp_path, capsys):
    """EDF stores integers: a recording with a NaN run is refused, naming the
    channels and the formats that keep them, and nothing is written."""
    from biofeedback.cli import main

    rec = make_recording(n_ch=3)
    rec.data[1, 100:150] = np.nan
    src = write_recording(rec, tmp_path / "holes.xdf")
    out = tmp_path / "holes.edf"
    assert main(["convert", str(src), str(out)]) == 1
    err = capsys.readouterr().err
    assert err == (f"biofeedback: error: {out}: EDF stores integers, so it cannot hold the "
                   f"NaN or inf samples of channel {rec.ch_names[1]}; write .fif, .xdf or "
                   ".csv, which keep them.\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["holes.xdf"]


def test_brainflow_csv_refuses_more_channels_than_its_board_saying_what_holds_them(
        make_recording, tmp_path, capsys):
    from biofeedback.cli import main

    rec = make_recording(n_ch=20)
    rec.ch_names = [f"E{i}" for i in range(20)]
    src = write_recording(rec, tmp_path / "e20.xdf")
    out = tmp_path / "e20.csv"
    assert main(["convert", str(src), str(out)]) == 1
    assert capsys.readouterr().err == (
        f"biofeedback: error: {out}: The recording has 20 channels but BrainFlow board "
        "SYNTHETIC_BOARD holds 16; write .xdf, .fif or .edf, which hold any number.\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e20.xdf"]


def test_mne_written_by_mne(tmp_path):
    """A FIF written by MNE itself (not by us) reads, annotations as markers."""
    import mne

    info = mne.create_info(["Fz", "Cz", "EOG"], 200.0, ["eeg", "eeg", "eog"])
    data = np.random.default_rng(0).normal(0, 1e-5, (3, 400))
    raw = mne.io.RawArray(data, info, verbose="error")
    raw.set_annotations(mne.Annotations([0.5], [0.0], ["stim"]))
    raw.save(tmp_path / "m_raw.fif", verbose="error")
    rec = read_recording(tmp_path / "m_raw.fif")
    assert rec.ch_names == ["Fz", "Cz"]
    assert_allclose(rec.data, data[:2], rtol=1e-6)
    assert [m[1] for m in rec.markers] == ["stim"]


def test_cli_convert_and_bids(tmp_path, shared_io, capsys):
    muse = shared_io / "muse-mental-state" / "subjecta-relaxed-1.csv"
    out = tmp_path / "a.xdf"
    assert main(["convert", str(muse), str(out)]) == 0
    rec = read_recording(out)
    ref = read_recording(muse)
    assert_allclose(rec.data, ref.data, rtol=1e-12)
    assert_array_equal(rec.timestamps, ref.timestamps)
    assert main(["convert", str(muse), str(out)]) == 1  # exists, no --overwrite
    assert "overwrite" in capsys.readouterr().err
    for ext in ("fif", "edf", "csv"):
        assert main(["convert", str(out), str(tmp_path / f"a.{ext}")]) == 0
    edf = read_recording(tmp_path / "a.edf")  # 16 bits over each channel's range
    assert edf.n_times == rec.n_times and edf.ch_names == rec.ch_names
    step = np.ptp(rec.data, axis=1) / 65535
    assert np.all(np.abs(edf.data - rec.data) <= step[:, None])
    assert_allclose(np.diff(edf.timestamps), 1 / rec.sfreq)
    pytest.importorskip("mne_bids")
    folder = tmp_path / "sessions"
    folder.mkdir()
    write_recording(rec, folder / "s01.xdf")
    assert main(["convert", str(folder), "--bids-root", str(tmp_path / "bids")]) == 0
    assert list((tmp_path / "bids").rglob("*_eeg.edf"))
    assert (tmp_path / "bids" / "dataset_description.json").exists()


def test_cli_info_readable(shared_io, capsys):
    fname = shared_io / "openbci-gui" / "OpenBCI-RAW-EyesOpen.txt"
    assert main(["info", str(fname)]) == 0
    out = capsys.readouterr().out
    for needle in ("read as:     openbci-txt", "250 Hz declared", "Hz measured",
                   "gaps:        4", "railed:      ", "warnings:    4"):
        assert needle in out
    # the stream's restart is a pause, not packets the counter saw dropped
    assert re.search(r"lost samples: \d+ \(3 dropped in 3 gaps, \d{4} in 1 outage\)", out)


def test_cli_info_counts_one_gap_of_one_sample_in_the_singular(capsys):
    """The shipped sample recording lost one sample in one gap."""
    from pathlib import Path

    sample = Path(__file__).resolve().parents[2] / "recordings" / "sample_synthetic.xdf"
    assert main(["info", str(sample)]) == 0
    out = capsys.readouterr().out
    assert "gaps:        1, 1 sample, 0.004 s missing\n" in out
    assert ": 1 sample, 0.004 s (timestamps)\n" in out
    assert "lost samples: 1 (1 dropped in 1 gap, 0 in 0 outages)" in out
    assert "  - 1 gap (1 sample, 0.004 s missing in total); kept as gaps" in out


def test_cli_info_prints_a_time_that_rounds_to_zero_without_a_sign(
        tmp_path, make_recording, capsys):
    rec = make_recording(t0=-0.0002)
    rec.markers = [(-0.0003, "session_start"), *rec.markers[1:]]
    write_recording(rec, tmp_path / "r.xdf")
    assert main(["info", str(tmp_path / "r.xdf")]) == 0
    out = capsys.readouterr().out
    assert "time range:  0.000 .. 3.996 (" in out
    assert "\n  0.000  session_start\n" in out and "-0.000" not in out


@pytest.mark.parametrize("ext", ["_raw.fif", ".edf"])
def test_cli_info_shows_how_long_a_marker_with_a_duration_lasts(tmp_path, capsys, ext):
    """An MNE file's annotations with a duration (a state's span) were listed
    as points in time: their durations were not shown."""
    mne = pytest.importorskip("mne")
    raw = mne.io.RawArray(np.random.default_rng(0).normal(0, 10e-6, (2, 256 * 120)),
                          mne.create_info(["Fz", "Cz"], 256.0, "eeg"), verbose="error")
    raw.set_annotations(mne.Annotations([5.0, 20.0, 40.5], [10.0, 0.0, 72.25],
                                        ["relaxed", "blink", "focused"]))
    fname = tmp_path / f"states{ext}"
    if ext == ".edf":
        mne.export.export_raw(fname, raw, verbose="error")
    else:
        raw.save(fname, verbose="error")
    assert main(["info", str(fname)]) == 0
    listed = capsys.readouterr().out.split("markers:     3\n", 1)[1].splitlines()[:3]
    assert [ln.split("  ", 2)[2] for ln in listed] == [
        "relaxed (lasts 10.000 s)", "blink", "focused (lasts 1.2 min)"]


def test_a_recording_of_no_board_written_as_brainflow_reads_back_as_no_board(tmp_path):
    """A recording no BrainFlow board made is written in the synthetic board's
    rows, but not labelled the synthetic board: it reads back with no profile,
    its own channels and rate, and no accelerometer those rows never held."""
    x = np.random.default_rng(0).normal(0, 10e-6, (2, 1500))
    rec = Recording(data=x, sfreq=500.0, ch_names=["Cz", "Pz"],
                    timestamps=1.7e9 + np.arange(1500) / 500.0, source_format="mne")
    back = read_recording(write_recording(rec, tmp_path / "two.csv"))
    side = back.provenance["sidecar"]
    assert side["profile"] is None and side["source_format"] == "mne"
    assert back.profile is None and back.sfreq == 500.0 and back.ch_names == ["Cz", "Pz"]
    assert_allclose(back.data, x, atol=1e-12)
    assert back.streams == {} and back.gaps == [] and back.warnings == []


def _mains_left_out(path):
    """Share of windows in which the quality gates leave out each channel."""
    from biofeedback.config import load_pipeline
    from biofeedback.engine import Engine, EngineOutput
    from biofeedback.hardware import profile_for_recording

    rec = read_recording(path)
    prof = profile_for_recording(rec, "lsl")
    eng = Engine(load_pipeline(), rec.ch_names, rec.sfreq, prof)
    out = EngineOutput.from_results(eng.process_batch(rec.data, rec.timestamps), eng)
    return prof.line_freq, 1.0 - np.asarray(eng.gate.clean_channels(out.quality)).mean(axis=0)


def test_a_files_own_mains_frequency_is_the_one_notched_and_gated(tmp_path, capsys):
    """A FIF recorded at 60 Hz mains (``info["line_freq"]``, as MNE and a BIDS
    ``PowerLineFrequency`` state it) was notched and gated at the profile's
    50 Hz: an electrode picking up the 60 Hz mains was kept as clean."""
    mne = pytest.importorskip("mne")
    sf, n = 500.0, 500 * 30
    t = np.arange(n) / sf
    x = np.random.default_rng(0).normal(0, 5e-6, (4, n)) + 10e-6 * np.sin(2 * np.pi * 10 * t)
    x[1] += 40e-6 * np.sin(2 * np.pi * 60 * t)  # Fp2 picks up the mains
    raw = mne.io.RawArray(x, mne.create_info(["Fp1", "Fp2", "O1", "O2"], sf, "eeg"),
                          verbose="error")
    raw.info["line_freq"] = 60.0
    fif = tmp_path / "us_raw.fif"
    raw.save(fif, verbose="error")
    mains, left_out = _mains_left_out(fif)
    assert mains == 60.0
    assert left_out.tolist() == [0.0, 1.0, 0.0, 0.0]
    assert main(["info", str(fif)]) == 0
    assert ("\nmains:       60 Hz, as the file states it: the notch and the mains gate use "
            "it\n") in capsys.readouterr().out
    # replay says which notch its windows went through
    est = tmp_path / "est.csv"
    assert main(["replay", str(fif), "--profile", "lsl", "--out", str(est)]) == 0
    steps = json.loads((tmp_path / "est.csv.json").read_text())["preprocessing"]
    assert "causal IIR notch 60 Hz, Q=30" in steps
    # converted, the recording keeps it
    xdf = tmp_path / "us.xdf"
    assert main(["convert", str(fif), str(xdf)]) == 0
    assert _mains_left_out(xdf)[0] == 60.0
    assert mne.io.read_raw_fif(write_recording(read_recording(xdf), tmp_path / "b_raw.fif"),
                               verbose="error").info["line_freq"] == 60.0
    csv = tmp_path / "us.csv"  # BrainFlow's format, its sidecar saying it
    assert main(["convert", str(fif), str(csv)]) == 0
    assert json.loads(csv.with_suffix(".json").read_text())["line_freq"] == 60.0
    assert _mains_left_out(csv)[0] == 60.0
    # a BIDS dataset states it beside the EDF
    mne_bids = pytest.importorskip("mne_bids")
    bp = mne_bids.BIDSPath(subject="01", task="rest", root=tmp_path / "bids", datatype="eeg")
    mne_bids.write_raw_bids(raw, bp, allow_preload=True, format="EDF", verbose="error")
    edf = next((tmp_path / "bids").rglob("*_eeg.edf"))
    assert mne.io.read_raw_edf(edf, verbose="error").info["line_freq"] is None
    mains, left_out = _mains_left_out(edf)
    assert mains == 60.0 and left_out[1] == 1.0
    # and a BIDS export of the FIF says it, as PowerLineFrequency
    out = tmp_path / "bids2"
    assert main(["convert", str(fif), "--bids-root", str(out), "--participant", "P1"]) == 0
    side = json.loads(next(out.rglob("*_eeg.json")).read_text())
    assert side["PowerLineFrequency"] == 60.0


def test_a_cropped_fif_starts_at_its_first_sample(tmp_path):
    """A FIF cropped by MNE (``raw.crop(40)``, first_samp 10000) keeps the
    start date of the uncropped recording: its samples were stamped from that
    date, 40 s early, while its annotations kept their own times."""
    import datetime as dt

    mne = pytest.importorskip("mne")
    raw = mne.io.RawArray(np.random.default_rng(0).normal(0, 1e-5, (2, 250 * 200)),
                          mne.create_info(["Fp1", "Fp2"], 250.0, "eeg"), verbose="error")
    start = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
    raw.set_meas_date(start)
    raw.set_annotations(mne.Annotations([50.0, 100.0], [20.0, 20.0], ["relaxed", "busy"]))
    raw.crop(tmin=40.0)
    raw.save(tmp_path / "cut_raw.fif", verbose="error")
    rec = read_recording(tmp_path / "cut_raw.fif")
    t0 = start.timestamp()
    assert rec.timestamps[0] == t0 + 40.0
    assert rec.markers == [(t0 + 50.0, "relaxed"), (t0 + 100.0, "busy")]
    k = int(np.searchsorted(rec.timestamps, t0 + 50.0))  # the sample of the annotation
    assert_allclose(rec.data[:, k], raw.get_data()[:, 10 * 250], atol=1e-12)
    back = read_recording(write_recording(rec, tmp_path / "copy_raw.fif"))
    assert back.timestamps[0] == rec.timestamps[0] and back.markers == rec.markers


def test_a_brainflow_copy_never_takes_a_sessions_sidecar(tmp_path, capsys):
    """'convert session.xdf session.csv' wrote BrainFlow's board sidecar over
    the live session's own session.json (its pipeline, summary and board),
    without a word, the .csv being new."""
    import shutil

    from biofeedback._data import data_dir

    src = data_dir("recordings") / "sample_synthetic.xdf"
    xdf = shutil.copy(src, tmp_path / "s.xdf")
    side = shutil.copy(src.with_suffix(".json"), tmp_path / "s.json")
    before = (tmp_path / "s.json").read_bytes()
    assert main(["convert", str(xdf), str(tmp_path / "s.csv")]) == 1
    assert capsys.readouterr().err.strip() == (
        f"biofeedback: error: {side} exists (beside s.xdf, whose sidecar it is), and s.csv "
        "needs that name for its own sidecar; name the output otherwise (or remove that "
        "file if it belongs to nothing).")
    assert (tmp_path / "s.json").read_bytes() == before
    assert not (tmp_path / "s.csv").exists()
    assert read_recording(xdf).provenance["sidecar"] == json.loads(before)
    # under another name it is written; that copy's own sidecar goes along to XDF
    assert main(["convert", str(xdf), str(tmp_path / "b.csv")]) == 0
    assert main(["convert", str(tmp_path / "b.csv"), str(tmp_path / "b.xdf")]) == 0
    assert main(["convert", str(tmp_path / "b.csv"), str(tmp_path / "b.csv"),
                 "--overwrite"]) == 0


def test_bad_channels_survive_convert_to_xdf_and_brainflow(tmp_path, caplog):
    """A FIF's bad channels were lost by 'convert' to XDF or BrainFlow's CSV
    (and so by a FIF made from those again); EDF, which has no place for
    them, now says so."""
    mne = pytest.importorskip("mne")
    raw = mne.io.RawArray(np.random.default_rng(0).normal(0, 1e-5, (3, 2500)),
                          mne.create_info(["Fp1", "Fp2", "O2"], 250.0, "eeg"),
                          verbose="error")
    raw.info["bads"] = ["O2"]
    fif = tmp_path / "a_raw.fif"
    raw.save(fif, verbose="error")
    said = ("1 channel is marked bad in the file (O2): kept, and judged by the quality "
            "gates window by window like any channel (a FIF written from this recording "
            "marks it bad again).")
    for name in ("a.xdf", "a.csv"):
        assert main(["convert", str(fif), str(tmp_path / name)]) == 0
        rec = read_recording(tmp_path / name)
        assert rec.provenance["bads"] == ["O2"] and said in rec.warnings
        back = write_recording(rec, tmp_path / f"back_{name[2:]}_raw.fif")
        assert mne.io.read_raw_fif(back, verbose="error").info["bads"] == ["O2"]
    with caplog.at_level("WARNING", logger="biofeedback"):
        assert main(["convert", str(fif), str(tmp_path / "a.edf")]) == 0
    assert ("EDF keeps no mark of bad channels: O2, marked bad in the file read, is not "
            "marked in a.edf; write .fif or .xdf (or a BIDS dataset, whose channels table "
            "keeps them) to keep the mark.") in caplog.text
    # a file marking many (a hand-edited list) gives a sentence, not a page
    names = [f"EEG{k:03d}" for k in range(40)]
    many = Recording(data=np.zeros((40, 500)), sfreq=250.0, ch_names=names,
                     timestamps=np.arange(500) / 250.0, provenance={"bads": names})
    caplog.clear()
    with caplog.at_level("WARNING", logger="biofeedback"):
        write_recording(many, tmp_path / "many.edf")
    assert ("EDF keeps no mark of bad channels: EEG000, EEG001, EEG002, EEG003, EEG004, "
            "EEG005, EEG006, EEG007, EEG008, EEG009 and 30 more, marked bad in the file "
            "read, are not marked in many.edf;") in caplog.text


def test_an_edf_cut_short_is_said(tmp_path):
    """An EDF whose end is missing (a recorder stopped, a copy cut off) was
    read as the shorter file it had become, its header's length unsaid."""
    mne = pytest.importorskip("mne")
    raw = mne.io.RawArray(np.random.default_rng(0).normal(0, 1e-5, (2, 200 * 240)),
                          mne.create_info(["Fp1", "Fp2"], 200.0, "eeg"), verbose="error")
    raw.set_annotations(mne.Annotations([0.0, 120.0], [120.0, 120.0], ["calm", "busy"]))
    whole = tmp_path / "whole.edf"
    mne.export.export_raw(whole, raw, verbose="error")
    assert read_recording(whole).warnings == []
    cut = tmp_path / "cut.edf"
    cut.write_bytes(whole.read_bytes()[:len(whole.read_bytes()) // 2])
    rec = read_recording(cut)
    held = rec.n_times // 200
    assert 100 < held < 125
    assert (f"The file is cut short: its header declares 240 data records of 1 s (4.0 min) "
            f"but it holds {held} whole ones ({held / 60:.1f} min), as when a recorder "
            "stopped or a copy was cut off; what it holds is read. Copy it again from its "
            "source if that is whole.") in rec.warnings


def test_a_fif_cut_short_says_what_to_do(tmp_path, capsys):
    """A FIF cut short stopped with MNE's own words alone ('buffer size must
    be a multiple of element size'), nothing saying what was wrong or what to do."""
    mne = pytest.importorskip("mne")
    raw = mne.io.RawArray(np.random.default_rng(0).normal(0, 1e-5, (2, 250 * 60)),
                          mne.create_info(["Fp1", "Fp2"], 250.0, "eeg"), verbose="error")
    whole = tmp_path / "whole_raw.fif"
    raw.save(whole, verbose="error")
    cut = tmp_path / "cut_raw.fif"
    cut.write_bytes(whole.read_bytes()[:len(whole.read_bytes()) // 2 + 1])
    assert main(["info", str(cut)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"biofeedback: error: {cut}: MNE could not read it (")
    assert err.endswith("); a file cut short or damaged (a copy cut off, a save that did "
                        "not finish) reads so: copy it again from its source.")
    assert "\n" not in err


def test_eeg_stored_at_a_lower_rate_in_an_edf_is_said(tmp_path):
    """An EDF holding one EEG signal at 64 Hz beside others at 256 Hz (as
    edfio, and clinical systems, write) was read with that channel upsampled
    by MNE to 256 Hz without a word: its beta and gamma are not EEG."""
    import datetime as dt

    edfio = pytest.importorskip("edfio")
    rng = np.random.default_rng(0)
    sigs = [edfio.EdfSignal(rng.normal(0, 10, 256 * 60), sampling_frequency=256,
                            label="EEG Fp1", physical_dimension="uV",
                            physical_range=(-500, 500)),
            edfio.EdfSignal(rng.normal(0, 10, 64 * 60), sampling_frequency=64,
                            label="EEG Fp2", physical_dimension="uV",
                            physical_range=(-500, 500))]
    edfio.Edf(sigs, starttime=dt.time(10, 0)).write(tmp_path / "mixed.edf")
    rec = read_recording(tmp_path / "mixed.edf")
    assert rec.sfreq == 256.0 and rec.ch_names == ["EEG Fp1", "EEG Fp2"]
    assert ("Channel EEG Fp2 (64 Hz) is stored at a lower rate than the file's 256 Hz, to "
            "which MNE upsamples it: nothing above 32 Hz was measured on it, so band "
            "powers beyond that are not EEG there.") in rec.warnings


def test_eeg_clipped_at_an_edfs_physical_range_is_said(tmp_path):
    """An EDF stores a value beyond a signal's physical range as its limit: a
    channel at its limits in 9 % of its samples (as edfio writes one clipped to
    ±100 µV) was read without a word."""
    import datetime as dt

    edfio = pytest.importorskip("edfio")
    rng = np.random.default_rng(0)
    clipped = np.clip(rng.normal(0, 60, 256 * 60), -100, 100)
    sigs = [edfio.EdfSignal(clipped, sampling_frequency=256, label="EEG Fp1",
                            physical_dimension="uV", physical_range=(-100, 100)),
            edfio.EdfSignal(rng.normal(0, 10, 256 * 60), sampling_frequency=256,
                            label="EEG Fp2", physical_dimension="uV",
                            physical_range=(-500, 500))]
    edfio.Edf(sigs, starttime=dt.time(10, 0)).write(tmp_path / "clip.edf")
    said = [w for w in read_recording(tmp_path / "clip.edf").warnings if "clipped" in w]
    assert said == [
        "A channel sits at its highest or lowest value in many of its samples (EEG Fp1 in "
        "9%): clipped at the file's physical range (the recorder's limits), where the "
        "values are not the EEG's."]

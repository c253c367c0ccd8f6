"""Every BrainFlow board profile driven through BrainFlow itself.

For each profile the test writes a short file in BrainFlow's format with that
board's own row layout (from ``BoardShim.get_board_descr``): a known sine per
EEG channel on a DC offset, a railed channel, a packet counter that wraps and
skips a few packets the way the board's driver numbers them, accelerometer,
marker and other rows holding values that must never reach the EEG. BrainFlow's
playback board plays it as that board (``master_board``) into a live session.

The playback board paces samples by the file's timestamps and restamps them
when played. The files' clock runs twice as fast as their samples, so each
plays in half its length: nothing checked here depends on timing.
"""

import numpy as np
import pytest

from biofeedback.hardware import BrainFlowSource, get_profile, list_profiles
from biofeedback.quality import FLAGS

BOARDS = [name for name, p in list_profiles().items() if p.brainflow_board]

# How each board's driver numbers its packets, read from BrainFlow's sources
# (written here independently of the profiles, which the test checks):
# packet i reads first + ((i + start) * step) % cycle, each value on `per` samples;
# `start` puts the counter's wrap at packet 6.
DRIVER_COUNTER = {
    # openbci_serial_board / synthetic_board: the sample number, 0-255
    "cyton": dict(first=0, cycle=256, step=1, per=1),
    "synthetic": dict(first=0, cycle=256, step=1, per=1),
    # cyton_daisy.cpp: the even sample number of each Cyton/Daisy pair
    "cyton_daisy": dict(first=0, cycle=256, step=2, per=1),
    # ganglion: BLE packet ids 101-200 (19-bit compression), two samples each
    "ganglion": dict(first=101, cycle=100, step=1, per=2),
    # muse.cpp: the notification's 16-bit sequence number, twelve samples each
    "muse_2": dict(first=0, cycle=65536, step=1, per=12),
    "muse_s": dict(first=0, cycle=65536, step=1, per=12),
    "muse_2016": dict(first=0, cycle=65536, step=1, per=12),
    # cyton_wifi.cpp: the sample number, 0-255
    "cyton_wifi": dict(first=0, cycle=256, step=1, per=1),
    # cyton_daisy_wifi.cpp: over WiFi a Cyton/Daisy pair shares its sample number
    "cyton_daisy_wifi": dict(first=0, cycle=256, step=1, per=1),
    # ganglion_wifi.cpp: the Ganglion firmware's sample counter, 0-200
    "ganglion_wifi": dict(first=0, cycle=201, step=1, per=1),
}
SECONDS = 3.0  # of samples; played in SECONDS / SPEED
SPEED = 2.0
NOISE_UV = 0.5


@pytest.mark.parametrize("name", BOARDS)
def test_counter_semantics_of_each_profile_match_its_driver(name, rng):
    from biofeedback.hardware._counter import missing_samples

    cnt = DRIVER_COUNTER[name]
    n_packets = 3 * cnt["cycle"] // cnt["step"] if cnt["cycle"] < 1000 else 400
    lost = np.zeros(n_packets, dtype=bool)
    lost[rng.choice(np.arange(1, n_packets), size=n_packets // 10, replace=False)] = True
    packet = np.repeat(np.flatnonzero(~lost), cnt["per"])
    counter = cnt["first"] + np.mod((cnt["cycle"] // cnt["step"] - 5 + packet) * cnt["step"],
                                    cnt["cycle"])
    # read in chunks of random size, as get_board_data returns them
    cols, previous, missing = get_profile(name).columns, None, []
    for part in np.split(counter, np.sort(rng.choice(counter.size, 12, replace=False))):
        missing.append(missing_samples(part, cols, previous))
        previous = part[-1] if part.size else previous
    assert np.concatenate(missing).sum() == lost.sum() * cnt["per"]


def _channel_sines(n_channels):
    """(amplitude µV, frequency Hz) per EEG channel: distinct, in 5-17 Hz."""
    k = np.arange(n_channels)
    return 10.0 + 2.5 * k, 5.0 + 0.8 * k


def write_board_file(fname, name, t0=1.7e9, speed=SPEED):
    """Write a BrainFlow file with the board's own layout; return what it holds."""
    from brainflow.board_shim import BoardShim
    from brainflow.data_filter import DataFilter

    prof = get_profile(name)
    descr = BoardShim.get_board_descr(prof.board_id)
    sfreq = float(descr["sampling_rate"])
    eeg_rows = list(descr["eeg_channels"])
    cnt = DRIVER_COUNTER[name]
    n_packets = int(np.ceil(SECONDS * sfreq / cnt["per"]))
    start = cnt["cycle"] // cnt["step"] - 6
    # lost packets: a run of four across the wrap, one alone, a run of three
    runs = [[4, 5, 6, 7], [int(0.4 * n_packets)], list(int(0.75 * n_packets) + np.arange(3))]
    packet = np.repeat(np.arange(n_packets), cnt["per"])      # packet of every sample
    sample = np.arange(packet.size)                           # sample index, lost ones too
    kept = ~np.isin(packet, np.concatenate(runs))
    t = sample[kept] / sfreq
    n = t.size
    arr = np.full((int(descr["num_rows"]), n), 7777.0)        # rows that must stay out
    for row in descr.get("accel_channels", []):
        arr[row] = 0.98
    arr[descr["marker_channel"]] = 0.0
    arr[descr["marker_channel"], [10, n // 2]] = [1.0, 2.0]
    arr[descr["package_num_channel"]] = cnt["first"] + np.mod(
        (start + packet[kept]) * cnt["step"], cnt["cycle"])
    arr[descr["timestamp_channel"]] = t0 + t / speed          # the host's Unix clock
    amp, freq = _channel_sines(len(eeg_rows))
    rng = np.random.default_rng(0)
    offset = 0.2 * prof.rail_uv
    for k, row in enumerate(eeg_rows):
        arr[row] = (offset + amp[k] * np.sin(2 * np.pi * freq[k] * t)
                    + NOISE_UV * rng.standard_normal(n))
    railed = len(eeg_rows) - 1                                # not in the frontal pair
    arr[eeg_rows[railed]] = -prof.rail_uv
    DataFilter.write_file(np.ascontiguousarray(arr), str(fname), "w")
    lost = [len(run) * cnt["per"] for run in runs]
    return dict(n=n, lost=lost, amp=amp, freq=freq, railed=railed, sfreq=sfreq, t=t)


@pytest.mark.parametrize("name", BOARDS)
def test_brainflow_files_count_the_same_gaps_and_write_the_board_counter(name, tmp_path):
    """The file reader and writer read and number packets as the live source does."""
    from biofeedback.io import read_recording
    from biofeedback.io._brainflow import write_brainflow

    truth = write_board_file(tmp_path / "board.csv", name, speed=1.0)
    rec = read_recording(tmp_path / "board.csv", profile=name)
    assert [g.n_missing for g in rec.gaps] == truth["lost"]
    assert rec.ch_names == list(get_profile(name).ch_names)
    write_brainflow(rec, tmp_path / "again.csv")
    again = read_recording(tmp_path / "again.csv")
    assert [g.n_missing for g in again.gaps] == truth["lost"]
    np.testing.assert_allclose(again.data, rec.data, atol=1e-12)


class TeeSource(BrainFlowSource):
    """The real BrainFlow source, keeping a copy of every chunk it delivers."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.chunks = []

    def _read(self, timeout):
        chunk = super()._read(timeout)
        if chunk is not None:
            self.chunks.append(chunk)
        return chunk


def _play(name, folder, collect_sink_class):
    """A live session on the board's own file, played by BrainFlow's playback board."""
    from biofeedback.config import load_pipeline
    from biofeedback.session import Session
    from biofeedback.stream._clock import lsl_clock

    fname = folder / f"{name}.csv"
    truth = write_board_file(fname, name)
    src = TeeSource(get_profile(name), {"file": str(fname)})
    keep = collect_sink_class()
    t_start = lsl_clock()
    # a --duration longer than the file: the file's end ends the session, and says so
    summary = Session(src, load_pipeline(), [keep], record=False, duration=600.0,
                      name=f"playback-{name}-{folder.name}").run()
    return dict(name=name, truth=truth, src=src, keep=keep, summary=summary,
                t_start=t_start, t_end=lsl_clock())


@pytest.fixture(scope="module")
def played_side_by_side(tmp_path_factory, collect_sink_class):
    """:func:`_play` for every board at once, each session in a thread of its
    own (as ``biofeedback.live`` runs one in the background): each mostly
    waits on its file's playback, BrainFlow stamping the samples in its own
    thread, so side by side they take the time of one instead of seven.
    ``{board: played}``, or the exception a board's session raised."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(BOARDS)) as pool:
        futures = {name: pool.submit(_play, name, tmp_path_factory.mktemp(name),
                                     collect_sink_class) for name in BOARDS}
    return {name: future.exception() or future.result() for name, future in futures.items()}


@pytest.fixture(scope="module", params=BOARDS)
def played(request, played_side_by_side):
    """The board's live session on its own file (:func:`_play`)."""
    got = played_side_by_side[request.param]
    if isinstance(got, BaseException):
        raise got
    return got


@pytest.mark.slow
@pytest.mark.lsl
def test_the_board_file_plays_whole_with_the_profile_channels_in_order(played):
    src, summary, truth = played["src"], played["summary"], played["truth"]
    prof = get_profile(played["name"])
    assert src.ch_names == list(prof.ch_names)
    assert src.sfreq == truth["sfreq"] == prof.sfreq
    assert summary.n_samples == truth["n"]            # every line of the file, nothing else
    assert any(n.startswith("stopped: the source has no more data") for n in summary.notes)
    data = np.concatenate([c.data for c in src.chunks], axis=1)
    assert data.shape == (len(prof.ch_names), truth["n"])
    # µV in the file, volts inside: each channel is its own sine, to 1 %
    t = truth["t"]  # the sample times of the file, lost packets left out
    for k in range(len(prof.ch_names)):
        if k == truth["railed"]:
            assert np.allclose(data[k], -prof.rail_uv * 1e-6)
            continue
        basis = np.column_stack([np.sin(2 * np.pi * truth["freq"][k] * t),
                                 np.cos(2 * np.pi * truth["freq"][k] * t), np.ones_like(t)])
        coef = np.linalg.lstsq(basis, data[k] * 1e6, rcond=None)[0]
        assert np.hypot(*coef[:2]) == pytest.approx(truth["amp"][k], rel=0.01), prof.ch_names[k]
        assert coef[2] == pytest.approx(0.2 * prof.rail_uv, rel=0.01)


@pytest.mark.slow
@pytest.mark.lsl
def test_drops_are_counted_exactly_from_the_board_counter(played):
    src, summary, truth = played["src"], played["summary"], played["truth"]
    assert src.n_dropped == summary.n_dropped == sum(truth["lost"])
    # one mark per gap, the first one across the counter's wrap
    marks = [e for e in played["keep"].events if e.startswith("dropped")]
    assert marks == [f"dropped n={n}" for n in truth["lost"]]


@pytest.mark.slow
@pytest.mark.lsl
def test_timestamps_are_on_the_lsl_clock(played):
    ts = np.concatenate([c.timestamps for c in played["src"].chunks])
    # stamped when played (BrainFlow's playback board), mapped from Unix onto LSL
    assert played["t_start"] - 1.0 < ts[0] and ts[-1] < played["t_end"] + 1.0
    assert np.all(np.diff(ts) >= 0)
    # and the session says so in its summary
    assert any("timing figures describe the playback" in ln for ln in played["summary"].lines())


@pytest.mark.slow
@pytest.mark.lsl
def test_the_railed_channel_is_flagged_and_estimates_are_finite(played):
    results, truth = played["keep"].results, played["truth"]
    prof = get_profile(played["name"])
    # a step of the stamps over gap_reset restarts the windows: say the longest
    steps = np.diff(np.concatenate([c.timestamps for c in played["src"].chunks]))
    assert len(results) >= 2, f"longest step of the stamps: {steps.max():.3f} s"
    for r in results:
        railed = np.flatnonzero(r.quality & FLAGS["railed"])
        assert railed.tolist() == [truth["railed"]], prof.ch_names
        # the sines are clean EEG to every gate: only the railed channel is flagged
        assert np.flatnonzero(r.quality).tolist() == [truth["railed"]], r.quality
        assert np.all(np.isfinite(r.estimates)), r.estimates
        assert not r.gated  # a railed electrode is left out; it pauses no feedback


@pytest.mark.slow
def test_a_stall_of_the_player_is_no_gap_and_a_loss_still_is(tmp_path):
    """BrainFlow stamps a sample when it is played, so a stall of its player
    (or of this machine) steps the stamps over the stall with no sample lost,
    and the engine restarted its filters and windows there as at a gap (a
    0.4 s stall left the board file above no window). The counter says what
    was lost: the stalled stamps are put back in line, and the same step with
    its packets lost stays a gap."""
    from brainflow.board_shim import BoardShim
    from brainflow.data_filter import DataFilter

    from biofeedback.config import load_pipeline
    from biofeedback.engine import Engine

    name = "muse_2"
    prof, per = get_profile(name), DRIVER_COUNTER[name]["per"]
    fname = tmp_path / "stalls.csv"
    truth = write_board_file(fname, name)
    arr = DataFilter.read_file(str(fname))
    # between the file's lost runs: the player waits 0.4 s before the 11th
    # packet and plays on (nothing lost); 17 packets from the 23rd are lost,
    # 0.4 s of them at this speed
    stall, lost = 10 * per, np.arange(22 * per, 39 * per)
    arr[BoardShim.get_timestamp_channel(prof.board_id), stall:] += 0.4
    arr = np.ascontiguousarray(np.delete(arr, lost, axis=1))
    DataFilter.write_file(arr, str(fname), "w")
    src = BrainFlowSource(prof, {"file": str(fname)})
    with src:
        chunks = [chunk for chunk, _ in src.iter_chunks(0.5) if chunk is not None]
    ts = np.concatenate([c.timestamps for c in chunks])
    assert ts.size == arr.shape[1]  # every sample played
    assert src.n_dropped == sum(truth["lost"]) + lost.size
    steps = np.diff(ts)
    assert np.all(steps >= 0)
    # one step as long as a loss, where the packets were lost; none at the stall
    assert np.flatnonzero(steps > 0.25).tolist() == [lost[0] - 1], steps[steps > 0.1]
    assert steps[lost[0] - 1] == pytest.approx(0.4, abs=0.1)
    eng = Engine(load_pipeline(), prof.ch_names, prof.sfreq, prof)
    eng.run(np.concatenate([c.data for c in chunks], axis=1), ts)
    assert eng.n_resets == 1  # at the loss

"""LSL streams as other programs publish them, and senders that restart changed.

Real outlets on loopback, in this process, with unique names.
"""

import re
import time
import uuid

import numpy as np
import pytest

from biofeedback.errors import StreamError
from biofeedback.stream import LSLSource

pytestmark = pytest.mark.lsl


def _name(kind):
    return f"qa-{kind}-{uuid.uuid4().hex[:10]}"


def _outlet(name, n, labels=None, sfreq=256.0, source_id=None, fmt="float32", types=None):
    import pylsl

    info = pylsl.StreamInfo(name, "EEG", n, sfreq, fmt, name if source_id is None else source_id)
    if labels:
        chans = info.desc().append_child("channels")
        for i, label in enumerate(labels):
            ch = chans.append_child("channel")
            ch.append_child_value("label", label)
            ch.append_child_value("unit", "microvolts")
            ch.append_child_value("type", types[i] if types else "EEG")
    return pylsl.StreamOutlet(info)


def _read_until(src, cond, seconds=10.0):
    """Read until ``cond(chunk)`` holds (the machine may be slow), return that chunk."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        chunk = src.read(0.05)
        if chunk is not None and cond(chunk):
            return chunk
    raise AssertionError("the condition was not met in time")


def test_muse_lsl_unix_stamps_and_right_aux():
    """muse-lsl: 5 channels with "Right AUX" (typed EEG), stamped with time.time()."""
    import pylsl

    name = _name("muse")
    out = _outlet(name, 5, ["TP9", "AF7", "AF8", "TP10", "Right AUX"])
    with LSLSource(name, timeout=5) as src:
        assert src.ch_names == ["TP9", "AF7", "AF8", "TP10"]
        assert src.profile.frontal_pair  # the Muse profile: asymmetry has its pair
        now = time.time()
        x = np.arange(12 * 5, dtype=float).reshape(12, 5)
        out.push_chunk(x.tolist(), (now - (11 - np.arange(12)) / 256.0).tolist())
        chunk = _read_until(src, lambda c: True)
        local = pylsl.local_clock()
        assert chunk.data.shape[0] == 4
        np.testing.assert_allclose(chunk.data[:, 0] * 1e6, x[0, :4])
        assert abs(chunk.timestamps[-1] - local) < 2.0  # was ~1.8e9 s off
        assert any("Unix time" in n for n in src.notes)


def test_unix_stamps_in_milliseconds_are_read_as_milliseconds():
    """A sender stamping with JavaScript's Date.now() (Unix ms): each 4 ms
    step read as 4 s, every sample an outage ('lost for 4.00 s' 268 times in
    8 s). The stamps are read as milliseconds and moved onto the LSL clock."""
    import pylsl

    name = _name("unix-ms")
    out = _outlet(name, 2, ["F3", "F4"], sfreq=250.0)
    with LSLSource(name, timeout=5) as src:
        start = time.time() * 1000.0
        for k in range(3):
            out.push_chunk(np.full((10, 2), float(k)).tolist(),
                           (start + (10 * k + np.arange(10)) * 4.0).tolist())
            time.sleep(0.05)
        got = []
        end = time.monotonic() + 10
        while sum(c.timestamps.size for c in got) < 30 and time.monotonic() < end:
            chunk = src.read(0.05)
            if chunk is not None:
                got.append(chunk)
        ts = np.concatenate([c.timestamps for c in got])
        assert ts.size == 30
        np.testing.assert_allclose(np.diff(ts), 0.004, atol=1e-6)
        assert abs(ts[-1] - pylsl.local_clock()) < 2.0
        assert not [e for e in src.pop_events() if e.kind in ("disconnected", "dropped")]
        assert any("milliseconds" in n for n in src.notes)


def test_stamps_on_a_clock_of_their_own_are_moved_by_their_arrival():
    import pylsl

    name = _name("devclock")
    out = _outlet(name, 2, sfreq=100.0)
    # a device that started 2 minutes after this machine (a machine just
    # booted, as CI's, is minutes from a device clock that counts from 0)
    now = pylsl.local_clock()
    start = now - 120.0 if now > 180.0 else now + 120.0
    with LSLSource(name, timeout=5) as src:
        out.push_chunk(np.zeros((10, 2)).tolist(), (start + np.arange(10) / 100.0).tolist())
        chunk = _read_until(src, lambda c: True)

        assert abs(chunk.timestamps[-1] - pylsl.local_clock()) < 2.0
        np.testing.assert_allclose(np.diff(chunk.timestamps), 0.01)
        assert any("clock of its own" in n for n in src.notes)


def test_channels_typed_as_not_eeg_are_left_out():
    name = _name("types")
    _out = _outlet(name, 3, ["Fz", "Cz", "AccX"], types=["EEG", "EEG", "ACC"])  # noqa: F841
    with LSLSource(name, timeout=5) as src:
        assert src.ch_names == ["Fz", "Cz"]


@pytest.mark.parametrize("n, sfreq, message", [
    (6, 100.0, "came back with 6 channels instead of 4"),
    (4, 200.0, "came back at 200 Hz instead of 100 Hz"),  # OpenBCI GUI set to another rate
])
def test_a_sender_back_with_another_layout_ends_in_one_sentence(n, sfreq, message):
    import pylsl

    name = _name("layout")
    out = _outlet(name, 4, sfreq=100.0)
    with LSLSource(name, timeout=5, lost_after=0.2) as src:
        out.push_chunk(np.zeros((10, 4)).tolist(),
                       (pylsl.local_clock() + np.arange(10) / 100.0).tolist())
        _read_until(src, lambda c: True)
        del out
        back = _outlet(name, n, sfreq=sfreq)
        with pytest.raises(StreamError, match=message) as err:
            end = time.monotonic() + 15
            while time.monotonic() < end:
                src.read(0.05)
        del back
    # the source cannot know whether a recording was made (live --no-record): the
    # session's summary names the recording when there is one
    assert str(err.value).endswith("; the session ended there: start a new session for "
                                   f"the new {'layout' if n != 4 else 'rate'}.")


@pytest.mark.slow  # waits for the loss and the new sender (about 2.5 s)
def test_a_sender_back_with_a_new_source_id_is_taken_by_its_name():
    import pylsl

    name = _name("newsid")
    out = _outlet(name, 2, sfreq=100.0)
    with LSLSource(name, timeout=5, lost_after=0.2) as src:
        out.push_chunk(np.zeros((10, 2)).tolist(),
                       (pylsl.local_clock() + np.arange(10) / 100.0).tolist())
        _read_until(src, lambda c: True)
        del out
        # wait until the source has seen the loss, then the new sender starts
        end = time.monotonic() + 10
        while not src._lost and time.monotonic() < end:
            src.read(0.05)
        out = _outlet(name, 2, sfreq=100.0, source_id=f"{name}-again")
        t0 = pylsl.local_clock()

        def pushed_and_read(chunk):
            return chunk.timestamps[-1] >= t0

        end = time.monotonic() + 15
        got = None
        while got is None and time.monotonic() < end:
            out.push_chunk(np.ones((5, 2)).tolist(),
                           (pylsl.local_clock() + np.arange(5) / 100.0).tolist())
            chunk = src.read(0.05)
            got = chunk if chunk is not None and pushed_and_read(chunk) else None
        assert got is not None
        assert src.source_id == f"{name}-again"
        # the outage is judged once the stamps have gone a quarter second past it
        kinds = [e.kind for e in src.pop_events()]
        end = time.monotonic() + 10
        while "reconnected" not in kinds and time.monotonic() < end:
            out.push_chunk(np.ones((5, 2)).tolist(),
                           (pylsl.local_clock() + np.arange(5) / 100.0).tolist())
            src.read(0.05)
            kinds += [e.kind for e in src.pop_events()]
        assert "reconnected" in kinds


def test_two_streams_of_one_name_are_refused_with_their_source_ids():
    name = _name("twin")
    _a = _outlet(name, 2, source_id=f"{name}-a")  # noqa: F841
    _b = _outlet(name, 2, source_id=f"{name}-b")  # noqa: F841
    src = LSLSource(name, timeout=5)
    with pytest.raises(StreamError, match="2 LSL streams are named") as err:
        src.start()
    assert f"{name}-a" in str(err.value) and f"{name}-b" in str(err.value)
    # the source id picks one
    with LSLSource(f"{name}-b", timeout=5) as one:
        assert one.source_id == f"{name}-b"


def test_two_streams_of_one_name_without_source_ids_on_one_host_are_refused():
    """Two senders of one name and no source id on this machine (a script run
    twice) are two streams: refused, not one of them taken at random."""
    name = _name("twin-noid")
    _a = _outlet(name, 2, source_id="")  # noqa: F841
    _b = _outlet(name, 2, source_id="")  # noqa: F841
    with pytest.raises(StreamError, match=r"2 LSL streams are named .*they have no "
                                          r"source id: rename one in its streaming app"):
        LSLSource(name, timeout=5).start()


def test_a_type_several_streams_have_is_refused_with_their_names():
    """--lsl '' --lsl-type TYPE took the first stream of the type to answer:
    with two on the network (another session's biofeedback-EEG, a second
    headset) either could be read, or one that sends nothing."""
    kind = f"QA{uuid.uuid4().hex[:8]}"
    names = [_name("type-a"), _name("type-b")]
    import pylsl

    _outs = [pylsl.StreamOutlet(pylsl.StreamInfo(n, kind, 2, 100.0, "float32", n))  # noqa: F841
             for n in names]
    with pytest.raises(StreamError, match=rf"2 LSL streams are of type '{kind}' \(.*"
                                          r"\); name the one to read with --lsl NAME"):
        LSLSource("", stream_type=kind, timeout=5).start()
    del _outs[1]
    with LSLSource("", stream_type=kind, timeout=5) as src:  # one left: it is read
        assert src.stream_name == names[0]


def test_a_name_no_stream_has_names_the_eeg_streams_that_are_there():
    """``--lsl MuseEEG`` (a name from an example) with muse-lsl's stream,
    named Muse, on the network: "no stream found, check that the app is
    running" sent the user to look at an app that was running."""
    there = _name("Muse")
    _out = _outlet(there, 4)  # noqa: F841
    asked = there.replace("Muse", "MuseEEG")
    with pytest.raises(StreamError) as err:
        LSLSource(asked, timeout=0.5).start()
    said = str(err.value)
    # the closest name first (other EEG streams on this machine may follow)
    assert re.match(rf"No LSL stream named '{asked}' was found within 0\.5 s, but (an EEG "
                    rf"stream named '{there}' is|EEG streams named '{there}', .* are) on "
                    "this network; ", said), said
    assert said.endswith("; pass the name your streaming app gives its stream to --lsl "
                         "(muse-lsl: Muse, OpenBCI GUI: obci_eeg1 unless renamed).")


def test_a_type_is_resolved_in_any_case():
    """MNE-LSL's player types a Raw of EEG channels "eeg": ``--lsl ''
    --lsl-type EEG`` said no stream of type 'EEG' was found; two streams of
    the type in different cases are still two."""
    import pylsl

    kind = f"qa{uuid.uuid4().hex[:8]}"
    names = [_name("lowtype"), _name("uptype")]
    low = pylsl.StreamOutlet(pylsl.StreamInfo(names[0], kind, 2, 100.0, "float32", names[0]))
    with LSLSource("", stream_type=kind.upper(), timeout=3) as src:
        assert src.stream_name == names[0]
    _up = pylsl.StreamOutlet(  # noqa: F841
        pylsl.StreamInfo(names[1], kind.upper(), 2, 100.0, "float32", names[1]))
    with pytest.raises(StreamError, match="2 LSL streams are of type"):
        LSLSource("", stream_type=kind, timeout=3).start()
    del low


def test_a_stream_found_by_its_source_id_opens_beside_another_of_its_name():
    """The dashboard follows its session's EEG by source id while others run theirs."""
    from biofeedback.dashboard._lsl import _make_by_id

    name = _name("ownid")
    _a = _outlet(name, 2, source_id=f"{name}-a")  # noqa: F841
    _b = _outlet(name, 2, source_id=f"{name}-b")  # noqa: F841
    with _make_by_id(f"{name}-b")(name, timeout=5) as src:
        assert src.source_id == f"{name}-b"


@pytest.mark.slow  # waits for the loss and a second of looking (about 2 s)
@pytest.mark.parametrize("by", ["source_id", "dashboard"])
def test_a_stream_picked_by_source_id_is_not_swapped_for_another_of_its_name(by):
    """Two headsets publish under one name; the one picked by its source id
    vanishes: the source waits for it and never reads the other one."""
    import pylsl

    from biofeedback.dashboard._lsl import _make_by_id

    name = _name("pick")
    mine = _outlet(name, 2, sfreq=100.0, source_id=f"{name}-mine")
    other = _outlet(name, 2, sfreq=100.0, source_id=f"{name}-other")
    src = (LSLSource(f"{name}-mine", timeout=5, lost_after=0.2) if by == "source_id"
           else _make_by_id(f"{name}-mine")(name, timeout=5, lost_after=0.2))

    def push(outlet, value):
        outlet.push_chunk(np.full((5, 2), value).tolist(),
                          (pylsl.local_clock() + np.arange(5) / 100.0).tolist())

    with src:
        push(mine, 1.0)
        _read_until(src, lambda c: True)
        del mine
        end = time.monotonic() + 10
        while not src._lost and time.monotonic() < end:
            push(other, 2.0)
            src.read(0.05)
        assert src._lost
        end = time.monotonic() + 1.5  # 30 looks: the old code took another by name every 4th
        while time.monotonic() < end:
            push(other, 2.0)
            chunk = src.read(0.05)
            assert chunk is None or not np.any(chunk.data == 2e-6), "read the other headset"
        assert src.source_id == f"{name}-mine" and src._lost
    del other


def _muse_lsl_with_ppg_acc_gyro(name):
    """``muselsl stream --ppg --acc --gyro``: four streams of one name and one
    source id; the EEG's answer may come last."""
    import pylsl

    sid = f"Muse{name}"
    outs = {}
    for kind, n, rate in (("ACC", 3, 52.0), ("PPG", 3, 64.0), ("GYRO", 3, 52.0)):
        outs[kind] = pylsl.StreamOutlet(pylsl.StreamInfo(name, kind, n, rate, "float32", sid))
    outs["EEG"] = _outlet(name, 5, ["TP9", "AF7", "AF8", "TP10", "Right AUX"], source_id=sid)
    return sid, outs


def test_muse_lsl_motion_and_ppg_streams_of_the_eeg_name_are_not_read_as_eeg():
    """A stream named "Muse" was refused as two headsets, and its source id,
    offered instead, opened the accelerometer as often as the EEG."""
    name = _name("muse-all")
    sid, _outs = _muse_lsl_with_ppg_acc_gyro(name)
    for by in (name, sid, sid):
        with LSLSource(by, timeout=5) as src:
            assert (src.sfreq, src.ch_names) == (256.0, ["TP9", "AF7", "AF8", "TP10"])


@pytest.mark.slow  # a second of silence with looks for the stream (about 1.5 s)
def test_a_silent_muse_lsl_eeg_is_not_swapped_for_its_accelerometer():
    """While the EEG is silent the source looks for it by source id, which
    muse-lsl's other streams share: taking one ended the session ("came back
    with 3 channels")."""
    import pylsl

    name = _name("muse-quiet")
    sid, outs = _muse_lsl_with_ppg_acc_gyro(name)
    with LSLSource(sid, timeout=5, lost_after=0.2) as src:
        outs["EEG"].push_chunk(np.zeros((12, 5)).tolist(),
                               (pylsl.local_clock() + np.arange(12) / 256.0).tolist())
        _read_until(src, lambda c: True)
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            outs["ACC"].push_sample([0.0, 0.0, 1.0])
            assert src.read(0.05) is None
        assert src._lost and src.sfreq == 256.0


@pytest.mark.parametrize("kind", ["FFT", "AvgBandPower", "Focus", "ACC"])
def test_a_stream_of_computed_values_or_another_sensor_is_refused(kind):
    """OpenBCI GUI's FFT stream (125 bins) ran a session whose windows were
    all 'clean': estimates and cues of FFT bins read as electrodes."""
    import pylsl

    name = _name("derived")
    _out = pylsl.StreamOutlet(pylsl.StreamInfo(name, kind, 125, 250.0, "float32", name))  # noqa: F841
    with pytest.raises(StreamError, match=rf"^The LSL stream '{name}' is of type '{kind}': "
                                          r"it holds .*not EEG samples; name the raw EEG "
                                          r"stream with --lsl NAME"):
        LSLSource(name, timeout=5).start()


@pytest.mark.parametrize("mark", ["'s", "'s \"x\"", "' or '1'='1"])
def test_a_stream_named_with_an_apostrophe_is_found_and_no_other(mark):
    """pylsl's query by name put an apostrophe in the XPath as it was: "Bob's
    Muse" was never found, and a name that closed the quote matched others."""

    name = _name("bob") + mark
    _other = _outlet(_name("other"), 3)  # noqa: F841
    _out = _outlet(name, 2, source_id=_name("bob-id"))  # noqa: F841
    with LSLSource(name, timeout=3) as src:
        assert (src.stream_name, len(src.ch_names)) == (name, 2)
    sid = _name("bob-id") + mark  # by source id too
    _by_id = _outlet(_name("bob2"), 2, source_id=sid)  # noqa: F841
    with LSLSource(sid, timeout=3) as src:
        assert src.source_id == sid


def test_channels_named_with_name_tags_keep_their_names():
    """Lab scripts write ``<name>`` where the XDF conventions say ``<label>``:
    the channels became EEG01... and asymmetry lost its frontal pair."""
    import pylsl

    name = _name("nametag")
    info = pylsl.StreamInfo(name, "EEG", 4, 250.0, "float32", name)
    chans = info.desc().append_child("channels")
    for label in ["Fp1", "Fp2", "O1", "O2"]:
        chans.append_child("channel").append_child_value("name", label)
    _out = pylsl.StreamOutlet(info)  # noqa: F841
    with LSLSource(name, timeout=5) as src:
        assert src.ch_names == ["Fp1", "Fp2", "O1", "O2"]
        assert src.profile.frontal_pair == ("Fp1", "Fp2")


def test_an_evenly_stamped_rate_is_the_whole_number_its_host_clock_blurs():
    """Stamps of a 250 Hz device on a host clock measure 250.06 Hz; read at
    that rate, a model trained at 250 Hz refused the stream."""
    from biofeedback.stream._peers import regular_rate

    rng = np.random.default_rng(0)
    n = np.arange(2000)
    assert regular_rate(100.0 + n / 250.06) == 250.0
    jittered = 100.0 + n / 250.0 + rng.normal(0, 1e-4, n.size)
    assert regular_rate(jittered) == 250.0
    assert regular_rate(np.delete(jittered, np.s_[900:950])) == 250.0  # a gap
    assert regular_rate(100.0 + n / 128.3) == 128.3  # not a whole number: kept
    assert regular_rate(np.cumsum(rng.uniform(0.001, 0.01, n.size))) is None  # uneven


def test_an_irregular_stream_takes_the_named_board_rate_or_says_what_to_do():
    from biofeedback.hardware import get_profile

    name = _name("irregular")
    _out = _outlet(name, 4, ["TP9", "AF7", "AF8", "TP10"], sfreq=0.0)  # noqa: F841
    with pytest.raises(StreamError, match="declares no sampling rate.*--board"):
        LSLSource(name, timeout=5).start()
    with LSLSource(name, profile=get_profile("muse_2"), timeout=5) as src:
        assert src.sfreq == 256.0
        assert any("declares no rate" in n for n in src.notes)


@pytest.mark.parametrize("unit, per_volt", [("nV", 1e9), ("μV", 1e6), ("volt", 1.0),
                                            ("0", 1.0), ("-6", 1e6)])
def test_units_a_live_stream_declares_are_read_as_its_recording_reads_them(unit, per_volt):
    """Nanovolts, the Greek mu (U+03BC, not the micro sign) and 'volt' were
    unknown to the live source, which took them for microvolts (nV 1000
    times too large, volts a million times too small), while the XDF reader
    of the same stream's recording read them right: one table now. MNE-LSL's
    player writes the power of ten ("0": a Raw's volts), taken for
    microvolts too, so every window was flat."""
    import pylsl

    name = _name("unit")
    info = pylsl.StreamInfo(name, "EEG", 1, 100.0, "float32", name)
    ch = info.desc().append_child("channels").append_child("channel")
    ch.append_child_value("label", "Cz")
    ch.append_child_value("unit", unit)
    out = pylsl.StreamOutlet(info)
    with LSLSource(name, timeout=5) as src:
        out.push_chunk([[20e-6 * per_volt]] * 5,
                       (pylsl.local_clock() + np.arange(5) / 100.0).tolist())
        chunk = _read_until(src, lambda c: True)
        np.testing.assert_allclose(chunk.data[0], 20e-6, rtol=1e-6)


def test_channels_labelled_alike_are_told_apart():
    """A sender labelling every channel 'EEG' (an amplifier's defaults): the
    engine finds channels by name and stopped with a ValueError traceback;
    the labels are made unique, as the file readers make them, and said."""
    from biofeedback.config import load_pipeline
    from biofeedback.engine import Engine

    name = _name("same-labels")
    _out = _outlet(name, 3, ["EEG", "EEG", "Cz"])  # noqa: F841
    with LSLSource(name, timeout=5) as src:
        assert src.ch_names == ["EEG", "EEG-2", "Cz"]
        assert any("EEG -> EEG-2" in n for n in src.notes)
        Engine(load_pipeline(), src.ch_names, src.sfreq, src.profile)


def test_channels_without_labels_are_named_by_position_and_the_others_kept():
    """Two blank labels (and one with a trailing space) named every channel
    EEG01..EEG04, so Cz lost its name, its place on the head and its role."""
    name = _name("blank-labels")
    _out = _outlet(name, 4, ["", "", "Cz ", "Pz"])  # noqa: F841
    with LSLSource(name, timeout=5) as src:
        assert src.ch_names == ["EEG01", "EEG02", "Cz", "Pz"]
        assert any("channels without a label named by position (EEG01, EEG02)" in n
                   for n in src.notes)


def test_many_blank_or_alike_labels_are_said_as_capped_lists():
    """Lists the stream supplied go through the one list helper ('and 2 more'),
    as every other message lists names, not cut with '...'."""
    name = _name("many-labels")
    _out = _outlet(name, 10, [""] * 5 + ["X"] * 5)  # noqa: F841
    with LSLSource(name, timeout=5) as src:
        assert src.ch_names == ["EEG01", "EEG02", "EEG03", "EEG04", "EEG05",
                                "X", "X-2", "X-3", "X-4", "X-5"]
        assert src.notes[:2] == [
            "channels without a label named by position (EEG01, EEG02, EEG03 and 2 more)",
            "channels with the same label were renamed to tell them apart (X -> X-2, "
            "X -> X-3, X -> X-4 and 1 more)"]


def test_a_stream_of_strings_says_what_to_do():
    """An EEG stream sent as text (channel format string) is refused in one
    sentence naming the stream and what to do; it named neither remedy."""
    name = _name("strings")
    _out = _outlet(name, 2, ["F3", "F4"], fmt="string")  # noqa: F841
    with pytest.raises(StreamError, match=rf"stream named '{name}' carries strings .*; "
                                          r"have the streaming app send numbers .*--lsl NAME"):
        LSLSource(name, timeout=5).start()


@pytest.mark.parametrize("stamps", ["even", "bunched", "uneven"])
def test_an_irregular_stream_stamped_evenly_is_read_at_its_stamps_rate(stamps):
    """A sender that declares EEG irregular (nominal rate 0) but stamps it
    evenly is read at the rate of its stamps, as the XDF reader reads its
    recording, from its first sample on; so is one that pushes chunks without
    stamps (pylsl then stamps every sample of a chunk with its push time),
    its samples stamped a period apart. Stamps with no rate to be had are
    refused in one sentence. Before, the first two were refused, or bunched
    stamps pushed evenly read at the rate of the pushes (20 Hz here)."""
    import threading

    import pylsl

    name = _name("irregular-even")
    out = _outlet(name, 2, ["F3", "F4"], sfreq=0.0)
    stop = threading.Event()
    rng = np.random.default_rng(0)

    def push():
        i, t0 = 0, pylsl.local_clock()
        while not stop.is_set():
            due = int((pylsl.local_clock() - t0) * 200.0)
            while i + 10 <= due:
                x = np.column_stack([np.arange(i, i + 10), np.zeros(10)])
                if stamps == "bunched":  # push_chunk(x): the push time on each sample
                    out.push_chunk(x.tolist())
                else:
                    ts = t0 + np.arange(i, i + 10) / 200.0
                    if stamps == "uneven":
                        ts += np.sort(rng.uniform(0.0, 0.004, 10))
                    out.push_chunk(x.tolist(), ts.tolist())
                i += 10
            time.sleep(0.01)

    pusher = threading.Thread(target=push, daemon=True)
    try:
        if stamps == "uneven":
            pusher.start()
            with pytest.raises(StreamError, match="declares no sampling rate .* not evenly "
                                                  "stamped; set its rate .*--board"):
                LSLSource(name, timeout=5).start()
            return
        src = LSLSource(name, timeout=5)
        pusher.start()
        with src:
            assert src.sfreq == 200.0 and src.profile.sfreq == 200.0
            how = "its stamps" if stamps == "even" else "its chunks (pushed without stamps"
            assert any(f"200 Hz measured from {how}" in n for n in src.notes)
            chunk = _read_until(src, lambda c: True)
            first = np.round(chunk.data[0] * 1e6)
            # the 2 s read while measuring come first, none left out
            assert np.all(np.diff(first) == 1) and first.size >= 380
            if stamps == "even":
                np.testing.assert_allclose(np.diff(chunk.timestamps), 1 / 200.0, atol=1e-6)
            else:  # a period apart within each push; pushes as evenly as they were made
                steps = np.diff(chunk.timestamps)
                assert np.median(steps) == pytest.approx(1 / 200.0, abs=1e-9)
                assert np.mean(np.isclose(steps, 1 / 200.0, atol=1e-9)) >= 0.85
            chunks = [chunk]
            while sum(c.timestamps.size for c in chunks) < 800:  # 4 s, no loss said
                chunks.append(_read_until(src, lambda c: True))
            assert src.n_dropped == 0
            assert not [e for e in src.pop_events() if e.kind != "marker"]
    finally:
        stop.set()
        pusher.join(5)


@pytest.mark.parametrize("jump", [5.0, -3.0])
def test_a_sender_clock_that_jumps_is_put_back_in_line(jump):
    """Stamps stepped by the sender's clock (a wall clock set by NTP) lose nothing.

    Before, +5 s was counted as a 5 s outage (1250 samples "lost") with the
    windows after it 5 s in the future; -3 s went back in time and every
    latency read 3 s.
    """
    import pylsl

    name = _name("jump")
    out = _outlet(name, 2, sfreq=100.0)
    with LSLSource(name, timeout=5) as src:
        t0 = pylsl.local_clock()
        out.push_chunk(np.zeros((10, 2)).tolist(), (t0 + np.arange(10) / 100.0).tolist())
        first = _read_until(src, lambda c: True)
        out.push_chunk(np.zeros((10, 2)).tolist(),
                       (t0 + jump + (10 + np.arange(10)) / 100.0).tolist())
        second = _read_until(src, lambda c: True)
        np.testing.assert_allclose(second.timestamps[0] - first.timestamps[-1], 0.01)
        events = src.pop_events()
        assert [e.kind for e in events] == ["marker"]
        assert events[0].text == f"clock_jump s={jump:+.3f}"
        assert src.n_dropped == 0


def test_labelled_frontal_sites_give_asymmetry_its_pair():
    from biofeedback.hardware import get_profile

    name = _name("pair")
    _out = _outlet(name, 4, ["Fz", "F3", "f4", "Cz"], sfreq=250.0)  # noqa: F841
    with LSLSource(name, timeout=5) as src:
        assert src.profile.frontal_pair == ("F3", "f4")
    # --board's pair absent from the stream's labels: no pair (was the board's, which
    # named channels the stream does not have)
    name = _name("nopair")
    _out2 = _outlet(name, 4, ["c1", "c2", "c3", "c4"], sfreq=256.0)  # noqa: F841
    with LSLSource(name, profile=get_profile("muse_2"), timeout=5) as src:
        assert src.ch_names == ["c1", "c2", "c3", "c4"] and src.profile.frontal_pair is None


def test_labels_from_the_network_cannot_drive_the_terminal():
    """A label or event carrying an escape sequence prints as text, not as a command."""
    import io
    from types import SimpleNamespace

    from biofeedback.feedback._terminal import TerminalView

    evil = "\x1b[2J\x1b]0;owned\x07Fz"
    name = _name("evil")
    _out = _outlet(name, 2, [evil, "Cz"], sfreq=100.0)  # noqa: F841
    with LSLSource(name, timeout=5) as src:
        assert "\x1b" not in "".join(src.ch_names) and src.ch_names[1] == "Cz"
    out = io.StringIO()
    view = TerminalView(stream=out, color=False)
    view.open(SimpleNamespace(estimate_names=["a"], ch_names=[evil, "Cz"], sfreq=100.0,
                              profile=SimpleNamespace(name="lsl"), protocol=None))
    view.event("marker", 0.0, "note \x1b[31mred")
    lines = view.render(SimpleNamespace(index=0, t_end=1.0, estimates=np.array([1.0]),
                                        gated=False, quality=np.zeros(2, dtype=np.int64)))
    assert not any("\x1b" in line or "\x07" in line for line in lines)


@pytest.mark.slow  # a session until it gives up on the stream (about 4 s)
def test_a_stream_lost_for_good_is_counted_to_the_end_of_the_session():
    """Before, a stream that never came back left '0 samples dropped' and no lost line."""
    import threading

    import pylsl

    from biofeedback.config import load_pipeline
    from biofeedback.session import Session

    name = _name("gone")
    out = _outlet(name, 4, ["Fz", "Cz", "Pz", "Oz"], sfreq=250.0)
    src = LSLSource(name, timeout=5, lost_after=0.3)
    session = Session(src, load_pipeline(), record=False, give_up=1.0, publish=False)

    def send_then_vanish():
        t0 = pylsl.local_clock()
        k = 0
        while pylsl.local_clock() - t0 < 2.5:
            n = int((pylsl.local_clock() - t0) * 250) - k
            if n > 0:
                out.push_chunk(np.zeros((n, 4)).tolist(),
                               (t0 + (k + np.arange(n)) / 250.0).tolist())
                k += n
            time.sleep(0.02)

    sender = threading.Thread(target=send_then_vanish)
    sender.start()
    summary = session.run()
    sender.join()
    assert summary.stopped_by == "source_lost"
    assert summary.losses["outages"] == 1 and summary.losses["outage"] > 250  # > 1 s
    assert any("still lost when the session ended" in n for n in summary.notes)


def test_unix_stamps_keep_no_history():
    """Measured at every read for hours: nothing may grow per read (a first version
    kept every measurement, about 100 bytes a read)."""
    import tracemalloc

    from biofeedback.stream._peers import _UnixStamps

    stamps = _UnixStamps(0.0)
    one = np.array([time.time()])
    stamps(one)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for _ in range(20000):
            stamps(one)
        grown = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert grown < 50_000


def test_unix_stamps_measure_the_clock_about_once_a_second_and_keep_a_bounded_history():
    """Three paired readings at every chunk were the cost of a history that grew
    without end: the clock is measured once a second, its history capped."""
    import pylsl

    from biofeedback.stream._clock import UnixToLSL
    from biofeedback.stream._peers import _UnixStamps

    stamps = _UnixStamps(0.0)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 2.5:  # a chunk every few milliseconds for 2.5 s
        got = stamps(np.array([time.time()]))
        assert abs(got[0] - pylsl.local_clock()) < 0.1
        time.sleep(0.002)
    assert 2 <= len(stamps.clock.history) <= 4  # at 0, 1 and 2 s
    clock = UnixToLSL(refresh=0.0)  # a long stream: measured far more often than kept
    for _ in range(5000):
        clock(0.0)
    assert len(clock.history) == clock.history.maxlen < 5000
    assert clock.history[-1][0] > clock.history[0][0]  # the newest are kept


def test_a_clock_that_keeps_jumping_is_marked_each_time_and_said_three_times():
    src = LSLSource("never-opened")
    src.sfreq = 100.0
    for k in range(8):  # reads 0.1 s apart; the sender's clock set 2 s back before each
        true = 10.0 + 0.1 * k + np.arange(10) / 100.0
        now = float(true[-1]) + 0.01
        got = src._on_lsl_clock(true - 2.0 * k, now)
        np.testing.assert_allclose(got, true)  # put back in line every time
        src._last_ts, src._last_data = float(got[-1]), now
    assert len(src.notes) == 3 and src.notes[-1].endswith("(further jumps are only marked)")
    assert [e.text for e in src.pop_events()] == ["clock_jump s=-2.000"] * 7


def test_a_stream_declaring_more_channels_than_a_recording_may_have_is_refused(caplog):
    """A sender declaring 100,000 channels was opened (an inlet and a ring
    buffer sized by them); it is refused in one sentence naming the stream, by
    the session's source and by the inlets kept for the recording's end."""
    from biofeedback.stream._lsl import KeptInlets

    name = _name("wide")
    out = _outlet(name, 100_000, sfreq=250.0)
    said = (f"The LSL stream '{name}' declares 100000 channels, more than the 4096 a "
            "recording may have; it is no EEG stream, or its sender is misconfigured: fix "
            "the sender, or name another stream.")
    with pytest.raises(StreamError) as err:
        LSLSource(name, timeout=5).start()
    assert str(err.value) == said
    kept = KeptInlets([f"name='{name}'"])
    kept.open(listen=1.0)
    assert kept.missing == [f"name='{name}'"] and kept.tails() == {}
    assert said in caplog.text
    del out


def _push_every(out, stamp, n=5, sfreq=250.0, seconds=3.0):
    """Push ``n`` samples every ``n / sfreq`` s from a thread, the newest
    stamped ``stamp()`` and the others a period apart before it."""
    import threading

    stop = threading.Event()

    def run():
        end = time.monotonic() + seconds
        while not stop.is_set() and time.monotonic() < end:
            last = stamp()
            out.push_chunk(np.zeros((n, 2)).tolist(),
                           (last - (n - 1 - np.arange(n)) / sfreq).tolist())
            stop.wait(n / sfreq)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return stop, thread


@pytest.mark.parametrize("wall_clock", [-4.0, 4.0])
def test_unix_stamps_of_a_sender_whose_wall_clock_is_off_are_moved_by_their_arrival(
        wall_clock):
    """muse-lsl on another machine stamps with its wall clock, which liblsl does
    not synchronise: 4 s behind, every window's latency read 4 s and the
    recording's EEG lay 4 s before its cues; 4 s ahead was said as a clock
    that jumped at the first sample. Both are said as the wall clock's offset."""
    import pylsl

    name = _name("wallclock")
    out = _outlet(name, 2, ["F3", "F4"], sfreq=250.0)
    stop, pusher = _push_every(out, lambda: time.time() + wall_clock)
    try:
        with LSLSource(name, timeout=5) as src:
            got = []
            while sum(c.timestamps.size for c in got) < 100:
                chunk = _read_until(src, lambda c: True)
                got.append(chunk)
                latest = chunk.timestamps[-1] - pylsl.local_clock()
                assert -0.5 < latest <= 0.0  # on arrival, not seconds before or after
            ts = np.concatenate([c.timestamps for c in got])
            assert np.all(np.diff(ts) > 0)
            assert not src.pop_events()  # no jump marked, nothing lost
            said = "behind" if wall_clock < 0 else "ahead of"
            assert len(src.notes) == 1
            # (its first arrival measures it, late by as long as this process was)
            assert re.search(rf"wall clock is (3\.9|4\.0|4\.1) s {said} this machine's",
                             src.notes[0]), src.notes[0]
    finally:
        stop.set()
        pusher.join(5)


def test_lsl_stamps_ahead_from_the_first_sample_are_a_clock_of_its_own_not_a_jump():
    """Stamps ahead of the LSL clock from the first sample on were said as a
    clock that jumped at the first sample, and marked so in the recording."""
    import pylsl

    name = _name("ahead")
    out = _outlet(name, 2, ["F3", "F4"], sfreq=250.0)
    stop, pusher = _push_every(out, lambda: pylsl.local_clock() + 3.5)
    try:
        with LSLSource(name, timeout=5) as src:
            chunk = _read_until(src, lambda c: True)
            assert -0.5 < chunk.timestamps[-1] - pylsl.local_clock() <= 0.0
            assert not src.pop_events()
            assert len(src.notes) == 1 and "jump" not in src.notes[0]
            assert re.search(r"(3\.4|3\.5) s ahead of the LSL clock from its first",
                             src.notes[0]), src.notes[0]
    finally:
        stop.set()
        pusher.join(5)


@pytest.mark.parametrize("kind, said", [("EMG", True), ("ExG", True), ("eeg", False),
                                        ("", False)])
def test_a_named_stream_of_another_type_is_read_as_eeg_and_said(kind, said):
    """A stream named with --lsl whose type is not EEG (EMG, a generic ExG)
    was read as EEG without a word; its type is said in the summary's notes.
    The type in another case, or none (lab scripts leave it empty), is not."""
    import pylsl

    name = _name("kind")
    info = pylsl.StreamInfo(name, kind, 2, 250.0, "float32", name)
    _out = pylsl.StreamOutlet(info)  # noqa: F841
    with LSLSource(name, timeout=5) as src:
        notes = [n for n in src.notes if "typed" in n]
        assert notes == ([f"the stream is typed {kind!r}, not 'EEG': its channels were "
                          "read as EEG"] if said else [])

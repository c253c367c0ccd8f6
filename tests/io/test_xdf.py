"""XDF, the project's own format: our writer, pyxdf's reader, killed recorders."""

import json
import struct

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from biofeedback._xdf_chunks import file_header
from biofeedback.errors import RecordingFormatError
from biofeedback.io import Recording, read_recording, write_recording
from biofeedback.io._xdf import scan_chunks


def test_roundtrip_layout_and_values(tmp_path, make_recording):
    """What we write, pyxdf reads back with the stream layout a session records."""
    import pyxdf

    rec = make_recording()
    fname = write_recording(rec, tmp_path / "sess.xdf")
    streams, _ = pyxdf.load_xdf(str(fname), dejitter_timestamps=False)
    by_name = {s["info"]["name"][0]: s for s in streams}
    assert set(by_name) == {"biofeedback-EEG", "biofeedback-Estimates",
                            "biofeedback-Markers"}
    eeg = by_name["biofeedback-EEG"]
    assert eeg["info"]["type"] == ["EEG"]
    chans = eeg["info"]["desc"][0]["channels"][0]["channel"]
    assert [c["unit"][0] for c in chans] == ["microvolts"] * 4
    assert_allclose(eeg["time_series"].T, rec.data * 1e6)
    est = by_name["biofeedback-Estimates"]
    assert float(est["info"]["nominal_srate"][0]) == 0
    assert by_name["biofeedback-Markers"]["info"]["channel_format"] == ["string"]

    back = read_recording(fname)
    assert back.source_format == "xdf"
    assert back.ch_names == rec.ch_names
    assert back.sfreq == rec.sfreq
    assert_allclose(back.data, rec.data, rtol=1e-12, atol=0)
    assert_array_equal(back.timestamps, rec.timestamps)
    assert back.markers == rec.markers
    # Estimates come back with their exact samples and timestamps.
    est_back = back.streams["biofeedback-Estimates"]
    est_in = rec.streams["biofeedback-Estimates"]
    assert_array_equal(est_back.timestamps, est_in.timestamps)
    assert_array_equal(est_back.data, est_in.data)
    assert est_back.ch_names == ["alpha", "engagement", "gated"]
    assert back.provenance["load_options"] == {
        "synchronize_clocks": True, "dejitter_timestamps": False}
    assert back.profile == "synthetic"
    assert back.warnings == []
    # Rewriting the read recording does not duplicate the markers.
    write_recording(back, tmp_path / "again.xdf")
    again = read_recording(tmp_path / "again.xdf")
    assert again.markers == rec.markers
    assert set(again.streams) == {"biofeedback-Estimates", "biofeedback-Markers"}


def test_gaps_from_markers_and_timestamps(tmp_path, make_recording):
    rec = make_recording(gap_at=600, gap_n=250)  # one second lost
    t_before = rec.timestamps[599]
    rec.markers += [(t_before + 0.01, "gap_start"),
                    (rec.timestamps[600], "gap_end duration=1.00")]
    rec.markers.sort()
    write_recording(rec, tmp_path / "gap.xdf")
    back = read_recording(tmp_path / "gap.xdf")
    assert len(back.gaps) == 1
    gap = back.gaps[0]
    assert gap.onset == t_before
    assert gap.n_missing == 250
    assert gap.source == "marker"
    assert_allclose(gap.duration, 1.0)
    assert "1 gap (250 samples, 1.000 s missing in total); kept as gaps, not " \
        "interpolated." in back.warnings


def test_another_programs_gap_markers_are_its_markers_not_losses(tmp_path, make_recording):
    """A stream recorded beside the session's (--also-record: PsychoPy, a
    lab script) may send any text, 'gap_start' and 'gap_end duration=...'
    included: those are its markers, kept as such, not losses of the EEG
    (they made a gap, and a malformed one a warning). The session's own
    marker stream still marks its losses."""
    from biofeedback.io import Stream

    rec = make_recording()
    t = rec.timestamps
    texts = ["gap_start", "gap_end duration=0.400", "gap_end duration=abc"]
    rec.streams["PsychoPy"] = Stream(
        name="PsychoPy", type="Markers", data=texts,
        timestamps=np.array([t[100], t[200], t[300]]), ch_names=["marker"], sfreq=0.0)
    rec.markers = sorted(rec.markers + [(float(t[600]) - 0.5, "gap_start"),
                                        (float(t[600]), "gap_end duration=0.500 n=125")])
    write_recording(rec, tmp_path / "peer.xdf")
    back = read_recording(tmp_path / "peer.xdf")
    assert [(g.n_missing, g.source) for g in back.gaps] == [(125, "marker")]
    assert not any("abc" in w for w in back.warnings), back.warnings
    assert [m for m in back.markers if m[0] < t[400]] == \
        [(pytest.approx(t[10]), "session_start"), (pytest.approx(t[100]), texts[0]),
         (pytest.approx(t[200]), texts[1]), (pytest.approx(t[300]), texts[2])]


def test_a_peer_streams_markers_are_written_once_whatever_their_stamps(tmp_path,
                                                                     make_recording):
    """A peer's marker stream (--also-record) is in ``rec.markers`` too; a copy
    writes each marker once. Stamps where numpy's and Python's rounding to
    nanoseconds part (about 1 in 130) were written a second time, into the
    session's marker stream."""
    from biofeedback.io import Stream

    rec = make_recording()
    t0 = float(rec.timestamps[50])
    rng = np.random.default_rng(7)
    stamps = t0 + rng.random(400_000)
    parted = stamps[np.round(stamps, 9) != [round(float(x), 9) for x in stamps]]
    stamps = np.sort(np.concatenate([parted[:3], stamps[:3]]))
    texts = [f"stimulus {i}" for i in range(stamps.size)]
    rec.streams["PsychoPy"] = Stream(name="PsychoPy", type="Markers", data=texts,
                                     timestamps=stamps, ch_names=["marker"], sfreq=0.0)
    rec.markers = sorted(rec.markers + list(zip(stamps.tolist(), texts)))
    write_recording(rec, tmp_path / "copy.xdf")
    back = read_recording(tmp_path / "copy.xdf")
    assert [m for _, m in back.markers if m.startswith("stimulus")] == texts
    assert_array_equal(back.streams["PsychoPy"].timestamps, stamps)


def test_a_sessions_own_streams_are_read_beside_another_sessions(tmp_path):
    """--also-record "type='EEG'" (or 'Markers') records every such stream on
    the network, another session's biofeedback-EEG and -Markers too. The
    sidecar names the session's own by source id: those are read (the other
    session's EEG, first in the file and empty, was taken and refused), and
    only its own markers mark losses."""
    from biofeedback._xdf_chunks import footer
    from biofeedback.io._xdf_write import (
        _chunk,
        _numeric_samples,
        _stream_xml,
        _string_samples,
    )

    ts = 100.0 + np.arange(1000) / 250.0

    def header(name, type_, sid, fmt, n_ch=2, sfreq=250.0):
        xml = _stream_xml(name, type_, ["Cz", "Pz"][:n_ch], ["microvolts"] * n_ch,
                          ["EEG"] * n_ch, sfreq, fmt)
        return xml.replace(f"<source_id>{name}</source_id>".encode(),
                           f"<source_id>{sid}</source_id>".encode())

    fname = tmp_path / "session.xdf"
    with open(fname, "wb") as fid:
        fid.write(file_header())  # magic and FileHeader
        fid.write(_chunk(2, header("biofeedback-EEG", "EEG", "biofeedback-other-eeg",
                                   "double64"), 1))
        fid.write(_chunk(2, header("biofeedback-Markers", "Markers",
                                   "biofeedback-other-markers", "string", 1, 0.0), 2))
        fid.write(_chunk(2, header("biofeedback-EEG", "EEG", "biofeedback-mine-eeg",
                                   "double64"), 3))
        fid.write(_chunk(2, header("biofeedback-Markers", "Markers",
                                   "biofeedback-mine-markers", "string", 1, 0.0), 4))
        for content in _numeric_samples(ts, np.full((1000, 2), 2.0), 100):
            fid.write(_chunk(3, content, 3))
        theirs = np.array([ts[100], ts[400]])
        for content in _string_samples(theirs, ["gap_start", "gap_end duration=1.0"], 10):
            fid.write(_chunk(3, content, 2))
        for content in _string_samples(ts[:1], ["session_start"], 10):
            fid.write(_chunk(3, content, 4))
        fid.write(_chunk(6, footer(0.0, 0.0, 0, []), 1))  # the other session's EEG: empty
        for sid, stamps in ((2, theirs), (3, ts), (4, ts[:1])):
            fid.write(_chunk(6, footer(float(stamps[0]), float(stamps[-1]), len(stamps), []),
                             sid))
    fname.with_suffix(".json").write_text(json.dumps({"session_id": "mine", "streams": {
        "EEG": {"name": "biofeedback-EEG", "source_id": "biofeedback-mine-eeg"},
        "Markers": {"name": "biofeedback-Markers", "source_id": "biofeedback-mine-markers"},
    }}))
    rec = read_recording(fname)
    assert rec.n_times == 1000 and np.all(rec.data == 2e-6)
    # named, as --stream biofeedback-EEG names it: the session's own too
    assert np.all(read_recording(fname, stream="biofeedback-EEG").data == 2e-6)
    assert rec.gaps == []
    assert rec.streams["biofeedback-Markers"].data == ["session_start"]
    assert sorted(m[1] for m in rec.markers) == ["gap_end duration=1.0", "gap_start",
                                                 "session_start"]


def test_a_file_of_many_string_streams_names_ten(tmp_path):
    """The names a file holds are listed as every such list is ('and 2 more'),
    counted in their number's grammar, not 'stream(s)' and every name."""
    from biofeedback._xdf_chunks import footer
    from biofeedback.io._xdf_write import _chunk, _stream_xml, _string_samples

    fname = tmp_path / "many.xdf"
    with open(fname, "wb") as fid:
        fid.write(file_header())  # magic and FileHeader
        for sid in range(1, 13):
            fid.write(_chunk(2, _stream_xml(f"S{sid}", "Markers", ["m"], [""], [""], 0.0,
                                            "string"), sid))
            for content in _string_samples(np.array([1.0]), ["x"], 10):
                fid.write(_chunk(3, content, sid))
            fid.write(_chunk(6, footer(1.0, 1.0, 1, []), sid))
    with pytest.raises(RecordingFormatError) as err:
        read_recording(fname)
    assert str(err.value) == (
        f"{fname}: this XDF file holds no signal, only 12 string (marker) streams ('S1', "
        "'S2', 'S3', 'S4', 'S5', 'S6', 'S7', 'S8', 'S9', 'S10' and 2 more); the EEG "
        "stream was not recorded (in LabRecorder, tick it before pressing Start).")


def test_a_session_that_ended_before_any_sample_says_so(tmp_path):
    """A live session whose source never sent keeps its recording and sidecar
    (the sidecar says why it stopped); reading it said only that the EEG
    stream holds no samples."""
    from biofeedback.io._xdf_write import _chunk, _stream_xml

    fname = tmp_path / "empty.xdf"
    with open(fname, "wb") as fid:
        fid.write(file_header())  # magic and FileHeader
        fid.write(_chunk(2, _stream_xml("biofeedback-EEG", "EEG", ["Cz"], ["microvolts"],
                                        ["EEG"], 250.0, "double64"), 1))
    with pytest.raises(RecordingFormatError, match=r"empty\.xdf: the EEG stream "
                       r"'biofeedback-EEG' holds no samples\.$"):
        read_recording(fname)
    fname.with_suffix(".json").write_text(json.dumps(
        {"session_id": "x", "summary": {"n_samples": 0, "stopped_by": "source_lost"}}))
    with pytest.raises(RecordingFormatError, match=r"holds no samples; the session that "
                       r"recorded it ended before its source sent any: start it again"):
        read_recording(fname)


def test_a_gap_markers_n_is_the_count_with_or_without_losses_marked(tmp_path, make_recording):
    """gap_end's n= is what the session counted; its millisecond duration only
    stands in for it, so both ways of reading the markers give n."""
    from biofeedback.io._losses import LOSSES_MARKED

    rec = make_recording()  # 250 Hz, timestamps without a jump
    t = rec.timestamps[600]
    rec.markers += [(t - 0.5, "gap_start"), (t, "gap_end duration=0.500 n=130")]
    rec.markers.sort()
    write_recording(rec, tmp_path / "plain.xdf")
    rec.markers = sorted([*rec.markers, (rec.timestamps[0], LOSSES_MARKED)])
    write_recording(rec, tmp_path / "marked.xdf")
    for name in ("plain.xdf", "marked.xdf"):
        gaps = read_recording(tmp_path / name).gaps
        assert [(g.n_missing, g.source) for g in gaps] == [(130, "marker")], name
        assert_allclose(gaps[0].duration, 0.5)


def test_a_sessions_recording_of_stamps_in_bursts_reads_at_its_counted_rate(tmp_path,
                                                                          make_recording):
    """A sender that stamps samples as it pushes them (OpenBCI GUI's LSL widget,
    BrainFlow) stamps them in bursts: the rate was measured on the steps within
    bursts alone, and a live session's recording of a 250 Hz Cyton read
    "11341 Hz measured", with a warning. The session counted its samples and
    losses: over the stamps' span they give the rate."""
    from biofeedback.io._losses import LOSSES_MARKED

    for sfreq, sent in ((250.0, 250.0), (250.0, 200.0)):  # the second one is off
        rec = make_recording(n_times=2000, sfreq=sfreq)
        k = np.arange(rec.timestamps.size)
        # four samples a push, microseconds apart; 130 lost after the 1000th
        ts = 1000.0 + (k // 4) * 4 / sent + (k % 4) * 1e-6 + (k >= 1000) * 130 / sent
        rec.timestamps = ts
        rec.markers = sorted([*rec.markers, (ts[0], LOSSES_MARKED),
                              (ts[999], "gap_start"),
                              (ts[1000], f"gap_end duration={130 / sent:.3f} n=130"),
                              (ts[-1], "gap_start"),  # still lost when it ended
                              (ts[-1] + 2.0, f"gap_end duration=2.000 n={int(2 * sent)}")])
        fname = tmp_path / f"bursts-{sent:g}.xdf"
        write_recording(rec, fname)
        got = read_recording(fname)
        measured = got.provenance["measured_sfreq"]
        assert measured == pytest.approx(sent, rel=0.002)
        said = [w for w in got.warnings if "measured sampling rate" in w]
        assert said == ([] if sent == sfreq else [
            f"The measured sampling rate {measured:.3f} Hz (the samples and the losses the "
            "session counted over the timestamps' span) differs from the declared 250 Hz by "
            "more than 1%."])


@pytest.mark.parametrize("marked", [False, True])
def test_a_malformed_gap_or_loss_marker_is_said_not_skipped(tmp_path, make_recording, marked):
    """A gap_end duration= or a dropped n= that is not a number: one sentence
    naming the stream, the marker and what was made of it."""
    from biofeedback.io._losses import LOSSES_MARKED

    rec = make_recording()
    t = rec.timestamps[600]
    rec.markers += [(t - 0.5, "gap_start"), (t, "gap_end duration=0.5s")]
    if marked:
        rec.markers += [(rec.timestamps[0], LOSSES_MARKED),
                        (rec.timestamps[100], "dropped n=two duration=0.008")]
    rec.markers.sort()
    write_recording(rec, tmp_path / "bad.xdf")
    back = read_recording(tmp_path / "bad.xdf")
    eeg = "biofeedback-EEG"
    said = [w for w in back.warnings if "not a valid number" in w]
    expected = [f"The gap_end marker at {t:.3f} s for the EEG stream {eeg!r} has "
                "duration='0.5s', which is not a valid number; the outage is read as "
                "0.500 s and 125 samples."]
    if marked:
        expected.insert(0, f"The dropped marker at {rec.timestamps[100]:.3f} s for the EEG "
                           f"stream {eeg!r} has n='two', which is not a valid number; that "
                           "loss is not counted.")
    assert said == expected
    assert [(g.n_missing, g.source) for g in back.gaps] == [(125, "marker")]


def test_a_stream_of_one_sample_reads_back_without_a_pyxdf_warning(tmp_path, make_recording):
    """A scenario with one truth marker wrote its marker stream's first and
    last clock offset at one time; pyxdf's fit of them is singular, and every
    read (info, train) warned 'Clock offsets (0, 1) cannot be used'."""
    rec = make_recording()
    rec.streams = {}
    rec.markers = [(float(rec.timestamps[100]), "state relaxed level=1 ramp=1")]
    back = read_recording(write_recording(rec, tmp_path / "one.xdf"))
    assert back.markers == rec.markers
    assert not [w for w in back.warnings if "pyxdf" in w]


def test_timestamp_gap_without_marker(tmp_path, make_recording):
    rec = make_recording(gap_at=300, gap_n=40)
    write_recording(rec, tmp_path / "gap.xdf")
    back = read_recording(tmp_path / "gap.xdf")
    assert [(g.n_missing, g.source) for g in back.gaps] == [(40, "timestamps")]


def test_sidecar_and_stream_choice(tmp_path, make_recording):
    rec = make_recording()
    rec.provenance["sidecar"] = {"profile": "cyton", "pipeline": "default"}
    write_recording(rec, tmp_path / "s.xdf")
    assert json.loads((tmp_path / "s.json").read_text())["pipeline"] == "default"
    back = read_recording(tmp_path / "s.xdf")
    assert back.provenance["sidecar"]["pipeline"] == "default"
    assert back.profile == "cyton"  # the sidecar wins over the stream metadata
    with pytest.raises(RecordingFormatError, match="no stream named 'nope'"):
        read_recording(tmp_path / "s.xdf", stream="nope")
    other = read_recording(tmp_path / "s.xdf", stream="biofeedback-Estimates")
    assert other.ch_names == ["alpha", "engagement", "gated"]
    assert ("3 channels of stream 'biofeedback-Estimates' declare no unit (alpha, "
            "engagement, gated); assumed microvolts.") in other.warnings


def test_units_from_metadata(tmp_path):
    """Channel units are honoured; a stream in volts is not scaled twice."""
    from biofeedback.io import Stream
    from biofeedback.io._xdf import write_xdf

    ts = np.arange(100) / 100.0
    rec = Recording(data=np.zeros((1, 100)), sfreq=100.0, ch_names=["x"],
                    timestamps=ts)
    rec.streams["volts"] = Stream(name="volts", type="EEG", data=np.ones((2, 200)),
                                  timestamps=np.arange(200) / 100.0,
                                  ch_names=["a", "b"], sfreq=100.0,
                                  meta={"units": ["volts", "millivolts"]})
    write_xdf(rec, tmp_path / "u.xdf")
    back = read_recording(tmp_path / "u.xdf")  # biofeedback-EEG preferred
    assert back.ch_names == ["x"]
    other = read_recording(tmp_path / "u.xdf", stream="volts")
    assert_allclose(other.data[:, 0], [1.0, 1e-3])


def test_units_as_powers_of_ten_from_mne_lsl(tmp_path):
    """MNE-LSL's player declares a unit as its power of ten in volts ("0" for a
    Raw's volts): read as unknown, microvolts were assumed."""
    from biofeedback.io import Stream
    from biofeedback.io._xdf import write_xdf

    rec = Recording(data=np.zeros((1, 100)), sfreq=100.0, ch_names=["x"],
                    timestamps=np.arange(100) / 100.0)
    rec.streams["player"] = Stream(name="player", type="EEG", data=np.ones((2, 200)),
                                   timestamps=np.arange(200) / 100.0,
                                   ch_names=["a", "b"], sfreq=100.0,
                                   meta={"units": ["0", "-6"]})
    write_xdf(rec, tmp_path / "p.xdf")
    back = read_recording(tmp_path / "p.xdf", stream="player")
    assert_allclose(back.data[:, 0], [1.0, 1e-6])
    assert not [w for w in back.warnings if "unit" in w]


@pytest.mark.parametrize("cut", [1, 7, 2000])
def test_killed_recorder(tmp_path, make_recording, cut):
    """A file cut mid-chunk reads up to its last whole chunk, with a warning."""
    rec = make_recording(n_times=2500)
    fname = write_recording(rec, tmp_path / "full.xdf")
    raw = fname.read_bytes()
    # Cut inside the EEG samples: keep everything before the 5th samples chunk.
    cut_file = tmp_path / "cut.xdf"
    sample_starts = []
    pos = 4
    while pos < len(raw):
        nb = raw[pos]
        length = int.from_bytes(raw[pos + 1: pos + 1 + nb], "little")
        if int.from_bytes(raw[pos + 1 + nb: pos + 3 + nb], "little") == 3:
            sample_starts.append(pos)
        pos += 1 + nb + length
    cut_file.write_bytes(raw[: sample_starts[4] + cut])
    valid, size, kind, _ = scan_chunks(cut_file)
    assert valid == sample_starts[4] and kind in ("Samples", "chunk header")
    back = read_recording(cut_file)
    assert back.n_times == 4 * 250  # four whole one-second chunks
    assert_allclose(back.data, rec.data[:, :1000], rtol=1e-12)
    assert any("recorder was probably killed" in w for w in back.warnings)
    assert back.provenance["truncated"]["valid_bytes"] == sample_starts[4]


def test_not_xdf_and_no_eeg(tmp_path):
    from biofeedback.io._xdf import read_xdf

    bad = tmp_path / "bad.xdf"
    bad.write_bytes(b"XDF:\x07garbage")
    with pytest.raises(RecordingFormatError, match="bad.xdf"):
        read_recording(bad)
    other = tmp_path / "o.xdf"
    other.write_bytes(b"NOPE")
    with pytest.raises(RecordingFormatError, match="no 'XDF:' magic"):
        read_xdf(other)


def test_lsl_outlet_recorded_by_our_writer(tmp_path):
    """Samples pulled from a real LSL outlet survive our writer and pyxdf."""
    pytest.importorskip("pylsl")
    import uuid

    import pylsl

    name = f"bf-test-{uuid.uuid4().hex[:8]}"
    info = pylsl.StreamInfo(name, "EEG", 2, 100.0, "double64", name)
    outlet = pylsl.StreamOutlet(info)
    inlet = None
    try:
        found = pylsl.resolve_byprop("source_id", name, timeout=5.0)
        if not found:
            pytest.skip("LSL could not resolve a loopback outlet on this machine")
        inlet = pylsl.StreamInlet(found[0])
        inlet.open_stream(timeout=5.0)
        sent = np.arange(200, dtype=float).reshape(100, 2)
        stamps = pylsl.local_clock() + np.arange(100) / 100.0
        outlet.push_chunk(sent.tolist(), stamps.tolist())
        got, got_ts = [], []
        for _ in range(50):
            chunk, ts = inlet.pull_chunk(timeout=0.2)
            got.extend(chunk)
            got_ts.extend(ts)
            if len(got) >= 100:
                break
    finally:
        if inlet is not None:
            inlet.close_stream()
        del outlet
    assert len(got) == 100
    rec = Recording(data=np.asarray(got).T * 1e-6, sfreq=100.0, ch_names=["a", "b"],
                    timestamps=np.asarray(got_ts))
    write_recording(rec, tmp_path / "lsl.xdf")
    back = read_recording(tmp_path / "lsl.xdf")
    assert_allclose(back.data * 1e6, sent.T)
    assert_allclose(back.timestamps, got_ts)


test_lsl_outlet_recorded_by_our_writer = pytest.mark.lsl(
    test_lsl_outlet_recorded_by_our_writer)


def test_a_numeric_marker_stream_gives_markers(tmp_path):
    """Event codes sent as numbers (a pylsl outlet of type 'Markers' and
    format int32 or float) are markers, as string ones are; the stream's exact
    samples stay in ``streams``."""
    from biofeedback.io import Stream

    t = 100.0 + np.arange(2000) / 250.0
    data = np.random.default_rng(0).normal(0, 1e-5, (2, 2000))
    rec = Recording(data=data, sfreq=250.0, ch_names=["Cz", "Pz"], timestamps=t,
                    markers=[(102.0, "eyes closed")])
    codes = np.array([[1.0, 2.0, 13.0]])
    rec.streams["Triggers"] = Stream(name="Triggers", type="Markers", data=codes,
                                     timestamps=np.array([101.0, 103.5, 105.25]),
                                     ch_names=["code"], sfreq=0.0)
    back = read_recording(write_recording(rec, tmp_path / "codes.xdf"))
    assert back.markers == [(101.0, "1"), (102.0, "eyes closed"), (103.5, "2"),
                            (105.25, "13")]
    assert_array_equal(back.streams["Triggers"].data, codes)
    # written again, the codes stay in their stream and are not doubled
    again = read_recording(write_recording(back, tmp_path / "again.xdf"))
    assert again.markers == back.markers


def test_samples_that_do_not_match_their_header_are_one_sentence(tmp_path):
    """A writer that declares 1 channel and writes 8 float32 per sample: pyxdf
    reads other bytes as timestamps (1e300 s and more); refused, not replayed."""
    import struct

    from biofeedback._xdf_chunks import chunk, varlen
    from biofeedback.io._xdf_write import _stream_xml

    rng = np.random.default_rng(0)
    body = b""
    for start in range(0, 3000, 64):
        rows = [b"\x08" + struct.pack("<d", 1000.0 + i / 250.0)
                + struct.pack("<8f", *rng.normal(0, 10, 8))
                for i in range(start, min(start + 64, 3000))]
        body += chunk(3, varlen(len(rows)) + b"".join(rows), 1)
    fname = tmp_path / "mismatch.xdf"
    fname.write_bytes(b"XDF:" + chunk(1, b'<?xml version="1.0"?><info><version>1.0</version>'
                                         b"</info>")
                      + chunk(2, _stream_xml("Amp", "EEG", ["Cz"], ["microvolts"], ["EEG"],
                                             250.0, "float32"), 1) + body)
    with pytest.raises(RecordingFormatError,
                       match=r"mismatch\.xdf: the EEG stream 'Amp' holds timestamps that are "
                             r"no clock's .* do not match its stream header \(1 channel "
                             r"of float32\); write it again from its source\."):
        read_recording(fname)


def test_two_headsets_of_one_name_are_told_apart_by_source_id(tmp_path):
    """Two Muses both stream as 'Muse' (muse-lsl's name), with their MAC in the
    source id. '--stream Muse' read the first one whatever was asked, the
    other could not be picked, and two marker streams of one name kept one."""
    from biofeedback._xdf_chunks import chunk, footer
    from biofeedback.io._xdf_write import _numeric_samples, _stream_xml, _string_samples

    rng = np.random.default_rng(0)
    ch = ["TP9", "AF7", "AF8", "TP10"]
    parts = [b"XDF:", chunk(1, b'<?xml version="1.0"?><info><version>1.0</version></info>')]
    heads = [("Muse", "EEG", ch, ["microvolts"] * 4, ["EEG"] * 4, 256.0, "double64"),
             ("Muse", "EEG", ch, ["microvolts"] * 4, ["EEG"] * 4, 256.0, "double64"),
             ("Markers", "Markers", ["m"], [""], [""], 0.0, "string"),
             ("Markers", "Markers", ["m"], [""], [""], 0.0, "string")]
    ids = ["Muse00:55:DA:B0:00:01", "Muse00:55:DA:B0:00:02", "psychopy", "keyboard"]
    for sid, (head, source) in enumerate(zip(heads, ids), 1):
        xml = _stream_xml(*head).replace(f"<source_id>{head[0]}</source_id>".encode(),
                                         f"<source_id>{source}</source_id>".encode())
        parts.append(chunk(2, xml, sid))
    n = (3000, 2800)
    data = [rng.normal(0, 10, (k, 4)) for k in n]
    for sid, (k, x) in enumerate(zip(n, data), 1):
        ts = 100.0 + np.arange(k) / 256.0
        parts += [chunk(3, c, sid) for c in _numeric_samples(ts, x, 256)]
        parts.append(chunk(6, footer(float(ts[0]), float(ts[-1]), len(ts), []), sid))
    for sid, text in ((3, "start"), (4, "space")):
        parts += [chunk(3, c, sid) for c in _string_samples(np.array([101.0 + sid]), [text], 1)]
    fname = tmp_path / "two.xdf"
    fname.write_bytes(b"".join(parts))
    rec = read_recording(fname)
    assert rec.n_times == 3000
    assert any("'Muse00:55:DA:B0:00:02'" in w for w in rec.warnings), rec.warnings
    assert sorted(rec.streams) == ["Markers", "Markers (keyboard)", "Muse"]
    with pytest.raises(RecordingFormatError, match=r"2 streams are named 'Muse'; pick one by "
                       r"its source id with --stream SOURCE_ID .*'Muse00:55:DA:B0:00:02'"):
        read_recording(fname, stream="Muse")
    other = read_recording(fname, stream="Muse00:55:DA:B0:00:02")
    assert other.n_times == 2800
    assert_allclose(other.data, data[1].T * 1e-6)


def test_a_file_cut_before_its_first_stream_says_it_was_cut(tmp_path, make_recording):
    """A recorder killed within a second leaves a file cut inside its first
    stream header: 'holds no streams' now says the file was cut, and where."""
    whole = write_recording(make_recording(n_ch=2), tmp_path / "whole.xdf").read_bytes()
    fname = tmp_path / "cut.xdf"
    fname.write_bytes(whole[:300])
    with pytest.raises(RecordingFormatError,
                       match=r"cut\.xdf: this XDF file holds no streams \(The file ends inside "
                             r"a StreamHeader chunk at byte \d+ of 300 \(the recorder was "
                             r"probably killed\)"):
        read_recording(fname)


def _xdf_of_stamps(path, ts):
    """An XDF file of one 2-channel 250 Hz EEG stream stamped ``ts``, as our writer
    writes each part."""
    from biofeedback._xdf_chunks import footer
    from biofeedback.io._xdf_write import _chunk, _numeric_samples, _stream_xml

    values = np.zeros((ts.size, 2))
    with open(path, "wb") as fid:
        fid.write(file_header())
        fid.write(_chunk(2, _stream_xml("JS", "EEG", ["Cz", "Pz"], ["microvolts"] * 2,
                                        ["EEG"] * 2, 250.0, "double64"), 1))
        for content in _numeric_samples(ts, values, 100):
            fid.write(_chunk(3, content, 1))
        fid.write(_chunk(6, footer(float(ts[0]), float(ts[-1]), len(ts), []), 1))
    return path


def test_channels_named_with_name_tags_are_read_by_their_names(tmp_path):
    """A stream whose channels carry ``<name>`` instead of ``<label>`` (lab
    scripts), recorded by LabRecorder, is read with its names, as live."""
    from biofeedback._xdf_chunks import footer
    from biofeedback.io._xdf_write import _chunk, _numeric_samples, _stream_xml

    ts = 100.0 + np.arange(500) / 250.0
    xml = _stream_xml("lab", "EEG", ["Cz", "Pz"], ["microvolts"] * 2, ["EEG"] * 2, 250.0,
                      "double64")
    xml = xml.replace(b"label>", b"name>") if isinstance(xml, bytes) else \
        xml.replace("label>", "name>")
    with open(tmp_path / "n.xdf", "wb") as fid:
        fid.write(file_header())
        fid.write(_chunk(2, xml, 1))
        for content in _numeric_samples(ts, np.zeros((ts.size, 2)), 100):
            fid.write(_chunk(3, content, 1))
        fid.write(_chunk(6, footer(float(ts[0]), float(ts[-1]), len(ts), []), 1))
    assert read_recording(tmp_path / "n.xdf").ch_names == ["Cz", "Pz"]


def test_stamps_in_milliseconds_are_read_so_from_2000_to_2100(tmp_path):
    """A Date.now() sender's stamps are read as milliseconds when every one lies
    between 2000-01-01 and 2100-01-01; a file stamped a millisecond before 2000
    is no clock's (it was read as milliseconds from 1999-12-24 on, and refused
    from 2099-12-04 on)."""
    from biofeedback.stream._peers import UNIX_SPAN

    steps = np.arange(500) * 4.0  # ms at 250 Hz: the last stamp 1996 ms after the first
    for t0_ms in (UNIX_SPAN[0] * 1000.0, UNIX_SPAN[1] * 1000.0 - 1997.0):
        rec = read_recording(_xdf_of_stamps(tmp_path / "in.xdf", t0_ms + steps))
        assert rec.timestamps[0] == pytest.approx(t0_ms / 1000.0)
        assert_allclose(np.diff(rec.timestamps), 0.004, atol=1e-6)
        assert any("Unix time in milliseconds" in w for w in rec.warnings)
    for t0_ms in (UNIX_SPAN[0] * 1000.0 - 1.0, UNIX_SPAN[1] * 1000.0 - 1996.0):
        with pytest.raises(RecordingFormatError, match="timestamps that are no clock's"):
            read_recording(_xdf_of_stamps(tmp_path / "out.xdf", t0_ms + steps))


def _labrecorder_xdf(path, streams, desc=None):
    """An XDF file as LabRecorder writes it: each stream's header (liblsl's
    ``as_xml``), its first sample in a chunk of its own, then its samples in
    chunks of 0.1 s, a stamp left out (deduced) where it follows the last by
    exactly the nominal period, its clock offsets and a footer. ``streams``: (name, type,
    labels, units, types, rate, format, stamps, values or strings); ``desc``: more
    of each stream's ``<desc>``, by its name."""
    from biofeedback._xdf_chunks import NUMERIC_FORMATS, chunk, footer, varlen

    with open(path, "wb") as fid:
        fid.write(file_header())
        for sid, (name, type_, labels, units, types, rate, fmt, _, _) in enumerate(
                streams, 1):
            chans = "".join(
                f"<channel><label>{lab}</label><unit>{u}</unit><type>{t}</type></channel>"
                for lab, u, t in zip(labels, units, types))
            xml = (f'<?xml version="1.0"?>\n<info>\n\t<name>{name}</name>\n\t<type>{type_}'
                   f"</type>\n\t<channel_count>{len(labels)}</channel_count>\n\t"
                   f"<channel_format>{fmt}</channel_format>\n\t<source_id>{name}1</source_id>"
                   f"\n\t<nominal_srate>{rate}</nominal_srate>\n\t<version>1.1</version>\n\t"
                   f"<created_at>100.5</created_at>\n\t<desc>{(desc or {}).get(name, '')}"
                   f"<channels>{chans}</channels>"
                   "</desc>\n</info>\n")
            fid.write(chunk(2, xml.encode(), sid))
        for sid, (*_, rate, fmt, ts, values) in enumerate(streams, 1):
            step = max(1, int(rate * 0.1))
            last = None
            for a, b in [(0, 1)] + [(a, min(a + step, len(ts))) for a in range(1, len(ts), step)]:
                body = varlen(b - a)
                for k in range(a, b):
                    if last is not None and rate and last + 1.0 / rate == ts[k]:
                        body += b"\x00"
                    else:
                        body += b"\x08" + np.float64(ts[k]).tobytes()
                    last = ts[k]
                    if fmt == "string":
                        body += varlen(len(values[k].encode())) + values[k].encode()
                    else:
                        body += np.asarray(values[k], NUMERIC_FORMATS[fmt]).tobytes()
                fid.write(chunk(3, body, sid))
            # its clock offsets (every 5 s; the same machine's: next to none)
            offsets = [(5000.0 + k * 5.0, -1e-6) for k in range(3)]
            for t, v in offsets:
                fid.write(chunk(4, struct.pack("<dd", t - v, v), sid))
            fid.write(chunk(6, footer(float(ts[0]), float(ts[-1]), len(ts), offsets), sid))
    return path


_MUSE = ["TP9", "AF7", "AF8", "TP10", "Right AUX"]


def _muse_lsl_stream(t0, n=2560):
    """muse-lsl's EEG stream (muselsl/stream.py): five float32 channels, 'Right
    AUX' among them, each typed EEG in microvolts."""
    x = np.random.default_rng(0).normal(0, 20, (n, 5)).astype(np.float32)
    return ("Muse", "EEG", _MUSE, ["microvolts"] * 5, ["EEG"] * 5, 256, "float32",
            t0 + np.arange(n) / 256.0, x)


def test_muse_lsl_stream_recorded_by_labrecorder_keeps_right_aux_apart(tmp_path):
    """muse-lsl declares 'Right AUX' an EEG channel of its stream; as live,
    it is read as an AUX input beside the EEG (as muse-lsl's CSV is), not as
    a fifth EEG channel."""
    muse = _muse_lsl_stream(5000.0)
    marks = ("Markers", "Markers", ["Marker"], [""], ["Markers"], 0, "string",
             np.array([5001.0, 5005.5]), ["stim", "rest"])
    rec = read_recording(_labrecorder_xdf(tmp_path / "sub-01.xdf", [muse, marks]))
    x = muse[-1].astype(np.float64)
    assert rec.ch_names == _MUSE[:4]
    assert_allclose(rec.data, x[:, :4].T * 1e-6)
    assert rec.streams["aux"].ch_names == ["Right AUX"]
    assert_allclose(rec.streams["aux"].data[0], x[:, 4] * 1e-6)
    assert [m for _, m in rec.markers] == ["stim", "rest"]
    assert_allclose([t for t, _ in rec.markers], [5001.0, 5005.5], atol=1e-5)
    assert rec.warnings == []


def test_markers_on_another_clock_than_the_eeg_are_said(tmp_path):
    """muse-lsl stamps with time.time() unless told --lsltime, PsychoPy's
    markers with the LSL clock: LabRecorder records both as sent, and nothing
    in the file lines them up. The reader says so, naming the stream."""
    muse = _muse_lsl_stream(1.7e9)
    marks = ("PsychoPyMarkers", "Markers", ["Marker"], [""], ["Markers"], 0, "string",
             np.array([5001.0, 5005.5]), ["stim", "rest"])
    rec = read_recording(_labrecorder_xdf(tmp_path / "sub-01.xdf", [muse, marks]))
    said = [w for w in rec.warnings if "PsychoPyMarkers" in w]
    assert len(said) == 1 and "cannot be lined up" in said[0] and "--lsltime" in said[0]
    # on one clock, nothing is said
    muse = _muse_lsl_stream(4990.0)
    rec = read_recording(_labrecorder_xdf(tmp_path / "sub-02.xdf", [muse, marks]))
    assert rec.warnings == []


def test_muse_lsl_streams_of_one_name_and_source_are_all_kept(tmp_path):
    """muse-lsl names its EEG, ACC, GYRO and PPG streams all 'Muse', under one
    source id: recorded together, the gyroscope's was replaced by the PPG's
    under the same key. Each is kept."""
    rng = np.random.default_rng(0)
    muse = _muse_lsl_stream(5000.0, n=2560)

    def sensor(type_, labels, unit, rate):
        n = int(rate * 10)
        return ("Muse", type_, labels, [unit] * 3, [type_.lower()] * 3, rate, "float32",
                5000.0 + np.arange(n) / rate, rng.normal(size=(n, 3)).astype(np.float32))

    streams = [muse, sensor("ACC", list("XYZ"), "g", 52), sensor("GYRO", list("XYZ"), "dps", 52),
               sensor("PPG", ["PPG1", "PPG2", "PPG3"], "mmHg", 64)]
    rec = read_recording(_labrecorder_xdf(tmp_path / "muse.xdf", streams))
    kept = {st.type: st for st in rec.streams.values() if st.name == "Muse"}
    assert sorted(kept) == ["ACC", "GYRO", "PPG"]
    for _, type_, *_, values in streams[1:]:
        assert_allclose(kept[type_].data, values.T.astype(np.float64))


@pytest.mark.parametrize("type_, fmt, codes, texts", [
    ("Marker", "int32", [1, 2, 100000000], ["1", "2", "100000000"]),
    ("Events", "float32", [1.0, 0.1, 13.5], ["1", "0.1", "13.5"]),
    ("Triggers", "double64", [7.0, 8.0, 0.25], ["7", "8", "0.25"]),
    ("Markers", "int16", [3, 4, 5], ["3", "4", "5"]),
])
def test_numeric_event_codes_of_any_marker_type_are_markers(tmp_path, type_, fmt, codes,
                                                            texts):
    """LSL senders send event codes as numbers on an irregular stream of one
    channel, typed Markers, Marker, Events or Triggers (a pylsl outlet
    ``StreamInfo(name, 'Events', 1, 0, 'int32')``): recorded by LabRecorder,
    each is a marker whose text is the number, as a string stream's are, and
    its samples stay in ``streams``."""
    muse = _muse_lsl_stream(5000.0)
    ts = np.array([5001.0, 5003.5, 5007.25])
    events = ("PsychoPyTriggers", type_, ["code"], [""], [type_], 0, fmt, ts,
              [[c] for c in codes])
    rec = read_recording(_labrecorder_xdf(tmp_path / "sub-01.xdf", [muse, events]))
    assert [m for _, m in rec.markers] == texts
    assert_allclose([t for t, _ in rec.markers], ts, atol=1e-5)
    assert_allclose(rec.streams["PsychoPyTriggers"].data[0],
                    np.asarray(codes, dtype=np.float32 if fmt == "float32" else None))
    # written again, the codes are neither lost nor doubled
    again = read_recording(write_recording(rec, tmp_path / "again.xdf"))
    assert again.markers == rec.markers


def test_a_regular_or_many_channel_event_stream_is_a_signal(tmp_path):
    """A stream typed Events at a regular rate, or of several channels, is a
    signal (a trigger line sampled with the EEG), kept in ``streams`` only."""
    muse = _muse_lsl_stream(5000.0)
    line = ("TriggerLine", "Events", ["trig"], [""], ["Events"], 256, "float32",
            muse[7], np.zeros((muse[7].size, 1)))
    pair = ("Pair", "Triggers", ["a", "b"], ["", ""], ["", ""], 0, "int32",
            np.array([5001.0, 5002.0]), [[1, 2], [3, 4]])
    rec = read_recording(_labrecorder_xdf(tmp_path / "sub-01.xdf", [muse, line, pair]))
    assert rec.markers == []
    assert rec.streams["TriggerLine"].data.shape == (1, muse[7].size)
    assert rec.streams["Pair"].data.shape == (2, 2)


def test_muse_lsl_stream_reads_with_the_muse_profile_and_its_rail(tmp_path):
    """muse-lsl's EEG stream (named and made by 'Muse': TP9, AF7, AF8, TP10,
    Right AUX at 256 Hz) reads with the profile its CSV files read with, so
    a channel at the Muse's rail is said, as it is in the CSV."""
    muse = list(_muse_lsl_stream(5000.0))
    x = muse[-1].copy()
    x[:600, 1] = 1000.0  # AF7 at the rail for over 2 s
    muse[-1] = x
    rec = read_recording(_labrecorder_xdf(tmp_path / "sub-01.xdf", [tuple(muse)],
                                          desc={"Muse": "<manufacturer>Muse</manufacturer>"}))
    assert rec.profile == "muse_2016"
    assert rec.provenance["channel_problems"]["railed"] == ["AF7"]
    # another app's stream of the same channels is not taken for muse-lsl's
    other = tuple(["EEG-App", *muse[1:]])
    rec = read_recording(_labrecorder_xdf(tmp_path / "sub-02.xdf", [other]))
    assert rec.profile is None


@pytest.mark.parametrize("spans", ["not json", '[[1, "x", "relaxed"]]', '[[1e999, 2, "a"]]'])
def test_marker_spans_that_cannot_be_read_are_ignored_with_a_warning(tmp_path, spans):
    """The spans an XDF's EEG header keeps for markers with a duration, edited
    or damaged, are left out (each marker lasts to the next), said once."""
    from biofeedback._xdf_chunks import footer
    from biofeedback.io._xdf_write import _chunk, _numeric_samples, _stream_xml

    ts = 100.0 + np.arange(1000) / 250.0
    extra = f"<biofeedback><marker_spans>{spans}</marker_spans></biofeedback>"
    with open(tmp_path / "s.xdf", "wb") as fid:
        fid.write(file_header())
        fid.write(_chunk(2, _stream_xml("e", "EEG", ["Cz"], ["microvolts"], ["EEG"], 250.0,
                                        "double64", extra), 1))
        for content in _numeric_samples(ts, np.zeros((ts.size, 1)), 250):
            fid.write(_chunk(3, content, 1))
        fid.write(_chunk(6, footer(float(ts[0]), float(ts[-1]), len(ts), []), 1))
    rec = read_recording(tmp_path / "s.xdf")
    assert "marker_spans" not in rec.provenance
    assert ("The EEG stream's header holds marker spans that cannot be read; they are "
            "ignored, so each marker lasts until the next.") in rec.warnings


def test_eeg_in_volts_labelled_microvolts_is_said(tmp_path, make_eeg, capsys):
    """A sender that declares microvolts but sends volts gives EEG a million
    times too small: info showed 'range (µV): 0.0' without a word, and replay
    gated every window without saying why."""
    from biofeedback.cli import main

    data, ts = make_eeg(duration=10.0)
    path = write_recording(Recording(data * 1e-6, 256.0, ["Fp1", "Fp2", "O1", "O2"], ts),
                           tmp_path / "v.xdf")
    rec = read_recording(path)
    said = [w for w in rec.warnings if w.startswith("Every channel's signal spans at most ")]
    assert said and said[0].endswith(
        " µV, where EEG spans tens: the file's unit is likely not the one it states (volts "
        "sent as microvolts?), and the quality gates will leave every window out; check "
        "the unit the recording's sender declares.")
    assert main(["info", str(path)]) == 0
    assert said[0] in capsys.readouterr().out
    # as sent, in microvolts, nothing to say
    ok = write_recording(Recording(data, 256.0, ["Fp1", "Fp2", "O1", "O2"], ts),
                         tmp_path / "ok.xdf")
    assert read_recording(ok).warnings == []

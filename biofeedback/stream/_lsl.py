"""LSL outlets (raw EEG, estimates, markers) and an LSL inlet Source.

Metadata follow the XDF meta-data conventions (``desc/channels/channel`` with
``label``, ``unit`` and ``type``; ``desc/acquisition``) so LabRecorder,
OpenViBE and MNE-LSL's viewer read our streams as they are. Estimate and marker
streams are irregular (``nominal_srate=0``): pyxdf would otherwise dejitter
them onto a straight line and replay would not match live.

Over 400 lines because both ends of a stream live here, the outlets whose
tails complete a recording and the inlet source that counts losses: what
streams of other programs bring (stamp clocks, channel types) is in
``_peers``.
"""

from __future__ import annotations

import functools
import threading
import time
import weakref
from collections import deque

import numpy as np

from .._checks import MAX_CHANNELS
from .._json import dumps
from .._logging import logger
from .._markers import CLOCK_JUMP
from .._words import listed, sentence
from ..errors import StreamError
from ..hardware._profiles import frontal_pair_from
from ._drops import DropJudge
from ._peers import (
    _FAR,
    _FAR_UNIX,
    _JUMP,
    _LATE_UNIX,
    _eeg_channels,
    _MovedStamps,
    _OffsetStamps,
    _UnixMsStamps,
    _UnixStamps,
    channel_metadata,
    chunk_stamps,
    clock_note,
    not_eeg_type,
    printable,
    regular_rate,
    stamp_clock,
    unique_labels,
    unit_scale,
)
from ._pylsl import import_pylsl
from ._source import Chunk, Source, SourceEvent

#: Steps of fewer sample periods are jitter, or rounding, not a loss.
_JITTER_PERIODS = 5.0
#: Seconds of one look for a stream: a signal acts, and a stop is seen, between two
_RESOLVE_SLICE = 0.25


@functools.cache
def lsl_errors():
    """pylsl's lost and timeout errors, looked up when one is being handled.

    (An ``except`` clause evaluates its classes only when an exception reaches
    it, so importing this module does not import pylsl.)
    """
    try:
        pylsl = import_pylsl()
    except ImportError:  # pragma: no cover - pylsl is an extra
        return (OSError,)
    where = getattr(pylsl, "util", pylsl)  # pylsl.util since 1.16
    return (where.LostError, where.TimeoutError)


def _add_channels(info, ch_names, unit, ch_type):
    chans = info.desc().append_child("channels")
    for name in ch_names:
        ch = chans.append_child("channel")
        ch.append_child_value("label", name)
        ch.append_child_value("unit", unit)
        ch.append_child_value("type", ch_type)


class KeptOutlet:
    """A pylsl outlet that keeps its last samples and counts what it sent.

    The recorder reads the file's end from these when LabRecorder is ended
    before it wrote them (see :func:`biofeedback._xdf_chunks.complete_xdf`);
    everything else is the outlet's own (attributes pass through).

    Parameters
    ----------
    outlet : pylsl.StreamOutlet
    source_id : str
    keep : int
        Samples kept, as copies of what was pushed (the oldest go first, whole
        pushes at a time).
    """

    def __init__(self, outlet, source_id, keep=512):
        self._outlet = outlet
        self.source_id = source_id
        self.keep = int(keep)
        self.n_pushed = 0
        self._tail = deque()  # (timestamps, values) per push
        self._n_tail = 0
        self._lock = threading.Lock()
        _KEPT[source_id] = self

    def __getattr__(self, name):
        return getattr(self._outlet, name)

    def _keep(self, ts, values):
        with self._lock:
            self.n_pushed += len(ts)
            self._tail.append((ts, values))
            self._n_tail += len(ts)
            while self._n_tail - len(self._tail[0][0]) >= self.keep:
                self._n_tail -= len(self._tail.popleft()[0])

    def push_sample(self, x, timestamp=0.0, pushthrough=True):
        """Push one sample (``timestamp`` 0 stamps it now, as pylsl does)."""
        if not timestamp:
            pylsl = import_pylsl()
            timestamp = pylsl.local_clock()
        self._outlet.push_sample(x, timestamp, pushthrough)
        self._keep([float(timestamp)], [list(x)])

    def push_chunk(self, x, timestamps, pushthrough=True):
        """Push samples with one timestamp each."""
        self._outlet.push_chunk(x, timestamps, pushthrough)
        ts = [float(t) for t in timestamps]
        # a copy: the caller may refill its array (a reused buffer) once pushed
        self._keep(ts, x.copy() if isinstance(x, np.ndarray) else [list(r) for r in x])

    def tail(self):
        """``(n_pushed, timestamps, values)``: values an array or a list of rows."""
        with self._lock:
            parts = list(self._tail)
            n = self.n_pushed
        ts = np.array([t for p in parts for t in p[0]], dtype=float)
        if parts and all(isinstance(p[1], np.ndarray) for p in parts):
            return n, ts, np.concatenate([p[1] for p in parts])
        return n, ts, [list(r) for p in parts for r in p[1]]


_KEPT: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def outlet_tails(source_ids) -> dict:
    """``{source_id: KeptOutlet.tail()}`` of the live outlets among ``source_ids``."""
    out = {}
    for sid in source_ids:
        kept = _KEPT.get(sid)
        if kept is not None:
            out[sid] = kept.tail()
    return out


def outlet_headers(source_ids) -> dict:
    """``{source_id: stream header XML}`` of the live outlets among ``source_ids``.

    What a recording gets for a stream whose header LabRecorder had not
    written yet when it was ended (a session stopped as it started).
    """
    out = {}
    for sid in source_ids:
        kept = _KEPT.get(sid)
        if kept is not None:
            out[sid] = kept.get_info().as_xml()
    return out


def xpath_literal(text) -> str:
    """``text`` as an XPath string literal, for liblsl's stream queries.

    pylsl's ``resolve_byprop`` puts the value between single quotes as it
    is: a name with an apostrophe ("Bob's Muse") broke the query, and no
    stream was ever found by it. Double quotes hold an apostrophe; a text
    with both is joined with ``concat``.
    """
    text = str(text)
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    parts = text.split("'")
    return "concat(" + ", \"'\", ".join(f"'{p}'" for p in parts) + ")"


def refuse_too_many_channels(info):
    """Refuse, before any inlet sizes its buffer by it, a stream declaring more
    channels than a recording may have (:data:`~biofeedback._checks.MAX_CHANNELS`)."""
    n = info.channel_count()
    if n > MAX_CHANNELS:
        raise StreamError(
            f"The LSL stream {printable(info.name())!r} declares {n} channels, more than "
            f"the {MAX_CHANNELS} a recording may have; it is no EEG stream, or its sender "
            "is misconfigured: fix the sender, or name another stream.")


class KeptInlets:
    """Inlets on other programs' streams, kept beside the recorder for the file's end.

    LabRecorder pulls every half second and holds small chunks in its output
    buffer, so what another program sent in the last moments before the
    recorder is stopped can be missing from the file. These inlets receive the
    same samples (liblsl keeps the newest ``seconds`` of them, dropping the
    oldest, so they need no reading while the session runs); :meth:`tails`
    drains them once the recorder has stopped, for
    :func:`biofeedback._xdf_chunks.complete_xdf`. Timestamps are the sender's
    own, as LabRecorder writes them (no clock correction).

    Parameters
    ----------
    predicates : list of str
        LabRecorder predicates (XPath on the stream info), resolved by liblsl
        with the same syntax.
    exclude : collection of str
        Source ids not to open (the session's own outlets keep their tails).
    seconds : float
        Seconds of each stream kept (hundreds of samples for irregular ones).
    """

    def __init__(self, predicates, exclude=(), seconds=30):
        self.predicates = list(predicates)
        self.exclude = set(exclude)
        self.seconds = seconds
        self.missing = []  # predicates no inlet could be opened for
        self.clocks = {}  # {name: {...}} of streams stamped with Unix time (tails())
        self._inlets = []  # (key, inlet, numeric)
        self._headers = {}  # {source_id: stream header XML}
        self._opened_at = None

    def open(self, timeout=2.0, listen=0.5) -> None:
        """Resolve every predicate and open an inlet on each stream it matches.

        Each predicate collects answers for ``listen`` seconds (a predicate
        such as ``type='Markers'`` can match several streams, as it does for
        LabRecorder), the session's streams among them.
        """
        pylsl = import_pylsl()
        self._opened_at = time.time()
        seen = set()
        for pred in self.predicates:
            opened = 0
            for info in pylsl.resolve_bypred(pred, 1 << 16, listen):
                if info.source_id() in self.exclude or info.uid() in seen:
                    opened += 1  # an own stream (its outlet keeps a tail), or opened already
                    continue
                seen.add(info.uid())
                try:
                    refuse_too_many_channels(info)
                except StreamError as err:  # LabRecorder records it; no tail kept here
                    logger.warning("%s", err)
                    continue
                try:
                    inlet = pylsl.StreamInlet(info, max_buflen=int(self.seconds))
                    inlet.open_stream(timeout=timeout)
                    if info.source_id():  # the header as LabRecorder writes it
                        self._headers[info.source_id()] = inlet.info(timeout).as_xml()
                except Exception as err:  # the file keeps what LabRecorder wrote
                    logger.debug("No inlet on %s for the recording's end: %s", info.name(), err)
                    continue
                numeric = info.channel_format() != pylsl.cf_string
                self._inlets.append(((info.name(), info.source_id()), inlet, numeric))
                opened += 1
            if not opened:
                self.missing.append(pred)

    def headers(self) -> dict:
        """``{source_id: stream header XML}`` of the streams an inlet was opened on.

        LabRecorder ended while it still held a stream's header in its output
        buffer (a loaded machine, a short session) leaves a file without that
        stream; :func:`biofeedback._xdf_chunks.complete_xdf` writes the header
        from here, then the samples :meth:`tails` gives.
        """
        return dict(self._headers)

    def tails(self) -> dict:
        """``{(name, source_id): (None, timestamps, values)}``: all each inlet holds.

        Drains and closes the inlets (call once, after the recorder stopped).
        """
        out = {}
        for key, inlet, numeric in self._inlets:
            rows, stamps = [], []
            try:
                while True:
                    data, ts = inlet.pull_chunk(timeout=0.0, max_samples=8192)
                    if not ts:
                        break
                    rows.extend(data)
                    stamps.extend(ts)
                if stamps:
                    self._judge_clock(key, inlet, stamps[-1])
                inlet.close_stream()
            except Exception as err:  # pragma: no cover - a stream gone while closing
                logger.debug("Draining the inlet on %s failed: %s", key[0], err)
            if stamps:
                values = np.asarray(rows) if numeric else rows
                out[key] = (None, np.asarray(stamps, dtype=np.float64), values)
        self._inlets = []
        return out

    def _judge_clock(self, key, inlet, last):
        """Say in :attr:`clocks` when a stream's stamps are not on the LSL clock.

        Unix time: ``{"stamps": "unix", "shift"}``, the shift putting the
        stamps, as pyxdf reads them (with liblsl's time correction added), on
        this machine's LSL clock, as :class:`LSLSource` does for the EEG.
        Unix time in milliseconds (JavaScript's ``Date.now()``), which the
        readers take as milliseconds: ``{"stamps": "unix_ms", "shift"}``, the
        shift of the stamps read as seconds. A clock of the device's own (far
        from the sender's LSL clock and from Unix time): ``{"stamps": "own",
        "shift": None}``, nothing to shift by.
        """
        since = time.time() - (self._opened_at or time.time())
        now = import_pylsl().local_clock()

        def near_now(t):  # (the last sample may have been sent since the inlet opened)
            return -(_FAR + since) <= t - now <= _FAR

        if near_now(last):  # this machine's LSL clock: the usual case
            return
        try:
            corr = float(inlet.time_correction(timeout=1.0))
        except Exception:  # no answer from the sender: same machine assumed
            corr = 0.0
        # the stamps as sent: these inlets apply no correction
        clock = stamp_clock(last, time.time(), slack=_FAR_UNIX + since)
        if clock == "unix":
            self.clocks[key[0]] = {"source_id": key[1], "stamps": "unix",
                                   "shift": _UnixStamps.offset() - corr}
        elif clock == "unix_ms":
            # pyxdf adds the correction (seconds) to stamps in milliseconds
            self.clocks[key[0]] = {"source_id": key[1], "stamps": "unix_ms",
                                   "shift": _UnixStamps.offset() - corr / 1000.0}
        elif not near_now(last + corr):  # nor another machine's LSL clock
            self.clocks[key[0]] = {"source_id": key[1], "stamps": "own", "shift": None}
        else:
            return
        note = clock_note(key[0], self.clocks[key[0]])
        logger.warning("%s", sentence(note))


def eeg_outlet(name, source_id, ch_names, sfreq, profile=None, extra=None):
    """An outlet for raw EEG in µV as double64 (nothing lost in recording)."""
    pylsl = import_pylsl()
    info = pylsl.StreamInfo(name, "EEG", len(ch_names), sfreq, "double64", source_id)
    _add_channels(info, ch_names, "microvolts", "EEG")
    acq = info.desc().append_child("acquisition")
    if profile is not None:
        acq.append_child_value("manufacturer", profile.description.split(":")[0])
        acq.append_child_value("model", profile.name)
        info.desc().append_child_value("board_profile", dumps(profile.to_dict()))
    if extra:
        info.desc().append_child_value("biofeedback", dumps(extra))
    return KeptOutlet(pylsl.StreamOutlet(info, chunk_size=0, max_buffered=60), source_id,
                      keep=max(512, int(10 * sfreq)))


def estimates_outlet(name, source_id, estimate_names, extra=None):
    """An irregular double64 outlet: one sample per window, last channel "gated"."""
    pylsl = import_pylsl()
    labels = [*estimate_names, "gated"]
    info = pylsl.StreamInfo(name, "Estimates", len(labels), pylsl.IRREGULAR_RATE,
                            "double64", source_id)
    _add_channels(info, labels, "", "Estimate")
    if extra:
        info.desc().append_child_value("biofeedback", dumps(extra))
    return KeptOutlet(pylsl.StreamOutlet(info, max_buffered=60), source_id)


def marker_outlet(name, source_id, stream_type="Markers"):
    """An irregular string outlet for session markers or cues."""
    pylsl = import_pylsl()
    info = pylsl.StreamInfo(name, stream_type, 1, pylsl.IRREGULAR_RATE, "string", source_id)
    return KeptOutlet(pylsl.StreamOutlet(info, max_buffered=60), source_id)


class LSLSource(Source):
    """Acquire from an LSL stream resolved by name (or by type).

    Timestamps are corrected onto the local LSL clock (``proc_clocksync``).
    The inlet's buffer is capped and drained every read, so a slow consumer
    never shows minutes-old data. When no sample arrives for ``lost_after``
    seconds the stream counts as lost: a ``disconnected`` event is emitted, the
    inlet keeps trying (it recovers by ``source_id``; without one the stream is
    resolved again by name), and a ``reconnected`` event with the outage
    duration follows when data return. What was missing is measured from the
    timestamps: a stream that was silent but then sent every sample gives a
    ``reconnected`` event with ``n=0`` (no outage), even when its sender
    stamped a backlog as it pushed it (a burst with nearly one stamp after
    the silence, packets each evenly stamped, a backlog drained over
    seconds): when the stamps step over the silence, the event comes once
    they have gone a quarter second past it and past the backlog's end,
    judged as ``_drops.DropJudge`` judges a drop. Silence before the first
    sample is no loss (the stream had not started), and a hole in the
    timestamps of one read as long as ``lost_after`` (an outage liblsl
    recovered from between two reads, or a stall while this process was
    slow to read) is judged as such a silence too.

    Parameters
    ----------
    name : str | None
        Stream name. If None, the first stream of ``stream_type``.
    stream_type : str
        Stream type to resolve when no name is given.
    profile : BoardProfile | None
        Fallback channel names and rail; the stream's own metadata win.
    timeout : float
        Seconds to wait for the stream to appear.
    lost_after : float
        Seconds of silence before the stream counts as lost.
    """

    def __init__(self, name=None, stream_type="EEG", profile=None, timeout=5.0,
                 lost_after=1.0):
        if profile is None:
            from ..hardware import get_profile

            profile = get_profile("lsl")
        super().__init__(profile)
        self.name = name
        self.stream_type = stream_type
        self.timeout = timeout
        self.lost_after = lost_after
        self._inlet = None
        self._scale = 1e-6
        self._last_data = None  # local clock of the last sample received
        self._last_ts = None
        self._judge = None  # DropJudge, once the rate is known
        self._lost = False
        self._last_look = -np.inf
        self._uid = None
        self._kind = None  # the stream's type, once opened
        self._n_looks = 0
        self._raw_name = name or ""
        self._by_name = False  # the stream was found by its name (other streams may share it)
        self._by_type = False  # ... by its type alone
        self._keep = None  # indices of the EEG channels, None for all
        self._layout = None  # (channel count, labels) of the stream as opened
        self._n_jumps = 0
        self._jump = 0.0  # seconds added to the stamps since the sender's clock jumped
        self._delay = None  # smallest arrival minus stamp seen (transport and buffering)
        self._stamps = None  # maps stamps on another clock onto the LSL clock
        self._pending = None  # (chunks, stamps) read while measuring the rate
        self._chunk_len = None  # samples per chunk of an irregular stream without stamps
        # (stamp as sent, as spread) of the last sample, and its chunk's samples so far
        self._spread_last = (None, None, 0)
        # the stream's own name and source_id, once opened (the name asked for
        # and "" until then); a stream without a source_id is found again by name
        self.stream_name = name
        self.source_id = ""

    def _resolve(self, timeout):
        """The stream asked for, waited for up to ``timeout`` s a quarter second at
        a time: liblsl waits inside one call, where Python acts on no signal, so
        Ctrl-C as a session waited for a stream not yet there (a headset
        switched on late) was acted on only after ``--lsl-timeout``, and SIGTERM
        ended the command with "no stream found" (exit 1) after it. Between
        two looks, Ctrl-C acts, and :meth:`cancel_start` gives up."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            info = self._resolve_once(min(max(left, 0.0), _RESOLVE_SLICE))
            if info is not None or left <= _RESOLVE_SLICE or self.start_cancelled:
                return info

    def _resolve_once(self, timeout):
        pylsl = import_pylsl()
        if self.name:
            # a source id names one stream among several of one name
            name = xpath_literal(self.name)
            pred = f"name={name} or source_id={name}"
            found = self._all_kinds(pylsl.resolve_bypred(pred, 1, timeout),
                                    lambda: pylsl.resolve_bypred(pred, 1 << 16, 0.25))
            named = [i for i in found if i.name() == self.name]
            found = self._of_kind(named or found)
            self._by_name = bool(named)
        else:
            found = pylsl.resolve_bypred(self._type_pred(), 1, timeout)
            self._by_type = True
        return found[0] if found else None

    def _other_names(self, wait=0.25) -> list[str]:
        """The names of the streams of the type asked for that answer within
        ``wait`` s, the closest to the name asked for first: a user who took
        a name from an example (``MuseEEG``) learns the one that is there."""
        from difflib import SequenceMatcher

        pylsl = import_pylsl()
        try:
            found = pylsl.resolve_bypred(self._type_pred(), 1 << 16, wait)
        except lsl_errors():  # pragma: no cover - the query itself failed
            return []
        asked = self.name.lower()
        names = {printable(i.name()) for i in found}
        return sorted(names, key=lambda n: (-SequenceMatcher(None, n.lower(), asked).ratio(),
                                            n))

    def _type_pred(self):
        """The query for streams of the type asked for, in any case: MNE-LSL's
        player types a Raw of EEG channels "eeg", which ``type='EEG'`` missed."""
        low = "abcdefghijklmnopqrstuvwxyz"
        return (f"translate(type,'{low}','{low.upper()}')="
                f"{xpath_literal(self.stream_type.upper())}")

    def _of_kind(self, found, kind=None):
        """The streams of ``found`` of type ``kind`` (default: the type asked
        for), or all of them when none is.

        muse-lsl publishes its PPG, ACC and GYRO streams under the EEG's name
        and source id: taken at random, a 52 Hz accelerometer was read as EEG.
        """
        kind = (self.stream_type if kind is None else kind).strip().lower()
        return [i for i in found if i.type().strip().lower() == kind] or found

    def _all_kinds(self, found, everyone):
        """``found``, or ``everyone()`` when none of ``found`` is of the type
        asked for: the first to answer a name shared by several streams may be
        the others (the EEG answers within the quarter second ``everyone``
        waits)."""
        kind = self.stream_type.strip().lower()
        if found and not any(i.type().strip().lower() == kind for i in found):
            return everyone() or found
        return found

    def _only_one(self, info):
        """Refuse to pick one of several streams at random, when ``info`` was found
        by a name several streams carry (muse-lsl names every headset "Muse") or
        by its type alone."""
        if self._by_name and info.name() == self.name:
            prop, value = "name", self.name
        elif self._by_type:
            prop, value = "type", self.stream_type
        else:
            return  # found by source id (or by a subclass's own lookup): that one
        pylsl = import_pylsl()
        # a second stream answers within milliseconds (the first query wave);
        # only a lone stream waits this out. Streams of another type under the
        # name (muse-lsl's PPG, ACC, GYRO) are no second headset
        if prop == "name":
            pred = f"name={xpath_literal(value)} and type={xpath_literal(info.type())}"
        else:
            pred = self._type_pred()
        found = pylsl.resolve_bypred(pred, 2, 0.25)
        streams = {i.uid(): i for i in [info, *found]}  # two outlets, even alike on one host
        if len(streams) < 2:
            return
        found = list(streams.values())
        if prop == "type":
            names = sorted({printable(i.name()) for i in found})
            raise StreamError(
                f"{len(found)} LSL streams are of type {self.stream_type!r} "
                f"({listed(map(repr, names))}); name "
                "the one to read with --lsl NAME (or its source id).")
        ids = sorted({printable(i.source_id()) for i in found})
        which = listed(f"{sid!r}" for sid in ids if sid)
        raise StreamError(
            f"{len(found)} LSL streams are named {self.name!r} (on "
            f"{listed(sorted({printable(i.hostname()) for i in found}))}); name one by its "
            f"source id instead: --lsl " + (repr(ids[-1]) if ids[-1] else "...")
            + (f" (source ids: {which})" if which else
               " (they have no source id: rename one in its streaming app)") + "."
        )

    def _open(self):
        import dataclasses

        pylsl = import_pylsl()
        info = self._resolve(self.timeout)
        what = f"named {self.name!r}" if self.name else f"of type {self.stream_type!r}"
        if info is None and self.start_cancelled:
            raise StreamError(f"The wait for the LSL stream {what} was stopped.")
        if info is None:
            others = self._other_names() if self.name else []
            if others:
                streams = (f"an {self.stream_type} stream named {others[0]!r} is"
                           if len(others) == 1 else f"{self.stream_type} streams named "
                           f"{listed(map(repr, others), 5)} are")
                raise StreamError(
                    f"No LSL stream {what} was found within {self.timeout:g} s, but "
                    f"{streams} on this network; pass the name "
                    "your streaming app gives its stream to --lsl (muse-lsl: Muse, "
                    "OpenBCI GUI: obci_eeg1 unless renamed).")
            raise StreamError(
                f"No LSL stream {what} was found within {self.timeout:g} s; "
                "check that the streaming app is running on this network, or wait longer "
                "for it with --lsl-timeout S."
            )
        if info.channel_format() == pylsl.cf_string:
            raise StreamError(
                f"The LSL stream {what} carries strings (channel format string), not EEG "
                "samples; have the streaming app send numbers (float32 or double64), or "
                "name the EEG stream with --lsl NAME (a marker stream goes to "
                "--also-record).")
        if not_eeg_type(info.type()):
            raise StreamError(
                f"The LSL stream {printable(info.name())!r} is of type "
                f"{printable(info.type())!r}: it holds values its sender computed or "
                "another sensor's, not EEG samples; name the raw EEG stream with --lsl NAME "
                "(in OpenBCI GUI's networking widget, the data type TimeSeriesRaw).")
        refuse_too_many_channels(info)
        self._only_one(info)
        self._make_inlet(info)
        full = self._inlet.info(timeout=self.timeout)
        self._raw_name = full.name()  # for lookups; stream_name is for people
        self.stream_name = printable(full.name())
        kind = full.type().strip()
        if kind and kind.lower() != self.stream_type.strip().lower():
            # named, it is read as it comes: an EMG or ExG stream is read as EEG
            self._note(f"the stream is typed {printable(kind)!r}, not "
                       f"{printable(self.stream_type)!r}: its channels were read as EEG")
        labels, units, types = channel_metadata(full)
        n_all = full.channel_count()
        keep = _eeg_channels(labels, types, n_all)
        self._layout = (n_all, tuple(labels))
        self._keep = None if len(keep) == n_all else np.asarray(keep)
        if self._keep is not None:
            logger.info("Stream %s: %s not EEG, left out.", printable(full.name()),
                        printable(", ".join(labels[i] for i in range(n_all) if i not in keep)))
            labels = [labels[i] for i in keep]
            units = [units[i] for i in keep] if len(units) == n_all else units
        n = len(keep)
        if self.profile.name != "lsl" and self.profile.ch_names and \
                len(self.profile.ch_names) != n:
            # --board says which headset this is: a stream of another layout is not it
            raise StreamError(
                f"The LSL stream {full.name()!r} has {n} channels but the "
                f"{self.profile.name!r} profile has {len(self.profile.ch_names)} "
                f"({', '.join(self.profile.ch_names)}); drop --board to use the stream's own "
                "channels, or name the board it comes from."
            )
        labels = [printable(label.strip(), 32) for label in labels]
        if len(labels) == n and any(labels):
            blank = [i for i, label in enumerate(labels) if not label]
            if blank:  # named by position, the labelled ones kept
                labels = [label or f"EEG{i + 1:02d}" for i, label in enumerate(labels)]
                note = (f"{'channels' if len(blank) > 1 else 'a channel'} without a label "
                        f"named by position ({listed([labels[i] for i in blank], 3)})")
                self._note(note)
            self.ch_names, renamed = unique_labels(labels)
            if renamed:  # the engine finds channels by name
                note = (f"channels with the same label were renamed to tell them apart "
                        f"({listed(renamed, 3)})")
                self._note(note)
        elif len(self.ch_names) != n:
            self.ch_names = [f"EEG{i + 1:02d}" for i in range(n)]
        unit = (units[0] if units else "").strip().lower()
        scale = unit_scale(unit) if unit else None
        self._scale = 1e-6 if scale is None else scale
        if unit and scale is None:
            logger.warning("Unknown unit %r on stream %s; assuming microvolts.", printable(unit),
                           printable(full.name()))
        self.sfreq = float(full.nominal_srate())
        if self.sfreq <= 0 and self.profile.name == "lsl":
            self.sfreq = self._measure_rate(full)
        elif self.sfreq <= 0:
            self.sfreq = float(self.profile.sfreq)
            self.notes.append(f"the stream {full.name()!r} declares no rate: "
                              f"{self.sfreq:g} Hz from the {self.profile.name!r} profile")
        self.source_id = full.source_id()
        if self.profile.name == "lsl":  # a shipped board with these channels gives rail and pairs
            from ..hardware import list_profiles

            for prof in list_profiles().values():
                if list(prof.ch_names) == self.ch_names and prof.sfreq == self.sfreq:
                    self.profile = prof
                    break
        pair = self.profile.frontal_pair
        if pair is None or any(ch not in self.ch_names for ch in pair):
            pair = frontal_pair_from(self.ch_names)  # labelled 10-20 sites give asymmetry
        self.profile = dataclasses.replace(self.profile, ch_names=tuple(self.ch_names),
                                           sfreq=self.sfreq, frontal_pair=pair)
        self._last_data = pylsl.local_clock()

    def _note(self, note):
        """Say ``note`` (a clause) about the stream now and in the summary."""
        logger.warning("LSL stream %s: %s.", self.stream_name, note)
        self.notes.append(note)

    def _measure_rate(self, full, seconds=2.0):
        """The rate of a stream declared irregular, from its first stamps.

        Reads for up to ``seconds`` of stamps (waiting at most the resolve
        timeout for them); the samples read are the first :meth:`_read`
        returns. Evenly spaced stamps give the rate, as the XDF reader takes
        it; others cannot be windowed: one sentence says what to do.
        """
        pylsl = import_pylsl()
        chunks, stamps = [], []
        deadline = pylsl.local_clock() + max(self.timeout, seconds)
        while pylsl.local_clock() < deadline and not self.start_cancelled:
            data, ts = self._inlet.pull_chunk(timeout=0.1, max_samples=8192)
            if ts:
                chunks.append(np.asarray(data, dtype=np.float64))
                stamps.append(np.asarray(ts, dtype=np.float64))
                if stamps[-1][-1] - stamps[0][0] >= seconds:
                    break
        ts = np.concatenate(stamps) if stamps else np.empty(0)
        enough = ts.size >= 32
        chunked = chunk_stamps(ts) if enough else None
        if chunked is not None:  # pushed in chunks without stamps: one stamp per chunk
            rate, self._chunk_len = chunked
        else:
            rate = regular_rate(ts) if enough else None
        if rate is None:
            found = (f"its {ts.size} samples in the first {seconds:g} s are not evenly "
                     "stamped" if enough else
                     f"it sent {ts.size} samples in {max(self.timeout, seconds):g} s, too "
                     "few to measure a rate from")
            raise StreamError(
                f"The LSL stream {full.name()!r} declares no sampling rate (irregular) and "
                f"{found}; set its rate in the streaming app, or name the board it comes "
                "from with --board (its profile gives the rate).")
        self._pending = (chunks, stamps)
        how = ("its chunks (pushed without stamps, one stamp each: its samples were "
               "stamped a period apart)" if chunked is not None else "its stamps")
        note = (f"the stream {printable(full.name())!r} declares no rate (irregular): "
                f"{rate:g} Hz measured from {how}")
        logger.warning("LSL stream %s declares no rate (irregular): %g Hz measured from %s.",
                       printable(full.name()), rate, how)
        self.notes.append(note)
        return rate

    def _make_inlet(self, info):
        pylsl = import_pylsl()
        self._uid = info.uid()
        self._kind = info.type()
        # liblsl's own recovery queries the stream's name, type and source id
        # between single quotes: an apostrophe in one ("Bob's Muse") breaks the
        # query, an error line in the terminal every half second of an outage.
        # Such a stream is found again here (_re_resolve quotes it right)
        quoted = "'" not in info.name() + info.type() + info.source_id()
        self._inlet = pylsl.StreamInlet(
            info, max_buflen=30, max_chunklen=0, recover=quoted,
            processing_flags=pylsl.proc_clocksync,
        )
        self._inlet.open_stream(timeout=self.timeout)
        # the first pull waits for liblsl's first clock offset (about 0.65 s
        # of probes on loopback), whose probes begin when it is first asked
        # for: asked now (not waited for), they run while the session starts,
        # and its first windows and cues are not late by them
        try:
            self._inlet.time_correction(timeout=0.0)
        except lsl_errors():  # the probes go on
            pass

    def _read(self, timeout):
        pylsl = import_pylsl()
        chunks, stamps = [], []
        # Wait for the first sample with pull_sample, which returns as soon as one
        # arrives (pull_chunk with a timeout waits the timeout out, adding ~15 ms
        # on loopback), then drain without waiting; pull_chunk caps each call
        # (pylsl#82), hence the loop.
        try:
            if self._pending is not None:  # read while the rate was measured
                (chunks, stamps), self._pending = self._pending, None
            else:
                sample, t0 = self._inlet.pull_sample(timeout=timeout)
                if t0 is not None:
                    chunks.append(np.asarray([sample], dtype=np.float64))
                    stamps.append(np.asarray([t0], dtype=np.float64))
            if stamps:
                self._drain(chunks, stamps)
                if self._stamps is None:
                    # the first chunk decides the stamps' clock by when its newest
                    # sample arrived (_on_lsl_clock), but the inlet's backlog holds
                    # the last push, sent up to a push ago: wait for the next one
                    sample, t1 = self._inlet.pull_sample(timeout=0.25)
                    if t1 is not None:
                        chunks.append(np.asarray([sample], dtype=np.float64))
                        stamps.append(np.asarray([t1], dtype=np.float64))
                        self._drain(chunks, stamps)
        except lsl_errors():  # lost, or recovering (pylsl >= 1.17 raises a timeout then)
            if not self.source_id:
                self._re_resolve()
        now = pylsl.local_clock()
        if not stamps:
            # silence counts from the first sample on: before it the stream has
            # not started, and nothing can be missing yet (the watchdog gives up
            # on a stream that never sends)
            if not self._lost and self._last_ts is not None and \
                    now - self._last_data > self.lost_after:
                self._lost = True
                # a drop just before the silence has no stamps after it to be
                # judged on until the stream is back, and the judge starts
                # afresh then: judge it now on what came after it
                self.flush_events()
                self._emit(SourceEvent("disconnected", timestamp=self._last_ts))
                logger.warning("LSL stream %s lost; waiting for it to return.", self.stream_name)
            # liblsl's own recovery resolves in waves 0.5 s apart, no sooner than
            # 1 s after the loss, and every sample the returned stream sends
            # before it is back is lost: look for it ourselves, twenty times a
            # second for the first 10 s, then twice (each look is a query on the
            # network)
            silent = now - self._last_data
            every = 0.05 if silent < 10.0 + self.lost_after else 0.5
            looking = self._lost or (self._last_ts is None and silent > self.lost_after)
            if looking and now - self._last_look > every:
                self._last_look = now
                self._re_resolve()
            return None
        data = np.concatenate(chunks).T
        if self._keep is not None:
            data = data[self._keep]
        data = data * self._scale
        ts = np.concatenate(stamps)
        if self._chunk_len is not None:
            ts = self._spread(ts)
        ts = self._on_lsl_clock(ts, now)
        self._losses(ts)
        self._last_data = now
        self._last_ts = float(ts[-1])
        return Chunk(np.ascontiguousarray(data), ts)

    def _spread(self, raw):
        """Stamps a period apart for samples pushed in chunks with one stamp each.

        An irregular stream's chunk pushed without stamps reaches every inlet
        with its push time on each sample (liblsl deduces the others from the
        nominal rate, which it does not have): every chunk read as one
        instant, the steps between chunks as losses. A chunk's samples are put
        a period apart, its last at its stamp, as liblsl stamps the chunks of
        a stream with a rate pushed without stamps (whose pushes' jitter the
        loss judge knows). A chunk is the samples whose stamps differ by under
        a millisecond (liblsl's clock correction, renewed between pulls, moves
        them by microseconds); the last one read may be cut short (the rest
        comes with the next read): when it holds fewer samples than usual
        (``_chunk_len``) it is placed as a whole one, and the rest follows on.
        """
        period = 1.0 / self.sfreq
        tol = min(1e-3, 0.25 * period)
        out = np.empty_like(raw)
        bounds = [0, *(np.flatnonzero(np.abs(np.diff(raw)) > tol) + 1), raw.size]
        last_raw, last, n_run = self._spread_last
        for k, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:])):
            n = stop - start
            if k == 0 and last_raw is not None and n_run < self._chunk_len and \
                    abs(raw[start] - last_raw) <= tol:  # the rest of the last read's chunk
                first, n_run = last + period, n_run + n
            else:
                whole = n if stop < raw.size else max(n, self._chunk_len)
                first, n_run = raw[start] - (whole - 1) * period, n
            out[start:stop] = first + np.arange(n) * period
            last_raw, last = raw[stop - 1], out[stop - 1]
        self._spread_last = (last_raw, last, n_run)
        return out

    def _drain(self, chunks, stamps):
        """Append what the inlet holds to ``chunks`` and ``stamps``, without waiting."""
        while True:
            data, ts = self._inlet.pull_chunk(timeout=0.0, max_samples=8192)
            if not ts:
                return
            chunks.append(np.asarray(data, dtype=np.float64))
            stamps.append(np.asarray(ts, dtype=np.float64))

    def _on_lsl_clock(self, ts, now):
        """``ts`` on the LSL clock, whichever clock the sender stamped with.

        Decided on the first chunk: stamps far from the LSL clock but near
        Unix time are Unix time (muse-lsl, scripts using ``time.time()``), in
        seconds or milliseconds; stamps near neither are a device's own clock,
        moved by the first chunk's arrival. Unix stamps that arrive ahead of
        their time, or more than :data:`_LATE_UNIX` s behind it, come from a
        machine whose wall clock is set off this one's (liblsl synchronises
        LSL clocks between machines, not wall clocks): they are moved by their
        first arrival too, as are stamps on the LSL clock ahead of it from the
        first sample on (a clock of the sender's own near it). Each is said
        once and in the summary.
        """
        if self._stamps is None:
            self._stamps = False
            note = None
            last = float(ts[-1])
            if abs(last - now) > _FAR:
                try:
                    corr = float(self._inlet.time_correction(timeout=1.0))
                except Exception:  # no answer from the sender: same machine assumed
                    corr = 0.0
                clock = stamp_clock(last - corr, time.time())  # the stamp as sent
                if clock == "unix":
                    self._stamps = _UnixStamps(corr)
                    note = ("the stream stamps samples with Unix time (time.time(), as "
                            "muse-lsl does), not the LSL clock: stamps were moved onto "
                            "the LSL clock")
                elif clock == "unix_ms":
                    # JavaScript's Date.now(), a game engine's clock: each sample's
                    # step would read as a thousand times its period, every one a loss
                    self._stamps = _UnixMsStamps(corr)
                    note = ("the stream stamps samples with Unix time in milliseconds "
                            "(as JavaScript's Date.now() gives), not seconds: stamps were "
                            "read as milliseconds and moved onto the LSL clock")
                else:
                    self._stamps = _OffsetStamps(now - last)
                    note = (f"the stream's stamps are {abs(now - last):.0f} s off the LSL "
                            "clock (a clock of its own): they were moved by their first "
                            "arrival, and their drift is not followed")
                if self._stamps.name != "offset":
                    # read on this machine's wall clock: a sender's set off it
                    # shifts every stamp, feedback looks late by it and the
                    # recording's EEG lies off its cues and markers
                    off = now - float(self._stamps(ts)[-1])
                    if off < -_JUMP or off > _LATE_UNIX:
                        self._stamps = _MovedStamps(self._stamps, off)
                        note += (f"; the sender's wall clock is {abs(off):.1f} s "
                                 f"{'behind' if off > 0 else 'ahead of'} this machine's (on "
                                 "another machine, not synchronised): they were moved by "
                                 "their first arrival")
            elif last - now > _JUMP:  # ahead from the first: no jump, a clock of its own
                self._stamps = _OffsetStamps(now - last)
                note = (f"the stream's stamps are {last - now:.1f} s ahead of the LSL clock "
                        "from its first sample on (a clock of its own): they were moved by "
                        "their first arrival, and their drift is not followed")
            if note is not None:
                self._note(note)
        ts = ts if not self._stamps else self._stamps(ts)
        return self._unjump(ts + self._jump, now)

    def _unjump(self, ts, now):
        """Stamps that jumped (the sender's clock was set) put back in line.

        Stamps on this machine's LSL clock are never ahead of their arrival and
        never go back; a sender whose clock is set (a wall clock stepped by
        NTP, a device clock restarted) breaks one or the other. The stamps are
        then moved to follow on from the last ones when they arrived as fast
        as before (nothing missing), else to their arrival (an outage: its
        length comes from the arrival times). Moved stamps are said in a
        ``clock_jump`` marker and the summary.
        """
        prev = self._last_ts
        ahead = float(ts[-1]) - now
        back = prev is not None and ts[0] < prev - _JUMP
        if ahead <= _JUMP and not back:
            delay = now - float(ts[-1])
            self._delay = delay if self._delay is None else min(self._delay, delay)
            return ts
        shift = (now - (self._delay or 0.0)) - float(ts[-1])  # onto their arrival
        if prev is not None and self._last_data is not None:
            follow = prev + 1.0 / self.sfreq - float(ts[0])
            # as much time passed between the arrivals as the samples span: nothing missing
            arrived = now - self._last_data
            if arrived < (len(ts) + 1) / self.sfreq + self.lost_after:
                shift = follow
        self._jump += shift
        self._n_jumps += 1
        note = (f"the stream's clock jumped {-shift:+.3f} s at t={prev or ts[0]:.3f}: its "
                "stamps were moved back in line")
        if self._n_jumps <= 3:  # each jump is marked in the recording; words for three
            if self._n_jumps == 3:
                note += " (further jumps are only marked)"
            self._note(note)
        self._emit(SourceEvent("marker", timestamp=float(ts[0] + shift),
                               text=f"{CLOCK_JUMP} s={-shift:+.3f}"))
        return ts + shift

    def _losses(self, ts):
        """Report what is missing before and within ``ts`` (a chunk just read).

        Missing data are found from the timestamps, between the last sample
        before and the first one after, never from how long the reader
        waited: a stream that was silent but then sent every sample (a stall
        of the sender, or of this process on a busy machine) lost nothing, and
        an outage that came and went between two reads (liblsl recovered the
        stream by itself) is an outage all the same.
        """
        prev = self._last_ts
        if self._judge is None:
            self._judge = DropJudge(self.sfreq)
        if self._lost:  # silent for lost_after: the first sample after it ends the outage
            self._lost = False
            step = float(ts[0] - prev)
            # a backlog stamped back in time steps by a period or two of rounding:
            # under _JITTER_PERIODS, as below, no loss
            n_missing = max(int(round(step * self.sfreq)) - 1, 0) \
                if step > _JITTER_PERIODS / self.sfreq else 0
            self.flush_events()  # (already judged when the silence began)
            if n_missing:
                # what the step counts may all come after it: a sender that
                # stamps samples as it pushes them pushes its backlog after a
                # stall as a burst with nearly one stamp, or as packets each
                # evenly stamped (the first read may hold one of them alone),
                # or drains it over seconds. Judged on the stamps that follow
                self._judge.silence(prev, float(ts[0]), n_missing, _JITTER_PERIODS)
            else:  # every sample came
                self._emit(self._reconnected(float(ts[0]), 0))
            prev = None
        t = ts if prev is None else np.concatenate(([prev], ts))
        steps = np.diff(t)
        # jitter is no loss: only steps over _JITTER_PERIODS count, and inside
        # one read only outages (senders that stamp chunks when they push them
        # make later chunks look early or late by tens of milliseconds; between
        # reads a shorter step is a drop, as it always was)
        events, start = [], 0  # start: the first sample of ts not yet given to the judge
        for i in np.flatnonzero(steps > _JITTER_PERIODS / self.sfreq):
            n_missing = int(round(steps[i] * self.sfreq)) - 1
            if n_missing <= 0:
                continue
            if steps[i] > self.lost_after:
                # silent as long as a loss between two stamps of this read (this
                # process was slow to read): an outage liblsl recovered from, or
                # a stall whose backlog follows, judged as a silence between
                # reads is (the stamps before it given to the judge first)
                after = i + (prev is None)  # ts[after] is t[i + 1]
                if after > start:
                    events.extend(self._judged(*j) for j in self._judge.feed(ts[start:after]))
                    start = after
                events.append(SourceEvent("disconnected", timestamp=float(t[i])))
                self._judge.silence(float(t[i]), float(t[i + 1]), n_missing, _JITTER_PERIODS)
            elif i == 0 and prev is not None:  # judged once the stamps go on (_drops)
                self._judge.candidate(float(t[i]), n_missing)
        events.extend(self._judged(*j) for j in self._judge.feed(ts[start:]))
        for ev in sorted(events, key=lambda e: e.timestamp):  # stable: an outage keeps its order
            self._emit(ev)

    def _judged(self, kind, t, n):
        """The event of a loss :class:`DropJudge` judged."""
        if kind == "dropped":
            return SourceEvent("dropped", timestamp=t, n=n)
        return self._reconnected(t, n)

    def _reconnected(self, t, n_missing):
        """The ``reconnected`` event of a silence that ended with stamp ``t`` (said)."""
        gap = n_missing / self.sfreq
        if n_missing:
            logger.warning("LSL stream %s is back after %.2f s.", self.stream_name, gap)
        else:
            logger.warning("LSL stream %s sent nothing for a while, then every sample: "
                           "nothing was lost.", self.stream_name)
        return SourceEvent("reconnected", timestamp=t, duration=float(gap), n=n_missing)

    def flush_events(self) -> None:
        """Judge the losses of the last quarter second (:meth:`DropJudge.flush`)."""
        if self._judge is not None:
            for kind, t_ev, n_ev in self._judge.flush():
                self._emit(self._judged(kind, t_ev, n_ev))

    def _re_resolve(self):
        """A new inlet on the stream if it is back as a new outlet (a new uid)."""
        pylsl = import_pylsl()
        sid = self.source_id
        self._n_looks += 1
        if sid:
            # the stream's own type: its source id may be shared (muse-lsl's
            # PPG, ACC and GYRO streams carry the EEG's)
            found = [i for i in pylsl.resolve_bypred(f"source_id={xpath_literal(sid)}", 1, 0.05)
                     if i.type() == self._kind]
            info = found[0] if found else None
            if info is None and self._raw_name and (self._by_name or not self.name) \
                    and self._n_looks % 4 == 0:
                # a sender started again may bring a new source id (a new
                # outlet's random one): the same name and layout is the stream.
                # Not for a stream picked by its source id (among several of
                # its name): another of that name is another headset
                found = [i for i in pylsl.resolve_bypred(
                    f"name={xpath_literal(self._raw_name)}", 1, 0.05)
                         if i.uid() != self._uid and i.type() == self._kind]
                info = found[0] if len(found) == 1 else None
        else:
            info = self._resolve(0.2)
        if info is None or info.uid() == self._uid:
            return
        n = info.channel_count()
        if self._layout is not None and n != self._layout[0]:
            raise StreamError(
                f"The LSL stream {self.stream_name!r} came back with {n} channels instead "
                f"of {self._layout[0]}; the session ended there: start a new session for "
                "the new layout.")
        rate = info.nominal_srate()
        if self._layout is not None and rate > 0 and abs(rate - self.sfreq) > 1e-6:
            raise StreamError(
                f"The LSL stream {self.stream_name!r} came back at {rate:g} Hz instead of "
                f"{self.sfreq:g} Hz; the session ended there: start a new session for the "
                "new rate.")
        old, self._inlet = self._inlet, None
        try:
            self._make_inlet(info)
        except lsl_errors():  # gone again before it opened: keep looking
            self._inlet = old
            return
        if info.source_id() != sid:
            logger.warning("LSL stream %s is back with a new source id %r.", self.stream_name,
                           printable(info.source_id()))
            self.source_id = info.source_id()
        if old is not None:
            try:
                old.close_stream()
            except Exception:  # pragma: no cover - a broken inlet
                pass

    def _close(self):
        if self._inlet is not None:
            self._inlet.close_stream()
            self._inlet = None

    def describe(self) -> dict:
        return {"kind": "lsl", "name": self.stream_name,
                "source_id": self.source_id, "sfreq": self.sfreq,
                "ch_names": self.ch_names}

"""The per-recording work of :func:`~._dataset.extract_dataset`, and the map
that spreads it over processes or a Dask cluster.

Each worker reads one recording (:func:`_probe`) or runs the live engine's
batch driver over it (:func:`_extract_one`); :func:`_parallel_map` runs the
workers serially, in joblib processes or on a Dask cluster.
"""

from __future__ import annotations

import numpy as np

from .._checks import _import_optional


def _probe(path, profile, rec=None, stream=None):
    from ..errors import RecordingFormatError
    from ..io import read_recording
    from ._labels import bad_spans, with_span_ends

    if rec is None:
        if stream is not None:
            from ..io._read import sniff_format

            # --stream picks among an XDF file's streams; a folder may mix XDF
            # with files that hold one EEG stream (CSV, EDF), read as they are
            if sniff_format(path) != "xdf":
                stream = None
        try:
            rec = read_recording(path, stream=stream)
        except RecordingFormatError as err:
            if getattr(err, "first_line", None) is None:
                raise
            # train and evaluate take no --format: the file is to be left out or
            # converted (convert --in-format names how to read it)
            raise RecordingFormatError(
                f"the content matches no format biofeedback reads (first line "
                f"{err.first_line!r}); leave it out of the recordings given, or convert "
                "it first with 'biofeedback convert FILE OUT.fif --in-format NAME'.",
                path, 1) from None
    rec.require_rate()
    rec.require_numbers("be trained on", "leave it out")
    markers = [(float(t), str(s)) for t, s in rec.markers]
    spans = rec.provenance.get("marker_spans") or ()
    bad, markers, spans = bad_spans(markers, spans)
    return rec, {
        "ch_names": list(rec.ch_names),
        "sfreq": float(rec.sfreq),
        "duration": float(rec.n_times / rec.sfreq) if rec.sfreq else 0.0,
        "profile": profile or rec.profile,
        # a marker with a duration (an MNE file's annotation) labels its span alone
        "markers": with_span_ends(markers, spans),
        "bad_spans": bad,  # MNE's BAD_ annotations: data to leave out, not states
        "warnings": list(rec.warnings),
        "started": rec.started,  # a date orders a person's sessions
    }


def _extract_one(path, config, profile_name, need_windows, rec=None):
    """Read one recording and run the live engine over it (a worker's job)."""
    from ..engine import Engine, EngineOutput
    from ..hardware import profile_for_recording
    from ..io import read_recording
    from ..quality import PERSISTENT

    rec = read_recording(path) if rec is None else rec
    # the profile as replay and a live stream take it: a headset without one
    # (an LSL stream, an EDF) gets its frontal pair from its 10-20 labels
    engine = Engine(config, rec.ch_names, rec.sfreq, profile_for_recording(rec, profile_name),
                    keep_windows=need_windows)
    # the batch driver: the live engine's windows, computed as stacks
    results = engine.process_batch(rec.data, rec.timestamps)
    out = EngineOutput.from_results(results, engine)
    fs = engine.features
    return {
        "features": out.features,
        # what a channel-balanced model reads: the engine's own view of them
        "clean_features": fs.clean_view(out.features, engine.gate.clean_channels(out.quality)),
        "columns": [(int(c), fs.column_item.index(i))
                    for c, i in zip(fs.column_channel, fs.column_item)],
        "gated": out.gated,
        "left_out": (out.quality & PERSISTENT) != 0,
        "t_end": out.t_end,
        "segment": np.array([r.segment for r in results], dtype=np.int64),
        "windows": out.windows,
        "t0": float(rec.timestamps[0]) if rec.n_times else 0.0,
        "feature_names": out.feature_names,
        "n_resets": engine.n_resets,
    }


def _parallel_map(func, items, n_jobs, scheduler, desc, progress):
    """Map ``func`` over ``items`` with joblib processes or a Dask cluster."""
    import contextlib

    from joblib import Parallel, delayed, parallel_config

    with contextlib.ExitStack() as stack:
        if scheduler:
            distributed = _import_optional("distributed", "dask", "a Dask scheduler",
                                           "dask[distributed]")
            if isinstance(scheduler, str):  # the default client from here
                stack.enter_context(connect_scheduler(scheduler, distributed))
            stack.enter_context(parallel_config(backend="dask"))
            n_jobs = -1
        elif n_jobs in (None, 1) or len(items) < 2:
            return [func(*it) for it in _progress(items, desc, progress, len(items))]
        else:
            stack.enter_context(parallel_config(backend="loky"))
        gen = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(func)(*it) for it in items)
        return list(_progress(gen, desc, progress, len(items)))


#: Seconds a Dask scheduler is given to have a worker (joblib's own wait is 10 s).
WORKER_WAIT_S = 10.0


def connect_scheduler(address, distributed=None):
    """A :class:`distributed.Client` of the Dask scheduler at ``address``.

    Raises
    ------
    BiofeedbackError
        In one sentence naming the address, when the scheduler cannot be
        reached (nothing listening, an unknown host, a malformed address) or
        no worker joins it within ``WORKER_WAIT_S``.
    """
    from ..errors import BiofeedbackError

    if distributed is None:
        distributed = _import_optional("distributed", "dask", "a Dask scheduler",
                                       "dask[distributed]")
    try:
        _knock(address)  # Dask retries a refused port for 30 s before it gives up
        client = distributed.Client(address)
    except (OSError, ValueError, TypeError) as err:
        why = str(err).rstrip(".") or type(err).__name__
        raise BiofeedbackError(
            f"Cannot reach the Dask scheduler at {address!r} ({why}); check that it "
            "runs and its address (tcp://HOST:PORT), or leave out --scheduler to "
            "extract features on this computer.") from None
    try:  # a scheduler without workers would leave the work waiting, then time out
        client.wait_for_workers(1, timeout=WORKER_WAIT_S)
    except (OSError, TimeoutError):
        client.close()
        raise BiofeedbackError(
            f"The Dask scheduler at {address!r} has no worker (none joined within "
            f"{WORKER_WAIT_S:g} s); start one ('dask worker {address}'), or leave out "
            "--scheduler to extract features on this computer.") from None
    return client


def _knock(address, timeout=5.0):
    """Raise ``OSError`` at once, saying why, when nothing listens at a
    ``tcp://HOST:PORT`` address or its host has no address; anything else
    (another scheme, a host that does not answer) is left to Dask."""
    import socket
    from urllib.parse import urlsplit

    if not isinstance(address, str) or not address.startswith("tcp://"):
        return
    try:
        parts = urlsplit(address)
        host, port = parts.hostname, parts.port
    except ValueError:
        return
    if not host or port is None:
        return
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except ConnectionRefusedError:
        raise OSError(f"nothing listens on port {port} of {host}") from None
    except socket.gaierror:
        raise OSError(f"the host {host!r} has no address") from None
    except OSError:
        return


def _progress(iterable, desc, enabled, total):
    if not enabled:
        return iterable
    from .._logging import progress_bar

    return progress_bar(iterable, desc=desc, total=total, unit="file")

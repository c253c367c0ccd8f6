"""Model files that load without executing code.

A model file (``.bfm``) is a zip archive holding

- ``meta.json``: format version, pipeline configuration (windows, filters,
  features), channel names, sampling rate, classes, feature names, what the
  estimator reads (``input``), calibration (the protocol blocks before
  feedback it is centred on), the state filter's expected dwell time
  (``dwell_s``), a summary of the training data, the validation metrics and
  when the file was saved (``saved_at``, UTC; see :func:`recorded_date`);
- the fitted estimator, in one of two forms:

  - ``estimator.json`` and ``estimator.npz`` (format version 2) for the
    classifiers training makes by default (``lda``, ``lda-channels``): a
    manifest naming each estimator by one of a closed list of known types
    (:data:`._arrays.KNOWN_TYPES`) and its fitted arrays, read with
    ``allow_pickle=False`` and rebuilt by :mod:`._arrays`; any other type is
    refused;
  - ``estimator.skops`` (format version 1, and every file written before
    version 2) for every other classifier: skops' format, which rebuilds
    objects from a declared structure instead of unpickling. Loading refuses
    any type outside skops' defaults and :data:`TRUSTED_TYPES`. skops is
    imported only for these files.

Files written before a field existed load with its default (no state filter,
no calibration, feature input); their exponential ``smooth_s`` is no longer
applied.
"""

from __future__ import annotations

import datetime as _dt
import io
import zipfile
from pathlib import Path

import numpy as np

from .._json import dumps, loads_untrusted
from .._outputs import atomic_output
from .._safezip import TooLarge, check_arrays, read_member
from ..errors import ModelError
from ._model import FORMAT, FORMAT_VERSION, LoadedModel

#: Format version of files whose estimator is stored by :mod:`._arrays`;
#: files holding ``estimator.skops`` keep version 1, which older releases read.
ARRAYS_VERSION = 2
SKOPS_VERSION = 1

#: Bounds on what a model file may inflate to: ``meta.json``, and the
#: estimator's members (a forest trained on a large study stays well within).
META_LIMIT = 16 * 2**20
ESTIMATOR_LIMIT = 512 * 2**20

#: The most values (channels × samples) one window of a ``windows`` model may
#: hold: 2²⁴, 128 MB in float64. The densest cap (512 channels) at 2 kHz for
#: 4 s holds 4.2 M; a Muse's 2 s at 256 Hz, 2 k. Loading runs the estimator on
#: one such window, so a file claiming a 600 s window at 100 kHz is refused
#: before that window is made.
MAX_WINDOW_VALUES = 2**24

#: The fields of ``meta.json`` (``smooth_s``: files of earlier versions).
META_KEYS = frozenset((
    "format", "format_version", "model", "description", "input", "classes",
    "feature_names", "ch_names", "sfreq", "profile", "pipeline", "calibration", "dwell_s",
    "evidence_weight", "training", "metrics", "smooth_s", "biofeedback_version",
    "saved_at"))

#: Types beyond skops' default trusted set that our registered classifiers hold.
TRUSTED_TYPES = (
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "biofeedback.estimators.FilterBankTangentSpace",
    "biofeedback.estimators.ChannelBalancedMean",
)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def save_model(model, fname, *, metrics=None, overwrite=True) -> Path:
    """Write ``model`` (a :class:`LoadedModel`) to ``fname``.

    Parameters
    ----------
    model : LoadedModel
    fname : path-like
        Output file (``.bfm`` by convention).
    metrics : dict | None
        Validation results to store with it.
    overwrite : bool

    Returns
    -------
    fname : Path
    """
    from . import _arrays

    fname = Path(fname)
    if fname.exists() and not overwrite:
        raise FileExistsError(f"{fname} exists.")
    from .. import __version__

    meta = dict(model.meta, biofeedback_version=__version__)  # said when a later one is read
    # the file's own date: copies (cp -r, a zip, git) reset its modification time
    meta["saved_at"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    if metrics is not None:
        meta["metrics"] = metrics
    try:
        members = dict(zip(("estimator.json", "estimator.npz"),
                           _arrays.dumps(model.estimator)))
        meta["format_version"] = ARRAYS_VERSION
    except _arrays.Unsupported:
        import skops.io as sio

        members = {"estimator.skops": sio.dumps(model.estimator)}
        meta["format_version"] = SKOPS_VERSION
    with atomic_output(fname) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("meta.json", dumps(_jsonable(meta), indent=1))
        for name, blob in members.items():
            zf.writestr(name, blob)
    model.meta = meta
    return fname


def recorded_date(fname) -> tuple[float, str] | None:
    """When a model file was saved, as the file itself records it.

    A copy (``cp -r``, a zip, a git checkout) resets a file's modification
    time, not what it holds: ``saved_at`` in its ``meta.json`` (UTC, written
    from this version on), else the date its archive gives ``meta.json``
    (every model file has one: the local time of the machine that wrote it,
    to 2 s).

    Returns
    -------
    date : tuple of (float, str) | None
        Unix seconds and ``"saved_at"`` or ``"archive"``, the one it came
        from; None when the file records no date (not a model file).
    """
    import time

    try:
        with zipfile.ZipFile(fname) as zf:  # bounded: loading it says what is wrong
            info = zf.getinfo("meta.json")
            meta = loads_untrusted(read_member(zf, "meta.json", META_LIMIT).decode("utf-8"))
    except Exception:  # not a model file: it records no date
        return None
    saved = meta.get("saved_at") if isinstance(meta, dict) else None
    if isinstance(saved, str):
        try:
            when = _dt.datetime.fromisoformat(saved)
            if when.tzinfo is None:
                when = when.replace(tzinfo=_dt.timezone.utc)
            return when.timestamp(), "saved_at"
        except (ValueError, OverflowError):  # edited by hand: the archive's date
            pass
    try:
        return time.mktime((*info.date_time, 0, 0, -1)), "archive"
    except (OverflowError, ValueError):
        return None


def load_model(fname) -> LoadedModel:
    """Read a model file without executing code from it.

    Raises
    ------
    ModelError
        The file is missing, not a model file, from a newer version, or holds
        a type outside the trusted list.
    """
    fname = Path(fname)
    if not fname.is_file():
        raise ModelError(f"The model file {fname} does not exist.")
    try:
        with zipfile.ZipFile(fname) as zf:
            meta = loads_untrusted(read_member(zf, "meta.json", META_LIMIT).decode("utf-8"))
            names = set(zf.namelist())
            if "estimator.skops" in names:
                member = "estimator.skops"
                parts = (read_member(zf, member, ESTIMATOR_LIMIT),)
            else:
                member = "estimator.npz"
                parts = (read_member(zf, "estimator.json", META_LIMIT),
                         read_member(zf, member, ESTIMATOR_LIMIT))
        archive = zipfile.is_zipfile(io.BytesIO(parts[-1]))
        if archive:
            check_arrays(parts[-1], ESTIMATOR_LIMIT)
    except TooLarge as err:
        raise ModelError(f"{fname} is refused unread: {err}; the file is damaged or was "
                         "made to exhaust memory.") from None
    except (zipfile.BadZipFile, KeyError, UnicodeDecodeError, ValueError, OSError,
            EOFError) as err:
        # our own refusals say what is wrong; the parsers' own errors, only their kind
        why = str(err) if type(err) is ValueError else type(err).__name__
        raise ModelError(
            f"{fname} is not a biofeedback model file ({why}); "
            "models are never unpickled, train one with 'biofeedback train'."
        ) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelError(f"{fname} is not a biofeedback model file.")
    version = meta.get("format_version", 0)
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise ModelError(
            f"{fname} gives its format_version as {version!r}, not a whole number: the "
            "file was edited or damaged; train the model again.")
    if version > FORMAT_VERSION:
        raise ModelError(
            f"{fname} was written by a newer biofeedback (model format "
            f"{meta['format_version']}); upgrade to read it."
        )
    if not archive:
        # a pickle (or any other bytes) put in the arrays' place: never loaded
        what = "a pickle" if parts[-1][:1] == b"\x80" else "not an archive of arrays"
        raise ModelError(
            f"{fname}'s member {member} is {what}, which is never loaded; the file "
            "was altered or damaged: train the model again, or get the file again.")
    unknown = sorted(set(meta) - META_KEYS)
    if unknown:
        from .._logging import logger

        logger.warning("%s holds fields this version does not read (%s); they are "
                       "ignored: nothing in a model file names where to write or send.",
                       fname.name, ", ".join(unknown))
    est = _read_skops(fname, *parts) if len(parts) == 1 else _read_arrays(fname, *parts)
    try:
        model = LoadedModel(est, meta)
    except ModelError as err:
        raise ModelError(f"{fname}: {err}") from None
    except (KeyError, TypeError, ValueError) as err:
        key = getattr(err, "unknown_key", None)
        if key:  # a pipeline field added after this version
            raise ModelError(_newer_pipeline(fname, meta, key)) from None
        raise ModelError(f"{fname} has incomplete or damaged metadata ({err}); train the "
                         "model again.") from None
    _check_shape(fname, model)
    _check_predicts(fname, model)
    model.fname = str(fname)
    # a model whose calibration cannot be computed is refused here, where every
    # command (live, replay, evaluate, simulate, info) loads it, once
    model.check_calibration()
    return model


def _newer_pipeline(fname, meta, key):
    """The sentence for a model file whose pipeline holds ``key`` (dotted), a
    field this version does not know."""
    from .. import __version__
    from ..stream._peers import printable

    written = meta.get("biofeedback_version")
    by = (f"biofeedback {printable(written, 40)}" if isinstance(written, str)
          and written else "a newer version of biofeedback")
    return (f"{fname} holds the pipeline field {key!r}, which biofeedback {__version__} "
            f"does not know: the file was written by {by} or was edited; upgrade "
            "biofeedback to use it, or train the model again "
            "with this version.")


def _check_shape(fname, model):
    """Refuse a file listing more channels, or a larger window, than data can have.

    Checked before :func:`_check_predicts` makes input of that shape.
    """
    from .._checks import MAX_CHANNELS

    n_ch = len(model.ch_names)
    if n_ch > MAX_CHANNELS:
        raise ModelError(
            f"{fname} lists {n_ch} channels in its ch_names, more than the {MAX_CHANNELS} "
            "a recording may have: the file was edited or damaged; train the model again.")
    if model.input == "windows" and n_ch * model.n_times > MAX_WINDOW_VALUES:
        win = model.config.window.length
        raise ModelError(
            f"{fname} reads windows of {win:g} s (its pipeline's window length) at "
            f"{model.sfreq:g} Hz (its sfreq) over {n_ch} channels, {n_ch * model.n_times} "
            f"values each, more than the {MAX_WINDOW_VALUES} a window model may read: the "
            "file was edited or damaged; train the model again.")


def _check_predicts(fname, model):
    """Refuse an estimator that gives no probabilities for input of its listed shape.

    A file's arrays rebuild an estimator whatever their shapes, dtypes or
    values; one damaged or edited (a truncated scale, text for a mean, NaN
    coefficients) would fail or give NaN on the first window of a session.
    Noise of the shape the file lists (two rows of features, or one filtered
    window in volts: bounded by the window length and rate a file may hold)
    must give finite probabilities, one column per class.
    """
    import warnings

    rng = np.random.default_rng(0)
    if model.input == "windows":
        X = rng.normal(0.0, 10e-6, (1, len(model.ch_names), model.n_times))
    else:
        X = rng.standard_normal((2, len(model.feature_names)))
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the verdict below is on the output
            proba = np.asarray(model.estimator.predict_proba(X), dtype=float)
    except Exception as err:  # a damaged estimator fails anywhere in scikit-learn
        why = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise ModelError(f"{fname} holds a malformed estimator, which fails on data of the "
                         f"shape it lists ({why}); train the model again.") from None
    if proba.shape != (len(X), len(model.classes_)) or not np.isfinite(proba).all():
        raise ModelError(f"{fname} holds a malformed estimator, which gives no finite "
                         "probability of each of its classes; train the model again.")


def _read_arrays(fname, manifest, arrays):
    from . import _arrays

    try:
        return _arrays.loads(manifest, arrays)
    except _arrays.Unsupported as err:
        raise ModelError(
            f"{fname} holds the untrusted type {err}, which biofeedback refuses to load."
        ) from None
    except _arrays.Malformed as err:
        raise ModelError(f"{fname} holds a malformed estimator ({err}).") from None


def _read_skops(fname, blob):
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(data=blob)
    except Exception as err:  # skops raises many types on malformed input
        raise ModelError(f"{fname} holds a malformed estimator ({err}).") from None
    unknown = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if unknown:
        raise ModelError(
            f"{fname} holds the untrusted type {unknown[0]}, which biofeedback "
            "refuses to load."
        )
    try:
        return sio.loads(blob, trusted=list(untrusted))
    except Exception as err:
        raise ModelError(f"{fname} holds a malformed estimator ({err}).") from None

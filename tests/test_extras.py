"""Optional extras: a feature whose package is missing names the extra to install.

The missing package is made to fail its import for real (``sys.modules[name] =
None`` makes ``import name`` raise ImportError), in a fresh interpreter so the
test process keeps its own imports.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

_SCRIPT = r"""
import json, logging, sys
for name in ("sounddevice", "pythonosc", "pyriemann", "mne_bids", "distributed"):
    sys.modules[name] = None
import numpy as np
from biofeedback.errors import BiofeedbackError, MissingDependencyError

out = {}

def error_of(func):
    try:
        func()
    except MissingDependencyError as err:
        assert isinstance(err, ImportError) and isinstance(err, BiofeedbackError)
        return str(err)
    return None

from biofeedback.feedback._config import AudioConfig, OscConfig
from biofeedback.feedback._cues import AudioCue, OscCue
out["osc"] = error_of(lambda: OscCue(OscConfig()).open())

from biofeedback.estimators import FilterBankTangentSpace
X = np.random.default_rng(0).normal(size=(6, 3, 256))
out["riemann"] = error_of(lambda: FilterBankTangentSpace().fit(X))

from biofeedback.io._bids import export_bids
out["bids"] = error_of(lambda: export_bids([sys.argv[1]], sys.argv[2]))

from biofeedback.training._dataset import _parallel_map
out["dask"] = error_of(lambda: _parallel_map(abs, [(1,), (2,)], 1, "tcp://127.0.0.1:1",
                                             "x", False))

class Info:
    realtime = True
    recording = None

records = []
handler = logging.Handler()
handler.emit = records.append
logging.getLogger("biofeedback").addHandler(handler)
sink = AudioCue(AudioConfig(wav="", live=True))
sink.open(Info())
out["audio"] = " ".join(r.getMessage() for r in records)

from biofeedback.cli import main
out["cli_exit"] = main(["convert", sys.argv[1], "--bids-root", sys.argv[2]])
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def missing_extras(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("extras")
    rec = REPO / "recordings" / "sample_synthetic.xdf"
    proc = subprocess.run([sys.executable, "-c", _SCRIPT, str(rec), str(tmp / "bids")],
                          capture_output=True, text=True, cwd=tmp, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


@pytest.mark.parametrize(("extra", "package"), [
    ("osc", "python-osc"), ("riemann", "pyriemann"), ("bids", "mne-bids"),
    ("dask", "dask[distributed]"), ("audio", "sounddevice"),
])
def test_a_missing_extra_is_named(missing_extras, extra, package):
    messages, _ = missing_extras
    msg = messages[extra]
    assert msg, f"no message when {package} is missing"
    assert f'pip install "biofeedback[{extra}]"' in msg
    assert f"needs {package}, which is not installed" in msg
    if extra != "audio":  # the audio sink goes on without sound: a warning, not an error
        assert msg.count(". ") == 0 and msg.endswith(".")


def test_cli_says_which_extra_in_one_sentence(missing_extras):
    messages, stderr = missing_extras
    assert messages["cli_exit"] == 1
    last = stderr.strip().splitlines()[-1]
    assert last == ('biofeedback: error: BIDS export needs mne-bids, which is not '
                    'installed: pip install "biofeedback[bids]".')
    assert "Traceback" not in stderr


def test_a_broken_install_is_not_called_missing(tmp_path, monkeypatch):
    """Only the package itself missing names the extra; a broken one shows its error."""
    from biofeedback._checks import _import_optional
    from biofeedback.errors import MissingDependencyError

    with pytest.raises(MissingDependencyError, match=r'pip install "biofeedback\[x\]"'):
        _import_optional("biofeedback_no_such_package.sub", "x", "a test")
    pkg = tmp_path / "biofeedback_broken_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("import biofeedback_no_such_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ImportError) as err:
        _import_optional("biofeedback_broken_pkg", "x", "a test")
    assert not isinstance(err.value, MissingDependencyError)
    assert err.value.name == "biofeedback_no_such_dependency"


_LIVE = r"""
import sys
sys.modules[sys.argv[1]] = None
from biofeedback.cli import main
sys.exit(main(["live", "--pipeline", sys.argv[2], "--duration", "5", "--no-record",
               "--view", "none"]))
"""


@pytest.mark.parametrize(("sink", "module", "package"), [
    ("osc", "pythonosc", "python-osc"), ("audio", "sounddevice", "sounddevice"),
])
def test_live_refuses_a_cue_sink_without_its_package_before_the_board_starts(
        tmp_path, sink, module, package):
    """The sink was switched off mid-session, which then ended with status 0."""
    text = (REPO / "pipelines" / "default.toml").read_text()
    assert 'sinks = ["terminal", "lsl"]' in text
    pipe = tmp_path / "p.toml"
    pipe.write_text(text.replace('sinks = ["terminal", "lsl"]', f'sinks = ["terminal", "{sink}"]'))
    proc = subprocess.run([sys.executable, "-c", _LIVE, module, str(pipe)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == ""  # no session line: the board never started
    assert "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("biofeedback: error: ") and line.endswith(
        f'needs {package}, which is not installed: pip install "biofeedback[{sink}]".')

"""liblsl's INFO lines stay out of the terminal from Python too, unless the
user configured LSL: then liblsl reads the user's file, as it would without us."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.lsl

_SCRIPT = """
import os
from biofeedback.stream._lsl import marker_outlet
outlet = marker_outlet({name!r}, {name!r})
print(os.environ.get("LSLAPICFG", ""))
"""


def _run(tmp_path, name):
    env = {k: v for k, v in os.environ.items() if k != "LSLAPICFG"}
    env["HOME"] = str(tmp_path)  # no ~/lsl_api/lsl_api.cfg of the machine's user
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    return subprocess.run([sys.executable, "-c", _SCRIPT.format(name=name)], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=60, check=True)


@pytest.mark.skipif(os.path.isfile("/etc/lsl_api/lsl_api.cfg"),
                    reason="this machine has an LSL config in /etc")
def test_liblsl_is_quiet_unless_the_user_configured_it(tmp_path, uid):
    quiet = _run(tmp_path, f"quiet-{uid}")
    assert "INFO" not in quiet.stderr, quiet.stderr
    assert quiet.stdout.strip().endswith("_lsl_api.cfg")
    # a user's lsl_api.cfg in the working folder wins: we set nothing
    (tmp_path / "lsl_api.cfg").write_text("[log]\nlevel = 0\n")
    own = _run(tmp_path, f"own-{uid}")
    assert "Configuration loaded from lsl_api.cfg" in own.stderr, own.stderr
    assert own.stdout.strip() == ""

"""`import biofeedback` stays light (as MNE-Python's test_import_nesting)."""

import subprocess
import sys

HEAVY = ("numba", "brainflow", "pylsl", "matplotlib", "sklearn", "mne", "pyxdf")


def test_import_is_light():
    code = (
        "import sys, biofeedback\n"
        "import biofeedback.errors, biofeedback.config, biofeedback.hardware\n"
        f"bad = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"heavy modules imported: {out.stdout.strip()}"


def test_public_api_resolves():
    import biofeedback

    for name in biofeedback.__all__:
        assert getattr(biofeedback, name) is not None

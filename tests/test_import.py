"""`import biofeedback` stays light (as MNE-Python's test_import_nesting)."""

import subprocess
import sys

import pytest

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


# what the command line may not import before a command needs it
_NOT_FOR_HELP = ("numpy", "scipy", "pandas", *HEAVY)


def _imported_by(*code):
    script = "\n".join([
        "import contextlib, io, sys",
        "from biofeedback.cli import main",
        *code,
        f"print(','.join(m for m in {_NOT_FOR_HELP!r} if m in sys.modules))",
    ])
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True)
    return out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""


def test_help_and_boards_import_only_what_they_use():
    # --help lists every command and its options: none may import numpy for it
    helps = ["with contextlib.redirect_stdout(io.StringIO()):",
             "    try: main(['--help'])",
             "    except SystemExit: pass",
             "    for cmd in ('live', 'replay', 'train', 'info', 'convert', 'check'):",
             "        try: main([cmd, '--help'])",
             "        except SystemExit: pass"]
    assert _imported_by(*helps) == ""
    boards = ["with contextlib.redirect_stdout(io.StringIO()): main(['boards'])"]
    assert _imported_by(*boards) == ""


def test_help_names_every_classifier():
    from biofeedback.cli._train import CLASSIFIER_NAMES
    from biofeedback.estimators import CLASSIFIERS

    assert list(CLASSIFIER_NAMES) == list(CLASSIFIERS)


def test_commands_run_with_one_blas_thread_unless_the_user_says_otherwise():
    import os

    script = ("import os, contextlib, io\nfrom biofeedback.cli import main\n"
              "with contextlib.redirect_stdout(io.StringIO()): main(['boards'])\n"
              "print(os.environ['OPENBLAS_NUM_THREADS'])\n")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    run = dict(capture_output=True, text=True, check=True)
    assert subprocess.run([sys.executable, "-c", script], env=env, **run).stdout.strip() == "1"
    env["OPENBLAS_NUM_THREADS"] = "2"
    assert subprocess.run([sys.executable, "-c", script], env=env, **run).stdout.strip() == "2"


def test_sessions_take_one_blas_thread_unless_the_number_is_set():
    """A library user's session limits BLAS in place; a number set in the environment
    (by the user, or by the command line before BLAS loaded) is left as it is."""
    import os

    if (os.cpu_count() or 1) < 2:
        pytest.skip("one CPU: BLAS starts with one thread anyway")
    script = ("import numpy, threadpoolctl\n"
              "from biofeedback._threads import one_blas_thread\n"
              "with one_blas_thread():\n"
              "    print(sorted({i['num_threads'] for i in threadpoolctl.threadpool_info()\n"
              "                  if i['user_api'] == 'blas'}))\n")
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")}
    run = dict(capture_output=True, text=True, check=True)
    assert subprocess.run([sys.executable, "-c", script], env=env, **run).stdout.strip() == "[1]"
    env["OPENBLAS_NUM_THREADS"] = "2"
    assert subprocess.run([sys.executable, "-c", script], env=env, **run).stdout.strip() == "[2]"

"""``python -m biofeedback``: the ``biofeedback`` command, where its script is not on PATH."""

from .cli import run

run()

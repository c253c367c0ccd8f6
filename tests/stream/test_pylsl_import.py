"""pylsl comes from one place, which decides liblsl's log level before it."""

import ast
import os
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "biofeedback"
ONE_PLACE = PACKAGE / "stream" / "_pylsl.py"


def test_only_import_pylsl_imports_pylsl():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                     else [])
            if any(n == "pylsl" or n.startswith("pylsl.") for n in names):
                found.append(path)
    assert found == [ONE_PLACE], found


def test_importing_the_lsl_modules_leaves_pylsl_and_liblsl_alone():
    # liblsl's settings are decided at the first use of pylsl, not on import,
    # so the command line's --verbose (decided after the imports) still counts
    code = ("import os, sys\n"
            "import biofeedback.stream, biofeedback.stream._clock, biofeedback.recorder\n"
            "import biofeedback.simulate, biofeedback.dashboard._lsl\n"
            "print('pylsl' in sys.modules, os.environ.get('LSLAPICFG'))\n")
    env = {k: v for k, v in os.environ.items() if k != "LSLAPICFG"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True)
    assert out.stdout.split() == ["False", "None"]

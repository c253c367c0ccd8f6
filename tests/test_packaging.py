"""The wheel ships the board profiles and pipelines and runs from anywhere;
the version, licence and citation agree with each other."""

import re
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

import biofeedback

REPO = Path(__file__).resolve().parents[1]


def _toml(path):
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    return tomllib.loads(path.read_text(encoding="utf-8"))


def test_one_version_source_and_licence():
    meta = _toml(REPO / "pyproject.toml")
    assert "version" not in meta["project"] and "version" in meta["project"]["dynamic"]
    assert meta["tool"]["hatch"]["version"]["path"] == "biofeedback/__init__.py"
    assert re.fullmatch(r"\d+\.\d+\.\d+", biofeedback.__version__)
    cff = (REPO / "CITATION.cff").read_text(encoding="utf-8")
    assert re.search(r"^cff-version: 1\.2\.0$", cff, re.M)
    assert re.search(rf"^version: {re.escape(biofeedback.__version__)}$", cff, re.M)
    assert re.search(rf"^license: {meta['project']['license']}$", cff, re.M)
    licence = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert meta["project"]["license"] == "BSD-3-Clause"
    assert licence.startswith("BSD 3-Clause License") and "biofeedback developers" in licence
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## Unreleased" in changelog
    assert re.search(rf"^## {re.escape(biofeedback.__version__)} - \d{{4}}-\d\d-\d\d$",
                     changelog, re.M)


def test_every_extra_is_declared():
    """Each optional import names an extra that pyproject.toml declares."""
    extras = _toml(REPO / "pyproject.toml")["project"]["optional-dependencies"]
    named = set()
    for f in (REPO / "biofeedback").rglob("*.py"):
        named |= set(re.findall(r'_import_optional\(\s*"[\w.]+",\s*"(\w+)"', f.read_text()))
    assert {"audio", "osc", "riemann", "bids", "dask"} <= named <= set(extras)


@pytest.mark.slow
def test_wheel_ships_profiles_and_pipelines(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path),
                    str(REPO)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("biofeedback-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "biofeedback/py.typed" in names
    (info,) = {n.split("/")[0] for n in names if ".dist-info/" in n}
    assert f"{info}/licenses/LICENSE" in names
    meta = Parser().parsestr(zipfile.ZipFile(wheel).read(f"{info}/METADATA").decode())
    assert meta["Version"] == biofeedback.__version__
    assert meta["License-Expression"] == "BSD-3-Clause"
    core = meta.get_all("Requires-Dist")
    assert not any(r.startswith(("pyriemann", "python-osc", "mne-bids", "sounddevice"))
                   for r in core if "extra ==" not in r)
    for f in (REPO / "hardware").glob("*.toml"):
        assert f"biofeedback/_data/hardware/{f.name}" in names
    assert "biofeedback/_data/pipelines/default.toml" in names
    assert "biofeedback/_data/pipelines/scenarios/demo.toml" in names
    assert "biofeedback/_lsl_api.cfg" in names
    # the dashboard's page and its vendored chart library (the page loads nothing else)
    for f in ("index.html", "dashboard.js", "dashboard.css", "uPlot.iife.min.js",
              "uPlot.min.css", "uPlot.LICENSE"):
        assert f"biofeedback/dashboard/static/{f}" in names
    # unpacked on its own (no repo beside it), it finds its data
    zipfile.ZipFile(wheel).extractall(tmp_path / "site")
    code = ("from biofeedback.hardware import list_profiles; from biofeedback.config import "
            "load_pipeline, default_pipeline_path; print(len(list_profiles()), "
            "load_pipeline().name, default_pipeline_path())")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, env={"PYTHONPATH": str(tmp_path / "site")}, check=True)
    n, name, path = out.stdout.split()
    assert int(n) >= 8 and name == "default"
    assert path.startswith(str(tmp_path / "site"))

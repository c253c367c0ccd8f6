"""The wheel ships the board profiles and pipelines and runs from anywhere."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_ships_profiles_and_pipelines(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path),
                    str(REPO)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("biofeedback-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
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

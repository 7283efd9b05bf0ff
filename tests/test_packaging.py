"""What `pip install` puts in site-packages: the project's own package, nothing named `ingest`."""
from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+; the suite runs on 3.11

from tests.support import REPO

STAGES = ("contract", "ingest", "normalize", "correlate", "export", "lake")


def _declared() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_package_folder_is_installed_under_the_project_package():
    folders = {"incident_timeline." + ".".join(init.parent.relative_to(REPO).parts)
               for stage in STAGES for init in (REPO / stage).rglob("__init__.py")}
    assert folders <= set(_declared()["packages"]), "a package folder missing from pyproject's list"
    assert all(p == "incident_timeline" or p.startswith("incident_timeline.") for p in _declared()["packages"])


def test_the_wheel_holds_one_top_level_package(tmp_path):
    try:
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                        "-w", str(tmp_path), str(REPO)], check=True, capture_output=True, timeout=300)
    except subprocess.CalledProcessError as e:
        pytest.fail(f"building the wheel failed: {e.stderr.decode(errors='replace')[-500:]}")
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"incident_timeline"}
    assert "incident_timeline/ingest/slack.py" in names
    assert "incident_timeline/export/postmortem.schema.json" in names
    assert any(n.startswith("incident_timeline/export/templates/") for n in names)

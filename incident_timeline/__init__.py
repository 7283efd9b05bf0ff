"""incident-timeline: the glue between ingest, normalize, correlate, export and the lake.

The stage packages are folders at the top of the repository (`ingest/`, `normalize/`, …)
and install as `incident_timeline.ingest`, `incident_timeline.normalize`, … (setuptools'
package-dir), so nothing of ours lands at the top of site-packages. Run from a checkout
without installing, the same names resolve to those folders.
"""
from pathlib import Path as _Path

__version__ = "0.1.0"

_checkout = _Path(__file__).resolve().parent.parent
if (_checkout / "pyproject.toml").is_file() and (_checkout / "ingest" / "__init__.py").is_file():
    __path__.append(str(_checkout))  # noqa: F821 - a package's __path__

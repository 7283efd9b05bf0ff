"""The scale benchmark reads the normaliser benchmark's printed figures back: every one it
looks for must be there (a renamed line once left them all empty without an error)."""
import re
import subprocess
import sys

from benchmarks import run
from tests.support import REPO


def test_every_figure_the_scale_benchmark_reads_is_printed():
    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / "normalize_bench.py"), "--rows", "3000",
                          "--baseline-rows", "500"], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    missing = [key for key, pattern in run._RATES.items() if not re.search(pattern, out.stdout)]
    assert missing == [], out.stdout
    assert "target (>= 1M/s and >= 50x the per-row script), event times on declared formats:" in out.stdout

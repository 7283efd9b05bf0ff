"""`python3 -m benchmarks targets --quick` lists every target of issue 15 with met or not
met and the figure it was judged on; structure only, never the speed."""
import json
import re
import subprocess
import sys

from benchmarks import ingest_targets
from tests.support import REPO


def test_every_target_is_printed_with_its_figure_and_met_or_not(tmp_path):
    figures = tmp_path / "targets.json"
    out = subprocess.run([sys.executable, "-m", "benchmarks", "targets", "--quick", "--out", str(tmp_path),
                          "--json", str(figures)], capture_output=True, text=True, cwd=REPO, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = json.loads(figures.read_text())["targets"]
    names = [r["target"] for r in rows]
    expected = ["x a dlt pipeline", "x the pandas", *(f"recorded {s}" for s in ingest_targets.RECORDED),
                "whole normaliser", "peak RSS", "normaliser lines"]
    for part in expected:
        assert sum(part in n for n in names) == 1, (part, names)
    for r in rows:
        assert isinstance(r["met"], bool) and r["value"] > 0, r
        assert r["met"] == (r["value"] <= r["goal"] if r["at_most"] else r["value"] >= r["goal"])
        printed = [line for line in out.stdout.splitlines() if line.startswith(f"| {r['target']} |")]
        assert len(printed) == 1 and re.search(r"\| (met|not met) \|", printed[0]), out.stdout
    # the ingests measured every record they were given, and rejected none
    results = json.loads(figures.read_text())
    for r in [results["file"]["ours"], *results["recorded"].values()]:
        assert r["events"] > 0 and r["rejects"] == 0
    assert results["file"]["dlt"]["fetched"] == results["file"]["pandas"]["fetched"] == results["file"]["ours"]["fetched"]


def test_normaliser_lines_are_counted_from_the_files(tmp_path):
    (tmp_path / "normalize" / "mappings").mkdir(parents=True)
    (tmp_path / "normalize" / "mappings" / "slack.yaml").write_text("a: 1\nb: 2\n")
    (tmp_path / "normalize" / "compiler.py").write_text("x = 1\n\ny = 2\n")
    assert ingest_targets.normaliser_lines(tmp_path) == {"normalize/mappings/slack.yaml": 2,
                                                         "normalize/compiler.py": 3}

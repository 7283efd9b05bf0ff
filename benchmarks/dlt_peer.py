"""The dlt peer, run by the interpreter of its own virtual environment (never the one under
test: installing dlt there could change the very packages being measured).

    <peer venv>/bin/python benchmarks/dlt_peer.py '{"file": ..., "out": ...}'

Imports only the standard library and dlt; prints one JSON object with the same figures as
`benchmarks/child.py` (`seconds`, `fetched`, `peak_rss_mb`, `cpu_s`).
"""
from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path


def run(args: dict) -> dict:
    """A dlt pipeline doing the file source's job on the same JSON-lines file: every line
    read, merged on the note id into DuckDB, its time typed as a timestamp."""
    import dlt

    path, work = Path(args["file"]), Path(args["out"])

    @dlt.resource(name="notes", primary_key="note_id", write_disposition="merge",
                  columns={"time": {"data_type": "timestamp"}})
    def notes():
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield json.loads(line)

    t0 = time.perf_counter()
    pipe = dlt.pipeline(pipeline_name="notes_bench", pipelines_dir=str(work / "pipelines"),
                        destination=dlt.destinations.duckdb(str(work / "peer.duckdb")), dataset_name="bench")
    pipe.run(notes())
    seconds = time.perf_counter() - t0
    with pipe.sql_client() as sql:
        rows = sql.execute_sql("SELECT count(*) FROM notes")[0][0]
    return {"seconds": seconds, "fetched": rows}


if __name__ == "__main__":
    figures = run(json.loads(sys.argv[1]))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    figures["peak_rss_mb"] = usage.ru_maxrss / 1024
    figures["cpu_s"] = usage.ru_utime + usage.ru_stime
    print(json.dumps(figures, default=str))

"""The lake: the only code that knows where files live and how they are published.

Raw records, events and rejects as Parquet (local or s3://), the copy-on-write DuckDB
catalog with its views and ref index, cursors and run records, compaction and retention,
entity snapshots and locks. The stages read and write through here, never through paths.
"""

"""DuckDB: the catalog, incident expansion, dedup, milestones, metrics."""

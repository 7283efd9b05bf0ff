"""Raw records -> canonical events (schema, UTC, refs) and rejects."""

"""incident-timeline: the glue between ingest, normalize, correlate and export."""
__version__ = "0.1.0"

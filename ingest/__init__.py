"""Connectors: one module per source type, all with one small interface (see base.py)."""

"""Draft post-mortem: Markdown, HTML, JSON, CSV, from the catalog's incident tables."""

"""Generating digits from the exported models: loading, batching, encoding, caching."""

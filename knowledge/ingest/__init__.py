"""Bulk ingest of candidate knowledge: parsing and validation (pure) and staging + merging (database)."""

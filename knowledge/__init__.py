"""The core domain: products, queries, behaviour pairs, relations, candidates and their lifecycle; ingest."""

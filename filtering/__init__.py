"""Filtering: rule-based and similarity filters that remove junk candidates (issue 3)."""

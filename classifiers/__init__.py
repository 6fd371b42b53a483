"""Classifiers: retraining on labels and scoring the pool (issue 5)."""

"""The generalisation classifiers as plain Python: features, model kinds, evaluation and a GPU benchmark.

No Django import anywhere in this package (ruff's banned-API list keeps torch, transformers and scikit-learn out of
the rest of the project): the Django side reads candidates and labels, hands plain arrays and strings in here, and
stores what comes back. Everything here runs standalone on a GPU machine.
"""

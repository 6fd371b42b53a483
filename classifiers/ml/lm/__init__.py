"""COSMO-LM: a causal LM instruction-tuned on the curated graph (generation and judgements at once), as plain
Python (no Django): ``data`` (examples, split, prompts), ``model`` (load, LoRA, train, P(yes), generate, artifacts),
``evaluate`` (metrics), ``run`` (one training with its evaluation). ``python -m classifiers.ml.lm --help`` runs it
standalone on a machine without the project's database (docs/cosmo_lm.md)."""

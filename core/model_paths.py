"""Which local model folders a request may name: folders under the model root, holding safetensors weights.

A model path from an API request reaches ``from_pretrained`` on a worker. Unchecked, it could name any folder the
worker can read, and a ``pytorch_model.bin`` (a pickle) there runs code when loaded. So a requested path must
resolve (``..`` and symlinks followed) to a folder inside ``PLAUSI_MODEL_ROOT`` (``PLAUSI_CLASSIFIERS["MODEL_ROOT"]``)
that holds safetensors weights; the loaders also pass ``use_safetensors=True``, so pickle weights beside them are
never read. Paths set by the operator in settings (``CLASSIFIER_CROSS_ENCODER_PATH``, ``GENERATION_LOCAL_MODEL_PATH``)
and on the command line are the operator's choice and are not checked here.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings

MAX_PATH_LENGTH = 500
PICKLE_WEIGHT_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")


def model_root() -> Path:
    """The one folder that requested model paths must lie under."""
    return Path(settings.PLAUSI_CLASSIFIERS["MODEL_ROOT"])


def model_folder_problem(value: str, *, root: Path | None = None) -> str | None:
    """Why ``value`` may not be loaded as a model folder, or None when it may.

    ``value`` is relative to the root, or absolute; either way its real path (symlinks resolved) must be the root
    or inside it, be a folder, and hold at least one ``*.safetensors`` file (``model.safetensors`` or the shards
    of an index). A folder with only pickle weights (``pytorch_model.bin``, ``*.pt``, ...) is refused.
    """
    root = (root or model_root()).resolve()
    if not value or len(value) > MAX_PATH_LENGTH or "\x00" in value:
        return f"must be a folder path of 1 to {MAX_PATH_LENGTH} characters under the model root"
    try:
        real = Path(os.path.realpath(root / value))
        if not real.is_relative_to(root):
            return "must be a folder under the model root (PLAUSI_MODEL_ROOT); '..' and links out of it are refused"
        if not real.is_dir():
            return "is not a folder under the model root (PLAUSI_MODEL_ROOT)"
        names = [entry.name for entry in real.iterdir() if entry.is_file()]
    except (OSError, ValueError) as error:  # a name too long, a loop of links, no permission: never a 500
        return f"cannot be read as a folder under the model root ({type(error).__name__})"
    if not any(name.endswith(".safetensors") for name in names):
        pickles = sorted(name for name in names if name.endswith(PICKLE_WEIGHT_SUFFIXES))
        held = f" (it holds {', '.join(pickles[:3])}, pickle files that run code when loaded)" if pickles else ""
        return f"holds no safetensors weights{held}; only safetensors models are loaded"
    return None

"""What COSMO-LM's services share: settings, the queue, the default base."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from classifiers.ml.lm.model import default_base


def conf(name: str) -> Any:
    return settings.PLAUSI_LM[name]


def lm_queue() -> str:
    """The ``gpu`` queue (with the classifiers' prefix, shared by every GPU job)."""
    return str(settings.PLAUSI_CLASSIFIERS["QUEUE_PREFIX"]) + "gpu"


def lm_base_model(value: str = "") -> str:
    """The base to fine-tune: the given one, else ``LM_BASE_MODEL``, else the packaged SmolLM2 GGUF."""
    return value or conf("BASE_MODEL") or default_base()

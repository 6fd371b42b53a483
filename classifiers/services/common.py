"""What the classifier services share: settings, queues, parameters and the per-process model cache."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

from django.conf import settings

from classifiers.ml.feature_store import FeatureStore
from classifiers.ml.features import N_FEATURES, SCHEME
from classifiers.ml.models import Classifier, EncoderLogistic, load_model
from classifiers.models import ModelKind, ModelVersion

#: Kinds fine-tuned end to end: trained and scored on the ``gpu`` queue, cross-validated on one fold only.
EXPENSIVE_KINDS = (ModelKind.CROSS_ENCODER, ModelKind.LM_JUDGE)


def conf(name: str) -> Any:
    return settings.PLAUSI_CLASSIFIERS[name]


def queue_for(kind: str) -> str:
    """Cross-encoders and LM judges train and score on the ``gpu`` queue; the linear kinds on ``cpu`` (with the
    configured prefix: deployments that share a broker, and tests that run their own workers, use their own
    queues)."""
    return conf("QUEUE_PREFIX") + ("gpu" if kind in EXPENSIVE_KINDS else "cpu")


def with_caches(model: Classifier) -> Classifier:
    """Give an encoder model the database embedding cache (vectors depend only on the text)."""
    if isinstance(model, EncoderLogistic):
        from filtering.services import embedding_cache

        model.embedding_cache = embedding_cache()
    return model


def default_params(kind: str) -> dict[str, Any]:
    if kind == ModelKind.CROSS_ENCODER and conf("CROSS_ENCODER_PATH"):
        return {"model_path": conf("CROSS_ENCODER_PATH")}
    if kind == ModelKind.ENCODER_LR and conf("ENCODER_PATH"):
        return {"encoder_path": conf("ENCODER_PATH")}
    if kind == ModelKind.LM_JUDGE and settings.PLAUSI_LM["BASE_MODEL"]:
        return {"base_model": settings.PLAUSI_LM["BASE_MODEL"]}
    return {}


def feature_store() -> FeatureStore:
    return FeatureStore(Path(conf("FEATURE_ROOT")), SCHEME, N_FEATURES)


_MODELS: OrderedDict[int, Classifier] = OrderedDict()


def loaded(version: ModelVersion) -> Classifier:
    """The model of a version, loaded once per worker process (two kept)."""
    model = _MODELS.get(version.pk)
    if model is None:
        model = with_caches(load_model(Path(conf("MODEL_ROOT")) / version.artifact))
        _MODELS[version.pk] = model
        while len(_MODELS) > 2:
            _MODELS.popitem(last=False)
    return model

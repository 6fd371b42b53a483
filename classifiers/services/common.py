"""What the classifier services share: settings, queues, parameters and the per-process model cache."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

from django.conf import settings

from classifiers.ml.feature_store import FeatureStore
from classifiers.ml.features import SCHEME, n_features
from classifiers.ml.models import Classifier, EncoderLogistic, encoder_available, load_model
from classifiers.models import ModelKind, ModelVersion

#: Kinds fine-tuned end to end: trained and scored on the ``gpu`` queue.
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
    encoders = [member for member in getattr(model, "members", (model,)) if isinstance(member, EncoderLogistic)]
    if encoders:
        from filtering.services import embedding_cache

        for encoder in encoders:
            encoder.embedding_cache = embedding_cache()
    return model


def default_params(kind: str) -> dict[str, Any]:
    if kind == ModelKind.CROSS_ENCODER and conf("CROSS_ENCODER_PATH"):
        return {"model_path": conf("CROSS_ENCODER_PATH")}
    if kind == ModelKind.ENCODER_LR and conf("ENCODER_PATH"):
        return {"encoder_path": conf("ENCODER_PATH")}
    if kind == ModelKind.MEAN_LR and conf("ENCODER_PATH"):
        return {"encoder": {"encoder_path": conf("ENCODER_PATH")}}
    if kind == ModelKind.LM_JUDGE and settings.PLAUSI_LM["BASE_MODEL"]:
        return {"base_model": settings.PLAUSI_LM["BASE_MODEL"]}
    return {}


def candidate_table_identity() -> str:
    """Which candidate table the cached feature rows belong to: the database and the table's own identity (its
    OID on PostgreSQL, its root page on SQLite), so rows cached by id are never read for another table whose ids
    mean other texts (a restored or recreated database, a table migrated away and back, a test database)."""
    import re

    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT current_database(), 'knowledge_candidate'::regclass::oid")
        else:
            cursor.execute(
                "SELECT 'sqlite', rootpage FROM sqlite_master WHERE type = 'table' AND name = %s",
                ["knowledge_candidate"],
            )
        database, table = cursor.fetchone() or ("unknown", 0)
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{database}-{table}")[:120]


def feature_store(scheme: str = SCHEME) -> FeatureStore:
    """Hashed-feature rows cached by id range under ``FEATURE_ROOT/<database>-<table>/<scheme>/``."""
    return FeatureStore(Path(conf("FEATURE_ROOT")) / candidate_table_identity(), scheme, n_features(scheme))


def default_kind() -> str:
    """``DEFAULT_KIND``, with ``auto`` resolved: ``encoder_lr`` where this machine can run the packaged encoder,
    ``tfidf_lr`` (the fallback) otherwise."""
    kind = str(conf("DEFAULT_KIND"))
    if kind != "auto":
        return kind
    return ModelKind.ENCODER_LR if encoder_available() else ModelKind.TFIDF_LR


AUTO_KINDS = (ModelKind.TFIDF_LR, ModelKind.ENCODER_LR, ModelKind.MEAN_LR)
NEEDS_ENCODER = (ModelKind.ENCODER_LR, ModelKind.MEAN_LR)


def enabled_kinds() -> list[str]:
    """The kinds an automatic training compares (``KINDS``; ``auto`` is ``tfidf_lr``, plus ``encoder_lr`` and
    ``mean_lr`` where the encoder can run). A kind that needs the encoder, listed explicitly on a machine without
    it, is left out, not failed."""
    kinds: list[str] = []
    for kind in conf("KINDS"):
        expanded = list(AUTO_KINDS) if kind == "auto" else [kind]
        for name in expanded:
            if name in NEEDS_ENCODER and not conf("ENCODER_PATH") and not encoder_available():
                continue
            if name in ModelKind.values and name not in kinds:
                kinds.append(name)
    return kinds or [ModelKind.TFIDF_LR]


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

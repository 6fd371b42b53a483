"""factory_boy factories for the knowledge domain and users with a role."""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from knowledge.ingest.parsing import normalize_text
from knowledge.models import BehaviourPair, Candidate, Category, Product, Relation, SearchQuery

TEST_PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def role(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if extracted:
            self.groups.add(Group.objects.get(name=extracted))
            if extracted == "admin":
                self.is_staff = self.is_superuser = True
        self.save()


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Category {n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    external_id = factory.Sequence(lambda n: f"P{n:06d}")
    title = factory.Sequence(lambda n: f"Product number {n}")
    category = factory.SubFactory(CategoryFactory)


class SearchQueryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SearchQuery

    text = factory.Sequence(lambda n: f"query {n}")
    normalized_text = factory.LazyAttribute(lambda o: normalize_text(o.text))


class SearchBuyPairFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BehaviourPair

    kind = BehaviourPair.Kind.SEARCH_BUY
    key = factory.Sequence(lambda n: f"{n:032x}")
    query = factory.SubFactory(SearchQueryFactory)
    product = factory.SubFactory(ProductFactory)
    observation_count = 3


class CandidateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Candidate

    dedup_key = factory.Sequence(lambda n: f"c{n:031x}")
    head_kind = Candidate.HeadKind.SEARCH_BUY
    pair = factory.SubFactory(SearchBuyPairFactory)
    relation = factory.LazyFunction(lambda: Relation.objects.get(slug="used_for_function"))
    tail = factory.Sequence(lambda n: f"doing useful thing number {n}")
    tail_normalized = factory.LazyAttribute(lambda o: normalize_text(o.tail))


def api_key_for(user: Any, *, name: str = "tests") -> str:
    """A new API token's key for ``user`` (the service's own path: only its digest is stored)."""
    from core.tokens import api_token_create

    _token, key = api_token_create(user=user, name=name)
    return key


def api_key_keep(user: Any, key: str) -> None:
    """Make sure the token with this key exists again (a test that fuzzes DELETE /api/auth/token/ revokes it)."""
    import datetime as dt

    from django.utils import timezone

    from core.models import ApiToken
    from core.tokens import api_token_digest

    ApiToken.objects.get_or_create(
        digest=api_token_digest(key),
        defaults={
            "user": user,
            "name": "tests",
            "prefix": key[:8],
            "expires_at": timezone.now() + dt.timedelta(days=1),
        },
    )


def export_run_with_file(content: bytes, *, status: str = "succeeded", finished_at: Any = None) -> Any:
    """An ``ExportRun`` of the JSONL format whose file (``content``, with its size and SHA-256 on the run) lies where
    the export worker writes it (``export_folder()``, under the current ``PRIVATE_MEDIA_ROOT``)."""
    import hashlib

    from curation.models import ExportRun
    from curation.services import export_folder

    run = ExportRun.objects.create(
        format="jsonl", status=status, finished_at=finished_at, sha256=hashlib.sha256(content).hexdigest()
    )
    run.file_name = f"plausi-graph-{run.pk}.jsonl"
    run.file_size = len(content)
    run.save(update_fields=["file_name", "file_size"])
    folder = export_folder()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / run.file_name).write_bytes(content)
    return run

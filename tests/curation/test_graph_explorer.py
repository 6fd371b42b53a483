"""The graph explorer's API and pages: node search, capped and paged neighbourhoods with filters and counts, an
edge's provenance, roles, and the empty state."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from curation import graph_selectors, services
from curation.models import AcceptedEdge, BatchMember, GraphNode
from knowledge.models import Relation
from tests.factories import CandidateFactory, CategoryFactory, SearchBuyPairFactory, UserFactory

pytestmark = pytest.mark.django_db


def star(
    tail_label: str, scores: list[float | None], *, relations: tuple[str, ...] = ("capable_of",), category: Any = None
) -> tuple[GraphNode, list[AcceptedEdge]]:
    """A concept with one in-edge per score, each from its own query (relations and categories alternate)."""
    concept = GraphNode.objects.create(kind="concept", key=tail_label.lower(), label=tail_label)
    pair = SearchBuyPairFactory()
    categories = [category, CategoryFactory(name=f"Other of {tail_label}")] if category else [None]
    edges = []
    for i, score in enumerate(scores):
        candidate = CandidateFactory(pair=pair, status="accepted")
        head = GraphNode.objects.create(kind="query", key=f"{tail_label} query {i}", label=f"Query {i} {tail_label}")
        edges.append(
            AcceptedEdge(
                candidate=candidate,
                head=head,
                relation=Relation.objects.get(slug=relations[i % len(relations)]),
                tail=concept,
                category=categories[i % len(categories)],
                score=score,
            )
        )
    return concept, AcceptedEdge.objects.bulk_create(edges)


def approved_batch(scored_pool: Any, tails: list[str] | None = None) -> Any:
    scored_pool(6, tails=tails)
    (batch,) = services.review_batches_create(seed=3)
    curator = UserFactory(role="curator")
    for member in BatchMember.objects.filter(batch=batch, in_audit=True):
        services.audit_answer(batch_id=batch.pk, candidate_id=member.candidate_id, value=True, curator=curator)
    return services.batch_decide(batch_id=batch.pk, approve=True, curator=curator), curator


def test_search_puts_the_exact_node_first_then_prefixes_then_words_then_substrings(api_client_for: Any) -> None:
    for kind, key, label in [
        ("concept", "walking in snow", "walking in snow"),
        ("concept", "keep warm while walking", "keep warm while walking"),
        ("concept", "walk", "walk"),
        ("query", "sidewalk salt", "sidewalk salt"),
        ("product", "B0WALK", "Trail boots"),
        ("concept", "unrelated", "unrelated"),
    ]:
        GraphNode.objects.create(kind=kind, key=key, label=label)
    curator = api_client_for("curator")
    found = curator.get(reverse("api-graph-nodes"), {"search": "  Walk "}).json()["results"]
    assert [node["label"] for node in found] == ["walk", "walking in snow", "keep warm while walking", "sidewalk salt"]
    assert set(found[0]) == {"id", "kind", "key", "label"}
    by_kind = curator.get(reverse("api-graph-nodes"), {"search": "walk", "kind": "query"}).json()["results"]
    assert [node["label"] for node in by_kind] == ["sidewalk salt"]
    by_id = curator.get(reverse("api-graph-nodes"), {"search": "B0WALK"}).json()["results"]
    assert by_id[0]["label"] == "Trail boots"  # a product by its catalogue id
    assert len(curator.get(reverse("api-graph-nodes"), {"search": "walk", "limit": 2}).json()["results"]) == 2
    assert curator.get(reverse("api-graph-nodes"), {"search": "100%_"}).json()["results"] == []  # no wildcards
    assert curator.get(reverse("api-graph-nodes")).status_code == 400
    assert curator.get(reverse("api-graph-nodes"), {"search": "walk", "kind": "planet"}).status_code == 400


def test_a_neighbourhood_is_the_best_edges_first_and_pages_to_the_end_with_a_cursor(api_client_for: Any) -> None:
    scores = [0.5, None, 0.9, 0.9, 0.7, *[0.1 * (i % 10) for i in range(55)], None]
    concept, edges = star("keep feet warm", scores)
    curator = api_client_for("curator")
    url = reverse("api-graph-neighbourhood", args=[concept.pk])
    first = curator.get(url, {"limit": 25}).json()
    assert first["node"]["label"] == "keep feet warm"
    assert first["in"] == {"shown": 25, "total": len(scores), "total_exact": True, "more": True}
    assert first["out"] == {"shown": 0, "total": 0, "total_exact": True, "more": False}
    expected = sorted(edges, key=lambda e: (-1.0 if e.score is None else e.score, e.pk), reverse=True)
    assert [e["id"] for e in first["edges"]] == [e.pk for e in expected[:25]]
    assert {n["id"] for n in first["nodes"]} == {concept.pk} | {e.head_id for e in expected[:25]}
    assert all(e["target"] == concept.pk for e in first["edges"])

    seen, cursor = [e["id"] for e in first["edges"]], first["next_cursor"]
    while cursor:
        page = curator.get(url, {"limit": 25, "cursor": cursor}).json()
        seen += [e["id"] for e in page["edges"]]
        cursor = page["next_cursor"]
    assert seen == [e.pk for e in expected]  # every edge once, best first, unscored last
    assert page["in"]["more"] is False and page["in"]["shown"] == len(scores) % 25

    head = curator.get(reverse("api-graph-neighbourhood", args=[edges[0].head_id])).json()
    assert head["out"]["total"] == 1 and head["edges"][0]["source"] == edges[0].head_id
    assert head["next_cursor"] is None


def test_relation_and_category_filters_narrow_the_edges_and_their_counts(api_client_for: Any) -> None:
    shoes = CategoryFactory(name="Shoes")
    concept, _edges = star("stay dry", [0.9] * 8, relations=("capable_of", "used_for_function"), category=shoes)
    curator = api_client_for("curator")
    url = reverse("api-graph-neighbourhood", args=[concept.pk])
    used_for = curator.get(url, {"relation": "used_for_function"}).json()
    assert used_for["in"]["total"] == 4 and {e["relation"] for e in used_for["edges"]} == {"used_for_function"}
    in_shoes = curator.get(url, {"category": "Shoes", "direction": "in"}).json()
    assert in_shoes["in"]["total"] == 4 and {e["category"] for e in in_shoes["edges"]} == {"Shoes"}
    both = curator.get(url, {"category": "Shoes", "relation": "capable_of"}).json()
    assert both["in"]["total"] == 4  # relations and categories alternate together
    none = curator.get(url, {"category": "No such category"}).json()
    assert none["edges"] == [] and none["in"]["total"] == 0
    assert curator.get(url, {"direction": "out"}).json()["edges"] == []
    assert curator.get(url, {"limit": 0}).status_code == 400
    assert curator.get(url, {"limit": graph_selectors.NEIGHBOURHOOD_LIMIT_MAX + 1}).status_code == 400


def test_a_hub_answers_with_a_capped_page_and_a_capped_count(api_client_for: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(graph_selectors, "COUNT_CAP", 30)
    concept, _edges = star("be comfortable", [0.8] * 45)
    curator = api_client_for("curator")
    hub = curator.get(reverse("api-graph-neighbourhood", args=[concept.pk]), {"limit": 10}).json()
    assert len(hub["edges"]) == 10 and len(hub["nodes"]) == 11
    assert hub["in"] == {"shown": 10, "total": 30, "total_exact": False, "more": True}


def test_a_neighbourhood_costs_a_fixed_number_of_queries(
    api_client_for: Any, django_assert_max_num_queries: Any
) -> None:
    concept, _edges = star("walk safely", [0.5] * 40, relations=("capable_of", "used_for_function"))
    curator = api_client_for("curator")
    curator.get(reverse("api-graph-neighbourhood", args=[concept.pk]))  # sessions and permissions warmed
    with django_assert_max_num_queries(8):
        answer = curator.get(reverse("api-graph-neighbourhood", args=[concept.pk]), {"relation": "capable_of"})
    assert len(answer.json()["edges"]) == 20


def test_a_cursor_that_this_api_did_not_write_is_a_400(api_client_for: Any) -> None:
    concept, _edges = star("stay warm", [0.5])
    url = reverse("api-graph-neighbourhood", args=[concept.pk])
    curator = api_client_for("curator")
    for cursor in ("not-base64!", "eyJ4IjogMX0", "W10"):  # garbage, {"x": 1}, []
        answer = curator.get(url, {"cursor": cursor})
        assert answer.status_code == 400 and "cursor" in answer.json()
    assert curator.get(reverse("api-graph-neighbourhood", args=[987654])).status_code == 404


def test_an_edge_shows_its_provenance_in_the_api_and_on_its_page(scored_pool: Any, api_client_for: Any) -> None:
    batch, curator = approved_batch(scored_pool, tails=["<b>grip</b> icy sidewalks"])
    edge = AcceptedEdge.objects.select_related("head", "tail", "product").order_by("pk").first()
    assert edge is not None
    client = api_client_for("curator")
    detail = client.get(reverse("api-graph-edge", args=[edge.pk])).json()
    assert detail["candidate"]["id"] == edge.candidate_id and detail["candidate"]["tail"].startswith("<b>grip</b>")
    assert detail["candidate"]["query"] and detail["candidate"]["titles"] == ["Slip-resistant ankle boot"]
    assert detail["head"]["kind"] == "query" and detail["tail"]["id"] == edge.tail_id
    assert detail["product"]["label"] == "Slip-resistant ankle boot" and detail["category"] == "Shoes"
    assert detail["batch"]["id"] == batch.pk and detail["batch"]["status"] == "approved"
    assert detail["audit"]["precision"] == 1.0 and detail["audit"]["audited"] == batch.audit_size
    assert set(detail["versions"]) == {"plausible", "typical"}
    assert detail["curator"] == curator.username and detail["score"] == pytest.approx(edge.score)
    assert client.get(reverse("api-graph-edge", args=[987654])).status_code == 404

    client.force_login(curator)  # the page, through the session
    page = client.get(reverse("graph-edge", args=[edge.pk])).content.decode()
    assert f'href="/curation/batches/{batch.pk}/"' in page
    assert "&lt;b&gt;grip&lt;/b&gt;" in page and "<b>grip" not in page
    assert curator.username in page and "precision 1.000" in page


def test_a_single_decision_has_no_batch_in_its_provenance(scored_pool: Any, api_client_for: Any) -> None:
    (candidate,) = scored_pool(1)
    services.candidate_decide(candidate_id=candidate.pk, accept=True, curator=UserFactory(role="admin"))
    edge = AcceptedEdge.objects.get()
    detail = api_client_for("admin").get(reverse("api-graph-edge", args=[edge.pk])).json()
    assert detail["batch"] is None and detail["audit"] == {}


@pytest.mark.parametrize("role", [None, "norole", "annotator"])
def test_only_curators_and_admins_explore_the_graph(role: str | None, api_client_for: Any) -> None:
    concept, edges = star("keep dry", [0.5])
    client = api_client_for(role)
    refused = 401 if role is None else 403
    for url, params in [
        (reverse("api-graph-nodes"), {"search": "keep"}),
        (reverse("api-graph-neighbourhood", args=[concept.pk]), {}),
        (reverse("api-graph-edge", args=[edges[0].pk]), {}),
    ]:
        assert client.get(url, params).status_code == refused
    assert api_client_for("admin").get(reverse("api-graph-nodes"), {"search": "keep"}).status_code == 200


def test_the_graph_page_tells_a_new_user_what_to_do_and_then_explores(client: Any) -> None:
    client.force_login(UserFactory(role="curator"))
    empty = client.get(reverse("graph")).content.decode()
    assert "No accepted knowledge yet" in empty and 'href="/curation/"' in empty and "graph.js" not in empty
    star("keep feet warm", [0.5, 0.6])
    page = client.get(reverse("graph"), {"node": "<x>"}).content.decode()
    assert 'id="explorer"' in page and "vendor/cytoscape/cytoscape.min.js" in page and "js/graph.js" in page
    assert 'data-start-node="&lt;x&gt;"' in page
    assert "<title>Knowledge graph explorer" in page and "2 accepted edges" in page
    assert '<option value="capable_of">' in page

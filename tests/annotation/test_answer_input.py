"""The answer endpoint's plain-input fast path agrees with its DRF serializer (annotation.apis.answer_input_plain)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotation.apis import AnswerCreateApi, answer_input_plain

Serializer = AnswerCreateApi.AnswerCreateInputSerializer

# Values of every JSON type, with the edges the fields care about: bounds, blanks, whitespace, NUL, surrogates,
# slug characters, numbers as text, booleans where numbers go and numbers where booleans go.
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=3),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0.0, -0.0, 1.0, 0.5, 86_400, 86_400.0, 86_400.5, 1e308, -1e-9, math.inf, math.nan]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", " ", "1", " 1", "1.0", "true", "complete", "Complete", "a b", "x" * 40, "x" * 41]),
    st.sampled_from(["k" * 64, "k" * 65, " key", "key ", "ke\x00y", "ke\ud800y", "é", "\t"]),
    st.text(max_size=70),
    st.text(alphabet="-_aZ09", min_size=0, max_size=45),
)
json_values = st.one_of(
    json_scalars, st.lists(json_scalars, max_size=2), st.dictionaries(st.text(max_size=3), json_scalars, max_size=2)
)
FIELDS = ["assignment", "question", "value", "idempotency_key", "seconds", "extra"]
valid_bodies = st.fixed_dictionaries(
    {
        "assignment": st.integers(min_value=1, max_value=2**63),
        "question": st.from_regex(r"[-a-zA-Z0-9_]{1,40}", fullmatch=True),
        "value": st.booleans(),
        "idempotency_key": st.from_regex(r"[!-~]{1,64}", fullmatch=True),
    },
    optional={
        "seconds": st.one_of(st.none(), st.floats(min_value=0, max_value=86_400), st.integers(0, 86_400)),
        "extra": json_values,
    },
)
# A valid body with one field replaced by any value, or removed: where the fast path and the serializer may part.
near_valid_bodies = st.builds(
    lambda body, name, value, remove: (
        {key: item for key, item in body.items() if key != name} if remove else {**body, name: value}
    ),
    valid_bodies,
    st.sampled_from(FIELDS),
    json_values,
    st.booleans(),
)
bodies = st.one_of(
    valid_bodies,
    near_valid_bodies,
    st.dictionaries(st.sampled_from(FIELDS), json_values),
    st.lists(json_scalars, max_size=2),
    json_scalars,
)


def _validated(body: Any) -> dict[str, Any] | None:
    serializer = Serializer(data=body)
    return dict(serializer.validated_data) if serializer.is_valid() else None


@settings(max_examples=1500, deadline=None, derandomize=True)
@given(bodies)
def test_what_the_fast_path_accepts_the_serializer_accepts_with_the_same_values(body: Any) -> None:
    fast = answer_input_plain(body)
    if fast is None:
        return  # the serializer decides; nothing to compare
    expected = _validated(body)
    assert expected == fast
    assert expected is not None
    assert {name: type(value) for name, value in fast.items()} == {
        name: type(value) for name, value in expected.items()
    }


EDGES = [
    None, True, False, 0, 1, -1, 2, 2**63, 2**70, 1.0, 0.5, -0.0, -1e-9, 86_400, 86_400.0, 86_400.5, math.inf, math.nan,
    "", " ", "1", " 1", "1.0", "true", "complete", "Complete", " typical", "a b", "x" * 40, "x" * 41, "k" * 64,
    "k" * 65, " key", "key ", "ke\x00y", "ke\ud800y", "é", "\t", [], [1], {}, {"a": 1},
]  # fmt: skip


@pytest.mark.parametrize("name", FIELDS)
def test_every_edge_value_in_every_field_gets_the_serializers_verdict(name: str) -> None:
    valid = {"assignment": 7, "question": "typical", "value": True, "idempotency_key": "k-1", "seconds": 1.5}
    for edge in [*EDGES, "missing"]:
        body = {key: value for key, value in valid.items() if key != name}
        if edge != "missing":
            body[name] = edge
        fast, expected = answer_input_plain(body), _validated(body)
        if fast is not None:
            assert (fast, [type(value) for value in fast.values()]) == (
                expected,
                [type(value) for value in (expected or {}).values()],
            ), body


def test_what_clients_send_takes_the_fast_path_and_oddities_go_to_the_serializer() -> None:
    sent = {"assignment": 41, "question": "plausible", "value": False, "idempotency_key": "9f1c2e" * 5, "seconds": 2.5}
    assert answer_input_plain(sent) == sent
    assert answer_input_plain({**sent, "seconds": None}) == {**sent, "seconds": None}
    without_seconds = {name: value for name, value in sent.items() if name != "seconds"}
    assert answer_input_plain(without_seconds) == {**sent, "seconds": None}
    assert answer_input_plain({**sent, "seconds": 3}) == {**sent, "seconds": 3.0}
    # Accepted by the serializer after coercion or trimming: left to it, so that its values are the ones used.
    for odd in ({"assignment": "41"}, {"value": "true"}, {"idempotency_key": " key "}, {"question": " typical"}):
        assert answer_input_plain({**sent, **odd}) is None
        assert _validated({**sent, **odd}) is not None
    # Refused by both.
    for bad in ({"assignment": 0}, {"value": None}, {"idempotency_key": "k" * 65}, {"seconds": -1}, {"question": ""}):
        assert answer_input_plain({**sent, **bad}) is None
        assert _validated({**sent, **bad}) is None

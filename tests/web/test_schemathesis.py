"""Property-based tests of the JSON API from its own OpenAPI document (schemathesis): for generated
requests to every operation, no 5xx, every status, content type and body as documented, and every
error in the one shape. Bounded: a fixed number of examples per operation."""

from __future__ import annotations

from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.specs.openapi.checks import positive_data_acceptance  # noqa: E402

EXAMPLES = 40


def _error_shape(response: Any) -> None:
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"}, body
        assert set(body["error"]) == {"status", "code", "message", "details"}, body
        assert body["error"]["status"] == response.status_code


@pytest.fixture(scope="module")
def operations(web_app: Any) -> dict[str, Any]:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", web_app)
    found = {}
    for result in schema.get_all_operations():
        op = result.ok()
        found[f"{op.method.upper()} {op.path}"] = op
    return found


OPERATIONS = ["GET /api/v1/papers", "GET /api/v1/papers/{paper_id}", "GET /api/v1/authors", "GET /api/v1/ops",
              "GET /api/v1/authors/{author_id}", "GET /api/v1/search", "POST /api/v1/search",
              "GET /api/v1/csrf", "GET /api/v1/papers/{paper_id}/similar", "GET /api/v1/me/library",
              "PUT /api/v1/me/library/{paper_id}", "DELETE /api/v1/me/library/{paper_id}", "GET /api/v1/me/upvotes",
              "PUT /api/v1/me/upvotes/{paper_id}", "DELETE /api/v1/me/upvotes/{paper_id}",
              "POST /api/v1/subscriptions", "GET /api/v1/subscriptions/preferences",
              "PUT /api/v1/subscriptions/preferences", "POST /api/v1/subscriptions/unsubscribe",
              "GET /api/v1/categories/{tag}", "GET /api/v1/organisations/{ref}", "GET /api/v1/venues/{ref}"]


def test_every_api_operation_is_covered(operations: dict[str, Any]) -> None:
    assert sorted(operations) == sorted(OPERATIONS)


# No input to get wrong: no negative cases to generate.
WITHOUT_PARAMETERS = {"GET /api/v1/ops", "GET /api/v1/csrf", "GET /api/v1/me/library", "GET /api/v1/me/upvotes"}


@pytest.mark.parametrize(("mode", "name"), [("positive", name) for name in OPERATIONS]
                         + [("negative", name) for name in OPERATIONS if name not in WITHOUT_PARAMETERS])
def test_operation_conforms_to_the_document(operations: dict[str, Any], name: str, mode: str) -> None:
    generation = schemathesis.GenerationMode.POSITIVE if mode == "positive" else schemathesis.GenerationMode.NEGATIVE
    strategy = operations[name].as_strategy(generation_mode=generation)
    seen: list[int] = []

    @given(case=strategy)
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        # The rules the document cannot state, each a 422 of its own: since must not be after until,
        # and a category or author must be one the store knows (the message names the value typed).
        response = case.call_and_validate(excluded_checks=[positive_data_acceptance])
        assert response.status_code < 500
        if mode == "positive" and response.status_code == 422:
            error = response.json()["error"]
            assert error["details"] == [{"parameter": "since", "problem": "must not be after until"}] or (
                error["details"] is None and error["code"] == "invalid_parameter"
                and error["message"].startswith(("unknown category", "no author"))), response.text
        _error_shape(response)
        seen.append(response.status_code)

    run()
    assert seen
    if mode == "negative":
        assert any(400 <= s < 500 for s in seen), seen

"""The OpenAPI document: the ways to sign in on every operation that needs it (``api.openapi``).

``authenticate`` calls the two security schemes itself instead of declaring them as dependencies
(each dependency node costs every request), so FastAPI no longer finds them; ``document_security``
must put them back exactly where they were.
"""

from __future__ import annotations

from tests.api.conftest import Harness


def test_guarded_operations_list_both_ways_to_sign_in_and_public_ones_none(api: Harness) -> None:
    openapi = api.client.get("/openapi.json").json()
    assert openapi["components"]["securitySchemes"] == {
        "OAuth2PasswordBearer": {
            "type": "oauth2",
            "flows": {"password": {"scopes": {}, "tokenUrl": "/api/v1/auth/token"}},
        },
        "APIKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    }
    guarded = public = 0
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            if operation["x-permission"] == "public":
                public += 1
                assert "security" not in operation, f"{method} {path}"
            else:
                guarded += 1
                assert operation["security"] == [
                    {"OAuth2PasswordBearer": []},
                    {"APIKeyHeader": []},
                ], f"{method} {path}"
    assert guarded > 50 and public > 5

"""The API's dependency layer: what every router may take through ``Depends``.

Routers import from here, never from one another (an import-linter contract holds them to it).

* ``auth`` — who is calling: ``require(Permission.X)`` or ``public`` on every route,
  ``Principal``, ``Security`` (settings, signing key, limiter, audit writer);
* ``opsdb`` — ``OpsEngine`` (the ops database) and ``CatalogDep`` (the data catalog over it);
* ``lake`` — ``LakeDep``, read-only access to the lake;
* ``credit`` — ``CreditIndexDep``, the app's one credit index;
* ``topics`` — ``InstalledTopics``, ``KnownTopic`` (a path's ``{topic}``, or 404);
* ``scope`` — ``ScopeDep``, the caller's area, and the filters that apply it to cases and findings;
* ``params`` — parameter types the routers share (``Text``, ``Period``, ``TopicFilter``).

A test swaps any of them with ``app.dependency_overrides[get_x] = …``.
"""

from citybrain.api.deps.auth import (
    PURPOSE_HEADER,
    SECURITY_SCHEMES,
    ApiRouteInfo,
    Principal,
    PrincipalCache,
    Security,
    UnguardedRoute,
    api_routes,
    authenticate,
    check_every_route_guarded,
    get_security,
    get_workspace,
    public,
    require,
    route_permission,
    route_permissions,
    signs_in,
)
from citybrain.api.deps.credit import CreditIndexDep, credit_index
from citybrain.api.deps.lake import Lake, LakeDep, get_lake
from citybrain.api.deps.opsdb import CatalogDep, OpsEngine, get_catalog, get_ops_engine
from citybrain.api.deps.params import Period, Text
from citybrain.api.deps.scope import ScopeDep, cases_in_scope, get_scope, scoped_findings
from citybrain.api.deps.topics import (
    InstalledTopics,
    KnownTopic,
    TopicFilter,
    TopicName,
    get_installed_topics,
    installed_topics,
    known_topic,
    warm_up,
)

__all__ = [
    "PURPOSE_HEADER",
    "SECURITY_SCHEMES",
    "ApiRouteInfo",
    "CatalogDep",
    "CreditIndexDep",
    "InstalledTopics",
    "KnownTopic",
    "Lake",
    "LakeDep",
    "OpsEngine",
    "Period",
    "Principal",
    "PrincipalCache",
    "ScopeDep",
    "Security",
    "Text",
    "TopicFilter",
    "TopicName",
    "UnguardedRoute",
    "api_routes",
    "authenticate",
    "cases_in_scope",
    "check_every_route_guarded",
    "credit_index",
    "get_catalog",
    "get_installed_topics",
    "get_lake",
    "get_ops_engine",
    "get_scope",
    "get_security",
    "get_workspace",
    "installed_topics",
    "known_topic",
    "public",
    "require",
    "route_permission",
    "route_permissions",
    "scoped_findings",
    "signs_in",
    "warm_up",
]

"""Roles and permissions: the single declarative table that every authorisation decision reads.

A route declares the one permission it needs (``Depends(require(Permission.X))``); whether a role
has it is answered here and nowhere else. Area scope (which streets, communities and grids) is a
second, independent filter applied to the data itself: see ``scope.py``.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    DATA_STEWARD = "data_steward"
    ANALYST = "analyst"
    CLERK = "clerk"  # a department clerk (街道办, 市场监管局, 城管 …)
    LEADER = "leader"
    AUDITOR = "auditor"
    PUBLIC = "public"  # a signed-in citizen or enterprise
    SYSTEM = "system"  # a department's system sending records by API key; it reads nothing
    FIRM = "firm"  # an enterprise's portal account, issued by the city; its department is its USCC
    RESIDENT = "resident"  # a resident signed in on the portal by phone; its department: the phone


class Permission(StrEnum):
    OVERVIEW_READ = "overview.read"
    CATALOG_READ = "catalog.read"
    CATALOG_WRITE = "catalog.write"
    QUARANTINE_READ = "quarantine.read"  # rows that could not land: raw deliveries, personal data
    QUALITY_READ = "quality.read"
    TOPICS_READ = "topics.read"
    TOPICS_RUN = "topics.run"
    FINDINGS_READ = "findings.read"
    CASES_READ = "cases.read"
    CASES_WRITE = "cases.write"
    CASES_DISPATCH = "cases.dispatch"
    ENTITIES_READ = "entities.read"  # entity 360: person, enterprise, dwelling (personal data)
    CREDIT_READ = "credit.read"
    MAP_READ = "map.read"
    METRICS_READ = "metrics.read"
    PII_UNMASK = "pii.unmask"
    AUDIT_READ = "audit.read"
    USERS_READ = "users.read"
    USERS_WRITE = "users.write"
    SELF = "self"  # one's own account: who am I, my unmask grants
    INGEST_PUSH = "ingest.push"  # send records to a push source (system to system)
    PORTAL_FIRM = "portal.firm"  # the portal's enterprise pages: one's own firm's credit only
    PORTAL_RESIDENT = "portal.resident"  # the reports made with one's own verified phone only
    CREDIT_REVIEW = "credit.review"  # 信用修复审核: decide firms' disputes of credit records


# Permissions whose every use writes an audit row (reads of personal data and all writes).
AUDITED: frozenset[Permission] = frozenset(
    {
        Permission.CATALOG_WRITE,
        Permission.QUARANTINE_READ,
        Permission.TOPICS_RUN,
        Permission.CASES_WRITE,
        Permission.CASES_DISPATCH,
        Permission.ENTITIES_READ,
        Permission.CREDIT_READ,
        Permission.PII_UNMASK,
        Permission.AUDIT_READ,
        Permission.USERS_WRITE,
        Permission.INGEST_PUSH,
        Permission.PORTAL_FIRM,
        Permission.PORTAL_RESIDENT,
        Permission.CREDIT_REVIEW,
    }
)

_P = Permission
_READ_ALL = frozenset(
    {
        _P.OVERVIEW_READ,
        _P.CATALOG_READ,
        _P.TOPICS_READ,
        _P.FINDINGS_READ,
        _P.CASES_READ,
        _P.MAP_READ,
        _P.METRICS_READ,
        _P.SELF,
    }
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    # An admin acts as no firm and no resident: the portal's pages are the account holder's own.
    Role.ADMIN: frozenset(Permission) - {_P.AUDIT_READ, _P.PORTAL_FIRM, _P.PORTAL_RESIDENT},
    # Quality results go to the data steward (every source) and the owning department's clerks.
    Role.DATA_STEWARD: _READ_ALL
    | {
        _P.QUALITY_READ,
        _P.CATALOG_WRITE,
        _P.QUARANTINE_READ,
        _P.ENTITIES_READ,
        _P.PII_UNMASK,
        _P.INGEST_PUSH,
        _P.CREDIT_REVIEW,
    },
    Role.ANALYST: _READ_ALL | {_P.TOPICS_RUN, _P.ENTITIES_READ, _P.CREDIT_READ},
    Role.CLERK: frozenset(
        {
            _P.OVERVIEW_READ,
            _P.QUALITY_READ,
            _P.FINDINGS_READ,
            _P.CASES_READ,
            _P.CASES_WRITE,
            _P.ENTITIES_READ,
            _P.CREDIT_READ,
            _P.MAP_READ,
            _P.PII_UNMASK,
            _P.SELF,
        }
    ),
    Role.LEADER: _READ_ALL | {_P.CASES_DISPATCH, _P.CREDIT_READ, _P.ENTITIES_READ},
    # Auditors read the audit log and nothing personal; separation of duties keeps admins out of it.
    Role.AUDITOR: frozenset({_P.AUDIT_READ, _P.USERS_READ, _P.OVERVIEW_READ, _P.SELF}),
    Role.PUBLIC: frozenset({_P.OVERVIEW_READ, _P.CREDIT_READ, _P.SELF}),
    Role.SYSTEM: frozenset({_P.INGEST_PUSH, _P.SELF}),
    Role.FIRM: frozenset({_P.PORTAL_FIRM, _P.SELF}),
    Role.RESIDENT: frozenset({_P.PORTAL_RESIDENT, _P.SELF}),
}

# Roles whose area scope must be stated: with none they see no area at all, never the whole city.
AREA_BOUND_ROLES: frozenset[Role] = frozenset({Role.CLERK, Role.PUBLIC})


def allows(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]

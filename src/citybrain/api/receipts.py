"""What the portal's residents' and firms' routers share: receipt numbers and the portal's
kinds of report.

A receipt number is the report id and a signature of it under the service's signing key
(``123-K7Q2M9XW4T``): only the receipt opens a report (status, department, deadline, answer) and
rates it, so nobody follows another person's report by counting ids. A firm's request (企业诉求)
is a report of the ``enterprise_request`` kind, routed to the enterprise service centre unless
the city's own routing (``cases.yaml``) says otherwise; a city may define that kind itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

from citybrain.cases import settings_for_workspace
from citybrain.cases.settings import CaseSettings, Service
from citybrain.topics.builtin.policy_push.topic import SERVICE_DEPARTMENT

_SIG_BYTES = 6  # 48 bits: 10 base32 characters
ENTERPRISE_REQUEST = Service(
    service_code="enterprise_request", service_name="企业诉求", group="企业服务",
    description="an enterprise's request to the city (a firm account files it on the portal)",
)  # fmt: skip
#: where an enterprise request goes when the city's routing names no department for it
HINTS = {ENTERPRISE_REQUEST.service_code: SERVICE_DEPARTMENT}


def receipt_for(key: bytes, reporter_id: int) -> str:
    """The receipt number of report ``reporter_id``: its id and a signature of it."""
    mac = hmac.new(key, f"portal-receipt:{reporter_id}".encode(), hashlib.sha256).digest()
    return f"{reporter_id}-{base64.b32encode(mac[:_SIG_BYTES]).decode()[:10]}"


def reporter_of(key: bytes, receipt: str) -> int | None:
    """The report id a receipt number names, or None when it is not a valid receipt."""
    head, _, _ = receipt.strip().upper().partition("-")
    if not head.isdigit() or len(head) > 18:
        return None
    return (
        int(head)
        if hmac.compare_digest(receipt_for(key, int(head)), receipt.strip().upper())
        else None
    )


def portal_settings(root: Path) -> CaseSettings:
    """The workspace's case settings, with the enterprise request kind unless it defines one."""
    settings = settings_for_workspace(root)
    if settings.service(ENTERPRISE_REQUEST.service_code) is not None:
        return settings
    return settings.model_copy(update={"services": [*settings.services, ENTERPRISE_REQUEST]})


__all__ = ["ENTERPRISE_REQUEST", "HINTS", "portal_settings", "receipt_for", "reporter_of"]

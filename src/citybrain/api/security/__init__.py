"""Security of the service API: passwords, tokens, keys, roles, area scope, masking, audit, limits.

Routers do not call these modules one by one: they declare ``Depends(require(Permission.X))``
(see ``citybrain.api.deps``), which authenticates, authorises, rate-limits and audits in one place.
"""

"""``CreditIndexDep``: the app's one credit index (kept on ``app.state``), for every route that
reads grades — the credit report, entity 360 and the firm's own page on the portal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from citybrain.api.credit import CreditIndex, CreditIndexCache
from citybrain.api.deps.auth import Security
from citybrain.api.deps.lake import LakeDep


async def credit_index(request: Request, lake: LakeDep) -> CreditIndex:
    """The credit index of this app's lake, rebuilt in a worker thread when the lake changed."""
    cache: CreditIndexCache | None = getattr(request.app.state, "credit_index", None)
    if cache is None:
        # app.state.security as get_security gives it; not a Depends node, which every credit
        # lookup would pay for although the cache is made once.
        security: Security = request.app.state.security
        check = security.settings.index_check_seconds
        cache = request.app.state.credit_index = CreditIndexCache(lake.workspace.lake, check)
    index = cache.fresh()
    if index is None:
        index = await run_in_threadpool(cache.rebuild, lake.engine)
    return index


CreditIndexDep = Annotated[CreditIndex, Depends(credit_index)]

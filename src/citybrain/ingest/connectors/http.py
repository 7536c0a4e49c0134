"""HTTP JSON APIs: paged reads with retries, timeouts and an auth header from the environment.

Pagination (the contract's ``Pagination``):

- ``page``: ``page_param`` = 1, 2, … with ``size_param`` = ``page_size``, until a short page;
- ``offset``: the offset in ``page_param`` (``offset`` when left at its default) and the size in
  ``size_param``, until a short page;
- ``cursor``: the next cursor from ``cursor_path`` in each body, sent in ``page_param`` (``cursor``
  when left at its default), until there is none;
- ``link``: the next URL from ``next_link_path`` in each body, or the ``Link: <…>; rel="next"``
  header, until there is none;
- ``none``: one request.

A 5xx answer, a timeout or a broken connection is retried with exponential backoff; a page is
added only once its body has parsed, so a retried page lands exactly once. Any other failure — a
4xx answer, a body that is not JSON, no list at ``records_path`` — fails the whole load with one
message naming the page: a skipped page would be rows silently lost. A run whose pages are byte
for byte those of the last load lands nothing (the manifest checksum is over the page bodies).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from typing import Any

import httpx

from citybrain.ingest.connectors.base import Chunk, SourceUnreadable, source_watermark_column
from citybrain.ingest.connectors.memory import records_chunk
from citybrain.ingest.contract import HttpConnector, SourceContract

MAX_PAGES = 1_000_000  # a server that never stops paging is a bug there, not endless data
RETRY_STATUSES = frozenset({500, 502, 503, 504})


def lookup(document: Any, path: str | None) -> Any:
    """The value at a dotted path (``data.items``); the document itself for no path."""
    value = document
    for part in (path or "").split("."):
        if not part:
            continue
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


_MISSING = object()


def auth_headers(
    contract: SourceContract, env: str | None, header: str = "Authorization"
) -> dict[str, str]:
    """The auth header whose value is in environment variable ``env`` (none when not asked)."""
    if env is None:
        return {}
    value = os.environ.get(env)
    if not value:
        raise SourceUnreadable(
            f"source {contract.id}: environment variable {env} is not set",
            hint=f"set it to the value of the {header} header the API expects",
        )
    return {header: value}


class HttpReader:
    fixed_columns = False

    def __init__(
        self,
        contract: SourceContract,
        *,
        since: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not isinstance(contract.connector, HttpConnector):
            raise TypeError(f"{contract.id} is not an HTTP source")
        self.contract = contract
        self.options = contract.connector
        self.source = self.options.url
        self.headers = auth_headers(
            contract, self.options.auth_header_env, self.options.auth_header
        )
        self.transport = transport
        self._hash = hashlib.sha256()
        self.pages = 0
        self.retried = 0
        self.since = since
        self.mark_column = source_watermark_column(contract)
        self._top: Any = None

    def digest(self) -> str:
        return "sha256:" + self._hash.hexdigest() if self.pages else ""

    def watermark(self) -> str | None:
        return None if self._top is None else str(self._top)

    def _track(self, records: list[Any]) -> None:
        """The newest watermark value of a page (JSON numbers, or ISO text that sorts by time)."""
        column = self.mark_column
        if column is None:
            return
        values: list[Any] = [r.get(column) for r in records if isinstance(r, dict)]
        values = [v for v in values if isinstance(v, (int, float, str)) and v != ""]
        try:
            top: Any = max(values) if values else None
            if top is not None and (self._top is None or top > self._top):
                self._top = top
        except TypeError:
            raise SourceUnreadable(
                f"source {self.contract.id}: watermark column {column!r} mixes numbers and text",
                hint="choose a watermark column that always has one kind of value",
            ) from None

    def _params(self) -> dict[str, str]:
        """The contract's params, with ``{watermark}`` filled in (or the param left out)."""
        params: dict[str, str] = {}
        if self.options.watermark_param is not None and self.since is not None:
            params[self.options.watermark_param] = self.since
        for name, value in self.options.params.items():
            if "{watermark}" in value:
                if self.since is None:
                    continue
                value = value.replace("{watermark}", self.since)
            params[name] = value
        return params

    def notes(self) -> list[str]:
        return [f"{self.retried} request(s) retried"] if self.retried else []

    def chunks(self) -> Iterator[Chunk]:
        timeout = httpx.Timeout(self.options.timeout_seconds)
        with httpx.Client(
            headers=self.headers, timeout=timeout, transport=self.transport, follow_redirects=True
        ) as client:
            yield from self._pages(client)

    def _pages(self, client: httpx.Client) -> Iterator[Chunk]:
        paging = self.options.pagination
        url: str | None = self.options.url
        params = self._params()
        position = 0  # page number, or offset
        seen_cursors: set[str] = set()
        row = 1
        while url is not None and self.pages < MAX_PAGES:
            if paging.kind == "page":
                position += 1
                params[paging.page_param] = str(position)
                params[paging.size_param] = str(paging.page_size)
            elif paging.kind == "offset":
                params[_name(paging.page_param, "offset")] = str(position)
                params[paging.size_param] = str(paging.page_size)
            elif paging.kind == "cursor":
                params[paging.size_param] = str(paging.page_size)
            response = self._get(client, url, params)
            label = f"page {self.pages + 1} ({response.request.url})"
            body = response.content
            try:
                document = json.loads(body)
            except (ValueError, UnicodeDecodeError) as exc:
                raise SourceUnreadable(
                    f"source {self.contract.id}: {label} is not valid JSON ({exc})",
                    hint="the API sent a broken page; the load was stopped, nothing of it landed",
                ) from None
            records = lookup(document, self.options.records_path)
            if not isinstance(records, list):
                where = self.options.records_path or "the top level"
                raise SourceUnreadable(
                    f"source {self.contract.id}: {label} has no list of records at {where}",
                    hint="check connector.records_path in the contract",
                )
            self.pages += 1
            self._hash.update(body)
            self._track(records)
            chunk = records_chunk(records, first_row=row, size=len(body))
            row += len(records)
            yield chunk
            url = self._next(response, document, records, params, seen_cursors, label)
            if paging.kind == "offset":
                position += len(records)

    def _next(
        self,
        response: httpx.Response,
        document: Any,
        records: list[Any],
        params: dict[str, str],
        seen: set[str],
        label: str,
    ) -> str | None:
        paging = self.options.pagination
        if paging.kind in ("page", "offset"):
            return None if len(records) < paging.page_size else self.options.url
        if paging.kind == "cursor":
            cursor = lookup(document, paging.cursor_path or "next_cursor")
            if cursor is _MISSING or cursor is None or cursor == "":
                return None
            if str(cursor) in seen:
                raise SourceUnreadable(
                    f"source {self.contract.id}: {label} repeats cursor {cursor!r}",
                    hint="the API pages in a loop; check connector.pagination.cursor_path",
                )
            seen.add(str(cursor))
            params[_name(paging.page_param, "cursor")] = str(cursor)
            return self.options.url
        if paging.kind == "link":
            link = lookup(document, paging.next_link_path) if paging.next_link_path else _MISSING
            if link is _MISSING:
                link = response.links.get("next", {}).get("url")
            if not link:
                return None
            params.clear()  # a next link carries its own query
            return str(response.url.join(str(link)))
        return None

    def _get(self, client: httpx.Client, url: str, params: dict[str, str]) -> httpx.Response:
        """One page, retried with exponential backoff on 5xx, timeouts and connection errors."""
        options = self.options
        label = f"page {self.pages + 1} ({url})"
        problem = ""
        for attempt in range(options.retries + 1):
            if attempt:
                self.retried += 1
                time.sleep(options.backoff_seconds * 2 ** (attempt - 1))
            try:
                response = client.request(options.method, url, params=params or None)
            except httpx.TimeoutException:
                problem = f"no answer within {options.timeout_seconds:g} s"
                continue
            except httpx.TransportError as exc:
                problem = f"connection failed ({type(exc).__name__}: {exc})"
                continue
            if response.status_code in RETRY_STATUSES or response.status_code == 429:
                problem = f"HTTP {response.status_code}"
                continue
            if response.is_success:
                return response
            raise self._refused(response)
        raise SourceUnreadable(
            f"source {self.contract.id}: {label} failed after {options.retries + 1} attempts: "
            f"{problem}",
            hint="check that the API is up, or raise connector.timeout_seconds / retries",
        )

    def _refused(self, response: httpx.Response) -> SourceUnreadable:
        status = response.status_code
        detail = _detail(response)
        label = f"page {self.pages + 1} ({response.request.url})"
        if status in (401, 403):
            env = self.options.auth_header_env
            hint = (
                f"check the key in environment variable {env}"
                if env
                else f"the API needs a key: name its environment variable in "
                f"connector.auth_header_env (sent as {self.options.auth_header})"
            )
            what = "unauthorised" if status == 401 else "forbidden"
            return SourceUnreadable(
                f"source {self.contract.id}: {label}: HTTP {status} {what}: {detail}", hint=hint
            )
        return SourceUnreadable(
            f"source {self.contract.id}: {label}: HTTP {status}: {detail}",
            hint="check connector.url and params in the contract",
        )


def _name(configured: str, default: str) -> str:
    """``page_param`` names the offset or cursor parameter too; its default ``page`` does not."""
    return default if configured == "page" else configured


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip() or response.reason_phrase
    if isinstance(body, dict):
        for key in ("detail", "error", "message"):
            if key in body:
                return str(body[key])[:200]
    return response.text[:200]

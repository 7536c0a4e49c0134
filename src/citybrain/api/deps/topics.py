"""Which topics exist: installed ones (entry points, scanned once per process) and, for a path's
``{topic}``, also one that ran and was uninstalled since (its findings are still in the lake)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, HTTPException, Path
from pydantic import StringConstraints
from starlette.concurrency import run_in_threadpool

from citybrain.api.deps.lake import LakeDep
from citybrain.core import UserError
from citybrain.topics import Topic, discover_topics
from citybrain.topics.runner import findings_table_name

TOPIC_NAME = r"^[a-z0-9][a-z0-9_]{0,47}$"
TopicName = Annotated[
    str, Path(pattern=TOPIC_NAME, description="a topic's name, e.g. group_rental")
]
TopicFilter = Annotated[str, StringConstraints(pattern=TOPIC_NAME)]

_DISCOVERY_LOCK = threading.Lock()


@functools.cache
def _discovered() -> dict[str, type[Topic]]:
    try:
        return discover_topics()
    except UserError:
        return {}


def installed_topics() -> dict[str, type[Topic]]:
    """Topics installed in this environment, read once per process (installing needs a restart)."""
    with _DISCOVERY_LOCK:  # a request arriving during the warm-up waits for it, not a second scan
        return _discovered()


def warm_up() -> threading.Thread:
    """Scan the installed packages' entry points in the background now: on a cold file system the
    scan takes seconds, which the first request for topics should not pay."""
    thread = threading.Thread(target=installed_topics, name="topics-warm-up", daemon=True)
    thread.start()
    return thread


async def get_installed_topics() -> Mapping[str, type[Topic]]:
    """Installed topics by name; ``app.dependency_overrides`` swaps in others for a test."""
    if _discovered.cache_info().currsize:
        return _discovered()
    return await run_in_threadpool(installed_topics)  # still scanning: wait off the event loop


InstalledTopics = Annotated[Mapping[str, type[Topic]], Depends(get_installed_topics)]


async def known_topic(topic: TopicName, lake: LakeDep, installed: InstalledTopics) -> str:
    """The path's ``{topic}`` if it is installed or has findings in the lake; 404 otherwise."""
    if topic in installed or lake.exists("topic", findings_table_name(topic)):
        return topic
    raise HTTPException(404, detail=f"no topic {topic!r}: not installed and never run")


KnownTopic = Annotated[str, Depends(known_topic)]

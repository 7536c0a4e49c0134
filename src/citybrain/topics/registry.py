"""Topic discovery through the ``citybrain.topics`` entry-point group."""

from __future__ import annotations

from importlib.metadata import entry_points

from citybrain.core.errors import UserError
from citybrain.topics.base import Topic

ENTRY_POINT_GROUP = "citybrain.topics"


class TopicLoadError(UserError):
    """An installed topic plugin cannot be loaded."""


def discover_topics() -> dict[str, type[Topic]]:
    """Every installed topic, by name; a broken plugin is reported by name, not skipped."""
    found: dict[str, type[Topic]] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = entry.load()
        except Exception as exc:
            raise TopicLoadError(
                f"topic plugin {entry.name} ({entry.value}) failed to load: {exc}"
            ) from exc
        if not (isinstance(loaded, type) and issubclass(loaded, Topic)):
            raise TopicLoadError(
                f"topic plugin {entry.name} ({entry.value}) is not a Topic subclass"
            )
        found[loaded.name] = loaded
    return dict(sorted(found.items()))


def installed_topic(name: str) -> type[Topic] | None:
    """The installed topic ``name`` (None: not installed), found by loading only the entry point
    registered under that name — importing every installed topic takes seconds (scikit-learn,
    SciPy), which a live detector's first alert used to wait for; every topic is loaded only when
    none is registered under the name (a plugin may register under another)."""
    for entry in entry_points(group=ENTRY_POINT_GROUP, name=name):
        try:
            loaded = entry.load()
        except Exception:
            break  # discover_topics names the broken plugin
        if isinstance(loaded, type) and issubclass(loaded, Topic) and loaded.name == name:
            return loaded
    return discover_topics().get(name)


def get_topic(name: str) -> Topic:
    topics = discover_topics()
    if name not in topics:
        known = ", ".join(topics) or "none installed"
        raise UserError(f"unknown topic {name!r}; installed topics: {known}")
    return topics[name]()

"""A topic's settings in one city: ``[topics.NAME]`` of ``citybrain.toml``.

The section holds the topic's parameters (validated by its own ``params_model``; e.g. ``scenario``
of the epidemic topic) and ``enabled``, whether the city switched the topic on (an emergency
topic such as ``epidemic`` is off until it is). ``configure_topic`` rewrites that one section of
the file — every other line, comments included, is kept — and only after the whole file and the
parameters validate; the file is replaced whole or not at all.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, get_origin

from pydantic import ValidationError

from citybrain.core.config import CONFIG_FILE, load_config, parse_config
from citybrain.core.errors import UserError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from citybrain.core.workspace import Workspace
    from citybrain.topics.base import Topic, TopicParams

#: the key of a ``[topics.NAME]`` section that is not a parameter
ENABLED = "enabled"


def _section(workspace: Workspace, name: str) -> dict[str, Any]:
    """``[topics.NAME]`` as the file says now (a running server sees a change made since)."""
    path = workspace.root / CONFIG_FILE
    config = load_config(path) if path.is_file() else workspace.config
    return dict(config.topics.get(name, {}))


def _validated(topic: Topic, values: Mapping[str, Any], where: str) -> TopicParams:
    base = topic.default_params().model_dump()
    try:
        return topic.params_model.model_validate({**base, **values})
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "(section)"
        problem = "unknown parameter" if first["type"] == "extra_forbidden" else first["msg"]
        raise UserError(f"{where}.{key}: {problem}") from None


def workspace_params(workspace: Workspace, topic: Topic) -> TopicParams:
    """The topic's parameters in this city: its defaults with ``[topics.NAME]`` over them."""
    values = _section(workspace, topic.name)
    values.pop(ENABLED, None)
    if not values:
        return topic.default_params()
    return _validated(topic, values, f"{CONFIG_FILE}: topics.{topic.name}")


def topic_enabled(workspace: Workspace, name: str) -> bool:
    """Whether ``[topics.NAME] enabled = true`` switches the topic on in this city."""
    return _section(workspace, name).get(ENABLED) is True


def _parse_value(topic: Topic, key: str, text: str) -> Any:
    """A ``--set key=value`` value as the parameter's type wants it: JSON when it reads as JSON
    (numbers, true/false, lists), a list from ``a,b`` for a list parameter, else the text."""
    if key == ENABLED:
        if text.strip().lower() in ("true", "on", "yes", "1"):
            return True
        if text.strip().lower() in ("false", "off", "no", "0"):
            return False
        raise UserError(f"--set {key}={text}: enabled is true or false")
    field = topic.params_model.model_fields.get(key)
    if field is None:
        known = ", ".join(sorted([ENABLED, *topic.params_model.model_fields]))
        raise UserError(f"--set {key}={text}: {topic.name} has no parameter {key!r}; {known}")
    origin = get_origin(field.annotation)
    if origin in (tuple, list):
        return [part.strip() for part in text.split(",") if part.strip()]
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, (int, float, bool, list)) else text


def _toml_value(value: Any) -> str:
    # JSON's strings (with \\uXXXX escapes), numbers, booleans and arrays are valid TOML
    return json.dumps(value, ensure_ascii=False)


def _rewrite(text: str, name: str, values: Mapping[str, Any]) -> str:
    """``text`` with the ``[topics.NAME]`` section replaced by ``values`` (appended if absent)."""
    header = re.compile(rf'^\s*\[\s*topics\s*\.\s*(?:"{re.escape(name)}"|{re.escape(name)})\s*\]')
    lines = text.splitlines()
    body = [f"[topics.{name}]", *(f"{k} = {_toml_value(v)}" for k, v in values.items())]
    start = next((i for i, line in enumerate(lines) if header.match(line)), None)
    if start is None:
        if lines and lines[-1].strip():
            lines.append("")
        return "\n".join([*lines, *body]) + "\n"
    end = start + 1
    while end < len(lines) and not lines[end].lstrip().startswith("["):
        end += 1
    kept = lines[start + 1 : end]
    trailing = [line for line in kept if line.strip().startswith("#")]
    return "\n".join([*lines[:start], *body, *trailing, "", *lines[end:]]).rstrip("\n") + "\n"


@dataclass(frozen=True)
class Configured:
    """What ``configure_topic`` changed: the section before and after."""

    before: dict[str, Any]
    after: dict[str, Any]


def configure_topic(
    workspace: Workspace,
    topic: Topic,
    assignments: list[str],
    *,
    audit: Callable[[Configured], None] | None = None,
) -> Configured:
    """Set ``key=value`` pairs in ``[topics.NAME]`` of the workspace's ``citybrain.toml``.

    Nothing is written unless the new file parses and the topic's parameters validate; ``audit``
    records the change before the file is replaced (if it raises, the file is left alone)."""
    before = _section(workspace, topic.name)
    after = dict(before)
    for item in assignments:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserError(f"--set {item!r}: write KEY=VALUE, e.g. scenario=resume_work")
        after[key] = _parse_value(topic, key, text.strip())
    params = {k: v for k, v in after.items() if k != ENABLED}
    where = f"{CONFIG_FILE}: topics.{topic.name}"
    checked = _validated(topic, params, where).model_dump(mode="json")
    # keep what was set as the model stores it (e.g. 复工复产 → resume_work)
    after = {k: checked.get(k, v) for k, v in after.items()}
    path = workspace.root / CONFIG_FILE
    text = _rewrite(path.read_text(encoding="utf-8"), topic.name, after)
    config = parse_config(text, str(path))
    done = Configured(before, after)
    if audit is not None:
        audit(done)
    part = path.with_name(f".{path.name}.part")
    part.write_text(text, encoding="utf-8")
    part.replace(path)
    workspace.config = config
    return done

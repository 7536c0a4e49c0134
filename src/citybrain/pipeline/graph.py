"""The pipeline as data: named steps, what each reads and writes, and what each runs after.

In the style of Kedro's pipelines and Dagster's assets, a :class:`Step` is a plain value — a name,
a description, the datasets it reads and writes (``zone/name``, ``*`` for "every table of the
zone"), the steps it depends on, and the function that does the work. A :class:`Graph` keeps the
steps in an order where every step comes after what it depends on, and answers the questions the
runner asks: which steps follow from ``--from``, which one ``--only`` names, and which steps must
run again after a step did not finish.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from citybrain.core.errors import UserError

if TYPE_CHECKING:
    from citybrain.pipeline.context import RunContext

#: Hears a short text whenever a step moves on to a new part of its work (for progress bars).
Report = Callable[[str], None]


@dataclass(frozen=True)
class StepResult:
    """What a step did: one line for people, and the rows it read and wrote when it knows them.

    ``failed`` names a part that failed while the step went on with the rest (a source whose
    delivery could not be loaded must not stop the city): the step is recorded as failed, the
    run goes on, and the next ``citybrain run`` takes it up again.
    """

    summary: str
    rows_in: int | None = None
    rows_out: int | None = None
    failed: str | None = None
    #: what the step wants to find again next run (``RunContext.previous``), e.g. the
    #: fingerprints of the parts it redid, so that it redoes only the parts that changed
    parts: dict[str, str] | None = None


Action = Callable[["RunContext", Report], StepResult]


@dataclass(frozen=True)
class Step:
    """One named unit of the pipeline."""

    name: str
    description: str
    action: Action = field(repr=False, compare=False)
    #: names of the steps whose outputs this step needs
    after: tuple[str, ...] = ()
    #: datasets read and written, ``zone/name`` (``zone/*``: every table of the zone)
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    #: the family a step belongs to (``ingest`` for ``ingest:gas_utility``): ``--from ingest``
    group: str = ""
    #: ``False``: run every time (it looks for new deliveries itself); otherwise a plain
    #: ``citybrain run`` skips the step while what it reads and what it wrote are unchanged
    incremental: bool = True
    #: what besides its inputs decides its outputs (code version, parameters), for the skip
    stamp: Callable[[RunContext], str] | None = field(default=None, repr=False, compare=False)

    @property
    def family(self) -> str:
        return self.group or self.name


class Graph:
    """Steps in an order that respects ``after``; built once per run from the workspace."""

    def __init__(self, steps: Iterable[Step]) -> None:
        self.steps: tuple[Step, ...] = _ordered(list(steps))
        self._by_name = {step.name: step for step in self.steps}

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __getitem__(self, name: str) -> Step:
        return self._by_name[name]

    @property
    def names(self) -> list[str]:
        return [step.name for step in self.steps]

    def matching(self, name: str) -> list[str]:
        """The steps a name given on the command line means: a step, or a whole family."""
        if name in self._by_name:
            return [name]
        family = [step.name for step in self.steps if step.family == name]
        if family:
            return family
        raise UserError(
            f"no pipeline step {name!r}",
            hint="steps: " + ", ".join(_families(self.steps)),
        )

    def downstream(self, names: Iterable[str]) -> set[str]:
        """``names`` and every step that depends on one of them, directly or not."""
        found = set(names)
        for step in self.steps:  # in order: a step's dependencies come before it
            if any(dep in found for dep in step.after):
                found.add(step.name)
        return found

    def select(self, *, start: str | None = None, only: str | None = None) -> list[str]:
        """The steps a run does: all, from ``start`` on (in order), or ``only`` one step/family."""
        if start is not None and only is not None:
            raise UserError("give --from or --only, not both")
        if only is not None:
            return self.matching(only)
        if start is not None:
            first = self.names.index(self.matching(start)[0])
            return self.names[first:]
        return self.names

    def still_to_do(self, planned: Sequence[str], succeeded: Iterable[str]) -> list[str]:
        """Of a run's ``planned`` steps, those to run again: every step that did not succeed and
        every planned step downstream of one, in order."""
        done = set(succeeded)
        unfinished = [name for name in planned if name not in done]
        again = self.downstream(unfinished)
        return [name for name in planned if name in again]


def _families(steps: Sequence[Step]) -> list[str]:
    return list(dict.fromkeys(step.family for step in steps))


def _ordered(steps: list[Step]) -> tuple[Step, ...]:
    """The steps in their declared order, each moved after whatever it depends on."""
    by_name: dict[str, Step] = {}
    for step in steps:
        if step.name in by_name:
            raise ValueError(f"two pipeline steps are named {step.name!r}")
        by_name[step.name] = step
    for step in steps:
        unknown = [dep for dep in step.after if dep not in by_name]
        if unknown:
            raise ValueError(f"step {step.name!r} depends on unknown step(s) {unknown}")
    ordered: list[Step] = []
    placed: set[str] = set()
    visiting: set[str] = set()

    def place(step: Step) -> None:
        if step.name in placed:
            return
        if step.name in visiting:
            raise ValueError(f"pipeline steps depend on each other in a cycle at {step.name!r}")
        visiting.add(step.name)
        for dep in step.after:
            place(by_name[dep])
        visiting.discard(step.name)
        placed.add(step.name)
        ordered.append(step)

    for step in steps:
        place(step)
    return tuple(ordered)

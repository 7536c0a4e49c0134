"""The pipeline as a resumable graph of named steps over one run context.

``graph`` declares steps as data (name, reads, writes, depends-on), ``steps`` holds the city's
steps and builds the graph of a workspace, ``context`` opens what a run shares once (workspace,
lake engine, catalog, ops database, run id), and ``runner`` runs, records and resumes. The CLI only
presents it (``citybrain run``, ``citybrain runs``).
"""

from citybrain.pipeline.context import RunContext, open_context
from citybrain.pipeline.graph import Graph, Report, Step, StepResult
from citybrain.pipeline.runner import KILL_ENV, Observer, RunSummary, StepRecord, run_pipeline
from citybrain.pipeline.steps import build_graph

__all__ = [
    "KILL_ENV",
    "Graph",
    "Observer",
    "Report",
    "RunContext",
    "RunSummary",
    "Step",
    "StepRecord",
    "StepResult",
    "build_graph",
    "open_context",
    "run_pipeline",
]

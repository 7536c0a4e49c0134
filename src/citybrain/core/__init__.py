"""Core services under every stage: config, workspace, the lake and its engine, ops database,
catalog, logging."""

from citybrain.core.config import WorkspaceConfig, load_config, parse_config
from citybrain.core.errors import ConfigError, EnvironmentProblem, UserError
from citybrain.core.lake import ZONES
from citybrain.core.logging import configure_logging, get_logger, run_context
from citybrain.core.workspace import Workspace

__all__ = [
    "ZONES",
    "ConfigError",
    "EnvironmentProblem",
    "UserError",
    "Workspace",
    "WorkspaceConfig",
    "configure_logging",
    "get_logger",
    "load_config",
    "parse_config",
    "run_context",
]

"""A city workspace: one folder with ``citybrain.toml``, the lake zones and the ops database."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from citybrain.core.config import CONFIG_FILE, WorkspaceConfig, load_config
from citybrain.core.errors import UserError
from citybrain.core.lake import ZONES

if TYPE_CHECKING:
    from citybrain.core.engine import Engine

DEFAULT_CONFIG = """\
# citybrain workspace configuration. Secrets never go here: name an environment variable instead.
name = "{name}"
lake = "."                      # folder holding the zones raw/ quarantine/ std/ base/ topic/

[engine]
kind = "duckdb"                 # duckdb | spark

[engine.duckdb]
database = "citybrain.duckdb"

[engine.spark]
master = "local[*]"
# conf = {{ "spark.sql.shuffle.partitions" = "8" }}

[ops_db]
url = "sqlite:///{{workspace}}/ops.sqlite"   # any SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db
# password_env = "CITYBRAIN_OPS_DB_PASSWORD"

[logging]
level = "INFO"
json = false
"""


@dataclass
class Workspace:
    root: Path
    config: WorkspaceConfig = field(default_factory=WorkspaceConfig)

    @classmethod
    def open(cls, root: Path) -> Workspace:
        root = root.resolve()
        if not root.is_dir():
            raise UserError(f"{root}: no such workspace", hint="run `citybrain workspace init DIR`")
        return cls(root=root, config=load_config(root / CONFIG_FILE))

    @classmethod
    def init(cls, root: Path, *, name: str = "示例高新区", exist_ok: bool = False) -> Workspace:
        root = root.resolve()
        config_path = root / CONFIG_FILE
        if config_path.exists() and not exist_ok:
            raise UserError(f"{root} is already a workspace", hint="use --force to re-initialise")
        if root.exists() and not root.is_dir():
            raise UserError(f"{root} exists and is not a folder")
        root.mkdir(parents=True, exist_ok=True)
        if not config_path.exists():
            config_path.write_text(DEFAULT_CONFIG.format(name=name), encoding="utf-8")
        workspace = cls.open(root)
        for zone in ZONES:
            workspace.zone(zone).mkdir(parents=True, exist_ok=True)
        return workspace

    @property
    def lake(self) -> Path:
        lake = Path(self.config.lake)
        return lake if lake.is_absolute() else self.root / lake

    def zone(self, name: str) -> Path:
        if name not in ZONES:
            raise ValueError(f"unknown zone {name!r}; zones are {', '.join(ZONES)}")
        return self.lake / name

    @property
    def ops_db_url(self) -> str:
        return self.config.ops_db_url(self.root)

    def engine(self) -> Engine:
        """The lake engine ``citybrain.toml`` asks for (DuckDB or Spark); its DuckDB file is here.

        Not the ops database's SQLAlchemy engine: that one comes from
        ``citybrain.core.opsdb.connect(workspace.ops_db_url)`` and is called ``ops_engine``.
        """
        from citybrain.core.engine import open_engine  # lazy: opening a workspace needs no ibis

        config = self.config.engine
        database = Path(config.duckdb.database)
        if not database.is_absolute():
            database = self.root / database
        spill = config.duckdb.temp_directory
        if spill is not None and not Path(spill).is_absolute():
            duckdb = config.duckdb.model_copy(update={"temp_directory": str(self.root / spill)})
            config = config.model_copy(update={"duckdb": duckdb})
        return open_engine(config.kind, self.lake, config, database=database)

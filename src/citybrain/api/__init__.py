"""The service API (FastAPI); it also serves the web app."""

from citybrain.api.app import create_app

__all__ = ["create_app"]

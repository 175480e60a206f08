"""The web app and JSON API: `create_app(settings)` serves one library over HTTP."""

from podgrep.web.app import create_app

__all__ = ["create_app"]

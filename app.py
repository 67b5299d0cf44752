"""Entry point for `flask` (which finds create_app) and for WSGI servers: `gunicorn 'app:create_app()'`."""

from survey import create_app

__all__ = ["create_app"]

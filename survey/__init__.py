"""Safer Voices: multilingual community-safety surveys for UK Community Safety Partnerships."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from .config import REPO_ROOT, build_config
from .extensions import babel, csrf, db


def create_app(config: dict | None = None) -> Flask:
    """Build the application; ``config`` overrides the defaults and environment (tests pass theirs)."""
    app = Flask(
        __name__,
        instance_path=str(REPO_ROOT / "instance"),
        template_folder=str(REPO_ROOT / "templates"),
        static_folder=str(REPO_ROOT / "static"),
    )
    app.config.from_mapping(build_config(Path(app.instance_path), config))

    from . import database, errors, i18n, schema_migrations, security, templating
    from .accounts import access

    db.init_app(app)
    database.init_app(app)
    schema_migrations.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    csrf.init_app(app)
    templating.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    access.init_app(app)

    from .accounts import bp as accounts_bp
    from .accounts.cli import users_cli
    from .audit import bp as audit_bp
    from .builder import bp as builder_bp
    from .definitions.cli import survey_cli
    from .paper import bp as paper_bp
    from .reports import bp as reports_bp
    from .reports.cli import analysis_cli
    from .respondent import bp as respondent_bp
    from .responses.cli import responses_cli
    from .staff import bp as staff_bp
    from .translating import bp as translating_bp

    app.register_blueprint(respondent_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(staff_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(translating_bp)
    app.register_blueprint(paper_bp)
    app.register_blueprint(builder_bp)
    app.cli.add_command(survey_cli)
    app.cli.add_command(responses_cli)
    app.cli.add_command(analysis_cli)
    app.cli.add_command(users_cli)
    if app.config.get("PROXY_FIX_X_FOR"):
        # Behind that many trusted proxies, the client's address comes from X-Forwarded-For.
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_FIX_X_FOR"])
    return app

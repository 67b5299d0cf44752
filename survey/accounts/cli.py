"""`flask users …`: create staff accounts and look after them from the command line."""

from __future__ import annotations

import click
from sqlalchemy import select

from ..audit import record
from ..commands import command_group, fail
from ..extensions import db
from ..models import Role, User
from .passwords import generate_password
from .service import AccountError, create_user, find_user, is_locked, set_password, unlock

users_cli = command_group("users", help="Staff accounts: create, list, unlock, set a password.")
ROLES = click.Choice([role.value for role in Role])


def _password(generate: bool) -> tuple[str, bool]:
    if generate:
        return generate_password(), True
    return click.prompt("Password", hide_input=True, confirmation_prompt=True), False


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=ROLES, required=True, help="admin, editor or analyst.")
@click.option("--sensitive", is_flag=True, help="May see free text and answers to sensitive questions.")
@click.option("--generate-password", "generate", is_flag=True, help="Make a random password and show it once.")
def create(email: str, role: str, sensitive: bool, generate: bool) -> None:
    """Create a staff account. The password is prompted for, or generated with --generate-password."""
    password, generated = _password(generate)
    try:
        user = create_user(email, password, role, sensitive=sensitive)
    except AccountError as error:
        fail(f"Cannot create the account: {error}")
    record("user.create", f"user {user.email}", role=role, sensitive=sensitive)
    db.session.commit()
    click.echo(f"Created {user.email} ({role}{', sensitive' if sensitive else ''}).")
    if generated:
        click.echo(f"Password (shown once, copy it now): {password}")


@users_cli.command("list")
def list_users() -> None:
    """Every account with its role and state."""
    accounts = db.session.scalars(select(User).order_by(User.email)).all()
    if not accounts:
        click.echo("No staff accounts yet. Create one with `flask users create EMAIL --role admin`.")
    for user in accounts:
        state = "locked" if is_locked(user) else ("active" if user.active else "inactive")
        click.echo(f"{user.email}\t{user.role}{' +sensitive' if user.sensitive else ''}\t{state}")


def _existing(email: str) -> User:
    user = find_user(email)
    if user is None:
        fail(f"No account for {email}. `flask users list` shows them.")
    return user


@users_cli.command("unlock")
@click.argument("email")
def unlock_command(email: str) -> None:
    """Let an account locked after failed logins sign in again."""
    user = _existing(email)
    unlock(user)
    record("user.unlock", f"user {user.email}")
    db.session.commit()
    click.echo(f"Unlocked {user.email}.")


@users_cli.command("password")
@click.argument("email")
@click.option("--generate-password", "generate", is_flag=True, help="Make a random password and show it once.")
def password_command(email: str, generate: bool) -> None:
    """Set a new password for an account (and unlock it)."""
    user = _existing(email)
    password, generated = _password(generate)
    try:
        set_password(user, password)
    except AccountError as error:
        fail(f"Cannot set the password: {error}")
    record("user.reset_password", f"user {user.email}")
    db.session.commit()
    click.echo(f"Set a new password for {user.email}.")
    if generated:
        click.echo(f"Password (shown once, copy it now): {password}")

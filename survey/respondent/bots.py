"""Silent defences against automated submissions of the resident form.

Two checks, neither of which a person notices: a honeypot field that is hidden
from everyone (CSS ``display: none`` hides it from screen readers and keyboards
too), so only a bot filling every input fills it; and a minimum fill time, taken
from a signed timestamp set when the form was first shown. A submission that
fails either is thanked and dropped, so a bot learns nothing from the reply.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer

#: Separates these tokens from every other use of the secret key.
SALT = "survey-form-started"

Clock = Callable[[], float]


class _ClockSigner(TimestampSigner):
    """A TimestampSigner that reads its time from ``clock``, so tests can sign the past without waiting."""

    def __init__(self, *args, clock: Clock = time.time, **kwargs):
        super().__init__(*args, **kwargs)
        self.clock = clock

    def get_timestamp(self) -> int:
        return int(self.clock())


def _serializer(secret_key: str, clock: Clock) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=SALT, signer=_ClockSigner, signer_kwargs={"clock": clock})


def start_token(secret_key: str, *, clock: Clock = time.time) -> str:
    """A signed record of now, for the form's hidden ``started`` field."""
    return _serializer(secret_key, clock).dumps("started")


def seconds_since_start(token: str | None, secret_key: str, *, clock: Clock = time.time) -> float | None:
    """Seconds since ``token`` was made, or None when it is missing, malformed or tampered with."""
    if not token:
        return None
    try:
        _payload, signed_at = _serializer(secret_key, clock).loads(token, return_timestamp=True)
    except BadData:
        return None
    return clock() - signed_at.timestamp()


def looks_automated(
    honeypot: str | None, started: str | None, min_seconds: float, secret_key: str, *, clock: Clock = time.time
) -> bool:
    """True when the honeypot field was filled in, or the form came back sooner than ``min_seconds`` after it
    was shown (or without a valid ``started`` token). A ``min_seconds`` of 0 switches the time check off."""
    if (honeypot or "").strip():
        return True
    if min_seconds <= 0:
        return False
    elapsed = seconds_since_start(started, secret_key, clock=clock)
    return elapsed is None or elapsed < min_seconds

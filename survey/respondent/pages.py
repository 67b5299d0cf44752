"""Whole resident pages that are the same for everyone but for a few tokens: rendered once, then filled in."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields

from markupsafe import escape

from .forms import FormTokens

_TOKEN_NAMES = tuple(field.name for field in fields(FormTokens))
#: Private-use characters around each token's name: nothing a template escapes, nothing a survey says.
_HOLES = FormTokens(*(f"\ue000{name}\ue000" for name in _TOKEN_NAMES))
_HOLE = re.compile("\ue000(" + "|".join(_TOKEN_NAMES) + ")\ue000")


@dataclass(frozen=True, slots=True)
class PageWithHoles:
    """A rendered page split at its tokens: text, token name, text, ..., text."""

    parts: tuple[str, ...]

    @classmethod
    def render(cls, render: Callable[[FormTokens], str]) -> PageWithHoles | None:
        """``render`` called once with placeholder tokens; None if the page does not show each token
        exactly once (then it must be rendered for every visit)."""
        parts = tuple(_HOLE.split(render(_HOLES)))
        if sorted(parts[1::2]) != sorted(_TOKEN_NAMES):
            return None
        return cls(parts)

    def fill(self, tokens: FormTokens) -> str:
        """The page with this visit's tokens, escaped as the template would have escaped them."""
        return "".join(part if index % 2 == 0 else str(escape(getattr(tokens, part))) for index, part in enumerate(self.parts))

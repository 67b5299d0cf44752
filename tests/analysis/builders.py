"""WaveCounts for the test series, built by hand as the loader would build them from GROUP BY results.

The priorities question mirrors the borough report in docs/domain.md: one answer
in 2021 (base 1,000), up to five in 2023 (base 500), "Drug dealing" renamed
"Drug Dealing" under the same code, and a tie across the fifth place in 2023.
"""

from __future__ import annotations

import pandas as pd

from analysis.compare import WaveCounts

SCALE_VERY = ("very",)
SCALE_VERY_OR_FAIRLY = ("very", "fairly")


def counts_frame(*rows: tuple[str, str, int, int]) -> pd.DataFrame:
    """(code, label, count, base) in questionnaire order → the loader's counts frame."""
    return pd.DataFrame(
        [{"code": code, "label": label, "position": position, "count": count, "base": base}
         for position, (code, label, count, base) in enumerate(rows, start=1)],
        columns=["code", "label", "position", "count", "base"],
    )


def wave(wave_label: str, question_type: str, max_choices: int | None, rows, *, base_rule: str = "answered",
         top_box: tuple[str, ...] = (), respondents: int | None = None, text: str = "Which should be priorities?",
         top_box_labels: tuple[str, ...] = ()) -> WaveCounts:
    frame = counts_frame(*rows)
    return WaveCounts(
        wave=wave_label,
        survey=f"cs-{wave_label}",
        question_type=question_type,
        max_choices=max_choices,
        base_rule=base_rule,
        question_text=text,
        counts=frame,
        top_box=top_box,
        top_box_labels=top_box_labels,
        respondents=int(frame["base"].max()) if respondents is None else respondents,
    )


def priorities_2021() -> WaveCounts:
    n = 1000
    return wave("2021", "single", 1, [
        ("drug_dealing", "Drug dealing", 107, n),
        ("youth_disorder", "Youth disorder", 93, n),
        ("burglary", "Burglary", 74, n),
        ("violent_crime", "Violent crime", 72, n),
        ("littering", "Littering/fly tipping", 58, n),
        ("asb", "Anti-social behaviour", 41, n),
        ("nuisance_bikes", "Nuisance bikes", 30, n),
        ("noise", "Noise nuisance", 25, n),
    ], text="What should be the top priority in your area?")


def priorities_2023() -> WaveCounts:
    n = 500
    return wave("2023", "multi", 5, [
        ("drug_dealing", "Drug Dealing", 185, n),
        ("youth_disorder", "Youth disorder", 60, n),
        ("burglary", "Burglary", 135, n),  # ties with drugs_public across the fifth place
        ("littering", "Littering or fly tipping", 190, n),
        ("nuisance_bikes", "Nuisance bikes", 165, n),
        ("noise", "Noise nuisance", 160, n),
        ("drugs_public", "Presence of drugs in public places", 135, n),
        ("speeding", "Speeding", 45, n),
    ], text="Which of these should be priorities in your area? Choose up to five.")


def concerns(wave_label: str, top_box: tuple[str, ...], rows) -> WaveCounts:
    """A matrix question: per-item bases (respondents who rated the item), counts in the top box."""
    return wave(wave_label, "matrix", None, rows, top_box=top_box, respondents=1000,
                text="How concerned are you about each of these?",
                top_box_labels=tuple(f"{code.capitalize()} concerned" for code in top_box))  # "Very concerned"


def concerns_2021(top_box: tuple[str, ...] = SCALE_VERY_OR_FAIRLY) -> WaveCounts:
    return concerns("2021", top_box, [
        ("knife_crime", "Knife crime", 650, 1000),
        ("asb", "Anti-social behaviour", 700, 1000),
        ("youth_violence", "Youth violence involving under-25s", 540, 900),
        ("nuisance_bikes", "Nuisance bikes", 500, 1000),
        ("public_violence", "Public place violence", 468, 900),
    ])


def concerns_2023(top_box: tuple[str, ...] = SCALE_VERY_OR_FAIRLY) -> WaveCounts:
    # 670/1000 and 603/900 are both exactly 67%; 570/1000 and 513/900 both 57%.
    return concerns("2023", top_box, [
        ("knife_crime", "Knife crime", 700, 1000),
        ("asb", "Anti-social behaviour", 670, 1000),
        ("youth_violence", "Youth violence involving under-25s", 603, 900),
        ("nuisance_bikes", "Nuisance bikes", 570, 1000),
        ("public_violence", "Public place violence", 513, 900),
    ])


def feel_safer(wave_label: str, police: int, cctv: int) -> WaveCounts:
    """Asked the same way in both waves (choose any number, of respondents who answered)."""
    return wave(wave_label, "multi", None, [
        ("police_presence", "Increased police presence", police, 1000),
        ("cctv", "More CCTV", cctv, 1000),
    ], text="What would make you feel safer?")

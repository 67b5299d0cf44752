"""Comparisons in every format an analyst hands on: text, CSV, JSON, Markdown, HTML, XLSX, PNG and SVG.

The report layouts (text, Markdown, HTML, XLSX) look like the tables councils
print: for each wave a ranked column of label and percent, the base and the
question format under each column, then notes saying which changes were tested
and why the others cannot be. Every function takes a list of comparisons (one
per breakdown group, or just one) and a title.
"""

from __future__ import annotations

import csv
import io
import json
import math
import textwrap
from html import escape

from .compare import SUPPRESSED, Comparison, WaveTable, choices_wording, comparison_to_dict, top_box_wording
from .errors import AnalysisError
from .spreadsheet import neutralise_formula

CSV_COLUMNS = ["group", "wave", "rank", "code", "label", "count", "base", "percent", "ci_low", "ci_high", "tied"]
#: How the wave asked the question, on every line, so a line read alone says what its percent is of.
CSV_WAVE_COLUMNS = ["question_type", "max_choices", "base_rule"]
CHANGE_SHEET_COLUMNS = ["group", "code", "label", "from_wave", "to_wave", "comparable", "reason", "change_pp", "p_value", "significant"]
BAR_COLOUR = "#1d4f91"
PERCENT_FORMAT = '0.0"%"'  # a percent already in points (10.7), shown as 10.7%


def _percent(value) -> str:
    return SUPPRESSED if value == SUPPRESSED else f"{value:.1f}%"


def _rank(row: dict) -> str:
    """'4=' for a shared rank, as printed reports do; nothing for a suppressed row (it is not ranked)."""
    if _missing(row["rank"]):
        return ""
    return f"{row['rank']}=" if row["tied"] else str(row["rank"])


def _heading(comparison: Comparison, title: str) -> str:
    return f"{title} — {comparison.group[1]}" if comparison.group else title


def column_title(comparison: Comparison, table: WaveTable) -> str:
    return f"Respondents' top {comparison.top}, {table.wave}"


def base_line(table: WaveTable) -> str:
    """What the percentages are of, so different bases side by side are never mistaken for each other."""
    if table.suppressed:
        return f"Base: {SUPPRESSED}"
    bases = sorted({int(base) for base in table.all_rows["base"] if base != SUPPRESSED}) or [table.respondents]
    shown = f"{bases[0]:,}" if len(bases) == 1 else f"{bases[0]:,}–{bases[-1]:,}"
    if table.base_rule == "all":
        return f"Base: all respondents ({shown})"
    if table.base_rule == "mentions":
        return f"Base: all mentions ({shown})"
    if len(bases) > 1:
        return f"Base: respondents who rated each item ({shown})"
    return f"Base: {shown} respondents who answered"


def format_line(table: WaveTable) -> str:
    """'Single choice', 'Choose up to five', 'Choose any number', 'Matrix: very or fairly concerned'."""
    if table.question_type == "matrix":
        return f"Matrix: {top_box_wording(table)}"
    if table.question_type == "single":
        return "Single choice"
    wording = choices_wording(table)
    return {"one answer": "Choose one", "any number of answers": "Choose any number"}.get(wording, f"Choose {wording}")


def _grid(comparison: Comparison, percent=_percent) -> tuple[list[str], list[list], list[list[str]]]:
    """Header, ranked body lines and footer lines (base, format) of the side-by-side table; three cells per wave.

    ``percent`` shapes the percent cells: text ('10.7%') by default, numbers for a spreadsheet.
    """
    header = [cell for table in comparison.waves for cell in ("Rank", column_title(comparison, table), "%")]
    columns = [table.rows.to_dict("records") for table in comparison.waves]
    body = []
    for index in range(max((len(rows) for rows in columns), default=0)):
        line = []
        for rows in columns:
            line += [_rank(rows[index]), str(rows[index]["label"]), percent(rows[index]["percent"])] if index < len(rows) else ["", "", ""]
        body.append(line)
    footer = [
        [cell for table in comparison.waves for cell in ("", base_line(table), "")],
        [cell for table in comparison.waves for cell in ("", format_line(table), "")],
    ]
    return header, body, footer


def notes(comparison: Comparison) -> list[str]:
    """Every change that is not comparable with its reason, then the tested changes of the shown options."""
    shown = {code for table in comparison.waves for code in table.rows["code"]}
    changes = comparison.changes.to_dict("records")
    lines = [f"{wave}: {why}, so it is left out." for wave, why in comparison.skipped_waves]
    for change in changes:
        if not change["comparable"]:
            lines.append(f"{_where(change)}: not comparable — {change['reason']}")
    for change in changes:
        if change["comparable"] and change["code"] in shown:
            lines.append(f"{_where(change)}: {_tested(change)}")
    for table in comparison.waves:
        for row in table.rows.to_dict("records"):
            if len(row["wave_codes"]) > 1:
                lines.append(f"{table.wave}: “{row['label']}” adds up {', '.join(row['wave_codes'])}, which a later wave asks as one"
                             " (each respondent counted once).")
        if table.tie_at_cutoff:
            lines.append(f"{table.wave}: a tie at the cut-off, so more than {comparison.top} rows are shown.")
        if table.suppressed:
            lines.append(f"{table.wave}: fewer than {comparison.suppressed_threshold} respondents in this group, so nothing is shown.")
    if comparison.suppressed_threshold:
        lines.append(
            f"[c]: fewer than {comparison.suppressed_threshold} respondents, not shown so that nobody can be identified;"
            " such rows are not ranked and follow the ranked ones in alphabetical order."
        )
    return lines


def _where(change: dict) -> str:
    return f"{change['label']}, {change['from_wave']} → {change['to_wave']}"


def _tested(change: dict) -> str:
    if _missing(change["change_pp"]):
        return str(change["reason"])  # comparable, but suppressed
    if _missing(change["p_value"]):
        return f"{change['change_pp']:+.1f} points (not testable)"
    verdict = "significant at 95%" if change["significant"] else "not significant"
    return f"{change['change_pp']:+.1f} points ({verdict})"


def _missing(value) -> bool:
    """None, or a NaN that a DataFrame made of it."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def to_text_table(comparisons: list[Comparison], title: str) -> str:
    """Aligned columns for a terminal."""
    blocks = []
    for comparison in comparisons:
        header, body, footer = _grid(comparison)
        lines = [header, *body, *footer]
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        rule = "  ".join("-" * width for width in widths)
        text = [_heading(comparison, title), ""]
        for number, line in enumerate(lines):
            text.append("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip())
            if number in (0, len(body)):
                text.append(rule)
        text += _after_table(notes(comparison))
        blocks.append("\n".join(text))
    return "\n\n".join(blocks) + "\n"


def _after_table(lines: list[str]) -> list[str]:
    """Notes follow the table after a blank line; no notes, no blank line."""
    return ["", *lines] if lines else []


def _markdown_cell(text: str) -> str:
    """A label's HTML is shown as text in a Markdown viewer, never rendered."""
    return escape(text, quote=False).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def to_markdown(comparisons: list[Comparison], title: str) -> str:
    """A Markdown table per group, notes as a list."""
    def line(cells):
        return "| " + " | ".join(_markdown_cell(cell) for cell in cells) + " |"

    blocks = []
    for comparison in comparisons:
        header, body, footer = _grid(comparison)
        text = [f"### {_markdown_cell(_heading(comparison, title))}", "", line(header), line(["---"] * len(header))]
        text += [line(cells) for cells in body + footer]
        text += _after_table([f"- {_markdown_cell(note)}" for note in notes(comparison)])
        blocks.append("\n".join(text))
    return "\n\n".join(blocks) + "\n"


def to_html(comparisons: list[Comparison], title: str) -> str:
    """An accessible HTML fragment, a <section> per group: caption, headers, every value escaped."""
    return "\n".join(_html_section(comparison, title, f"comparison-{number}") for number, comparison in enumerate(comparisons, start=1)) + "\n"


def _html_section(comparison: Comparison, title: str, prefix: str) -> str:
    """Each rank and percent names its headers (`headers`): its column's and its own wave's label.

    Scopes cannot say it: a row holds one label per wave, and a scoped row header would
    describe every cell to its right, the other waves' figures included.
    """
    header, body, footer = _grid(comparison)
    parts = ['<section class="comparison">', "<table>", f"<caption>{escape(_heading(comparison, title))}</caption>"]
    parts.append("<thead><tr>" + "".join(f'<th scope="col" id="{prefix}-c{i}">{escape(cell)}</th>' for i, cell in enumerate(header)) + "</tr></thead>")
    parts.append("<tbody>")
    for r, line in enumerate(body):
        cells = []
        for i, cell in enumerate(line):
            label = i - i % 3 + 1  # the label's column in this wave's three
            if not line[label]:
                cells.append(f"<td>{escape(cell)}</td>")  # this wave has no row here
            elif i == label:
                cells.append(f'<th id="{prefix}-r{r}-c{i}" headers="{prefix}-c{i}">{escape(cell)}</th>')
            else:
                cells.append(f'<td headers="{prefix}-c{i} {prefix}-r{r}-c{label}">{escape(cell)}</td>')
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</tbody>")
    parts.append("<tfoot>" + "".join("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in line) + "</tr>" for line in footer) + "</tfoot>")
    parts.append("</table>")
    listed = notes(comparison)
    if listed:
        parts.append('<ul class="comparison-notes">' + "".join(f"<li>{escape(note)}</li>" for note in listed) + "</ul>")
    parts.append("</section>")
    return "\n".join(parts)


def to_csv(comparisons: list[Comparison], title: str) -> str:
    """Long format, one line per wave and ranked row; text a spreadsheet would run is neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS + CSV_WAVE_COLUMNS)
    for comparison in comparisons:
        group = comparison.group[1] if comparison.group else ""
        for table in comparison.waves:
            asked = [table.question_type, table.max_choices, table.base_rule]
            for row in table.rows.to_dict("records"):
                values = [group, table.wave, *(row[column] for column in CSV_COLUMNS[2:]), *asked]
                writer.writerow([neutralise_formula(value) for value in values])
    return out.getvalue()


def to_json(comparisons: list[Comparison], title: str) -> str:
    """The JSON contract: one object for the whole sample, a list of them for a breakdown."""
    data = [comparison_to_dict(comparison) for comparison in comparisons]
    payload = data[0] if len(comparisons) == 1 and comparisons[0].group is None else data
    return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"


def to_xlsx(comparisons: list[Comparison], title: str) -> bytes:
    """A report sheet per group (the council layout) and a 'Changes' sheet where numbers stay numbers.

    The report's percents are numbers shown as '10.7%' (the value is 10.7, as in the CSV and JSON),
    so an analyst can chart or sum them without converting text first.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    workbook.remove(workbook.active)
    for number, comparison in enumerate(comparisons, start=1):
        sheet = workbook.create_sheet(_sheet_name(comparison, number, workbook.sheetnames))
        header, body, footer = _grid(comparison, percent=lambda value: value)
        sheet.append([neutralise_formula(_heading(comparison, title))])
        sheet.append([])
        sheet.append([neutralise_formula(cell) for cell in header])
        for line in body + footer:
            sheet.append([neutralise_formula(cell) for cell in line])
        sheet.append([])
        for note in notes(comparison):
            sheet.append([neutralise_formula(note)])
        for cell in (sheet["A1"], *sheet[3]):
            cell.font = Font(bold=True)
        for row in sheet.iter_rows(min_row=4, max_row=3 + len(body)):
            for cell in row:
                if cell.data_type == "n":
                    cell.number_format = PERCENT_FORMAT
        for index in range(len(header)):
            sheet.column_dimensions[sheet.cell(3, index + 1).column_letter].width = 36 if index % 3 == 1 else 7
    changes = workbook.create_sheet("Changes")
    changes.append(CHANGE_SHEET_COLUMNS)
    for comparison in comparisons:
        group = comparison.group[1] if comparison.group else ""
        for change in comparison.changes.to_dict("records"):
            changes.append([neutralise_formula(value) for value in [group, *(change[c] for c in CHANGE_SHEET_COLUMNS[1:])]])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _sheet_name(comparison: Comparison, number: int, taken: list[str]) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\, unique, no leading or trailing apostrophe."""
    name = comparison.group[1] if comparison.group else "Report"
    cleaned = "".join("_" if ch in "[]:*?/\\" else ch for ch in name).strip("'")[:28] or "Sheet"
    return cleaned if cleaned not in taken and cleaned != "Changes" else f"{cleaned[:24]} ({number})"


def _figure(comparisons: list[Comparison], title: str):
    """Horizontal bars of the top N: a row of panels per group, a panel per wave, one shared scale."""
    from matplotlib.figure import Figure

    if not comparisons:
        raise AnalysisError("there is nothing to chart: no comparison was given")
    columns = max(len(comparison.waves) for comparison in comparisons)
    depth = max((len(_charted(table)) for comparison in comparisons for table in comparison.waves), default=1)
    figure = Figure(figsize=(5.6 * columns, (0.42 * max(depth, 1) + 1.5) * len(comparisons) + 0.6), layout="constrained")
    axes = figure.subplots(len(comparisons), columns, squeeze=False)
    # One scale for every panel, so bars of different waves are not visually exaggerated.
    widest = max([10.0] + [float(row["percent"]) for c in comparisons for t in c.waves for row in _charted(t)])
    for comparison, row_axes in zip(comparisons, axes):
        for axis, table in zip(row_axes, comparison.waves):
            _panel(axis, comparison, table, widest)
        for axis in row_axes[len(comparison.waves):]:
            axis.set_axis_off()
    figure.suptitle(title, fontsize=12)
    return figure


def _panel(axis, comparison: Comparison, table: WaveTable, widest: float) -> None:
    rows = _charted(table)[::-1]  # barh draws from the bottom up
    labels = [textwrap.fill(f"{_rank(row)} {row['label']}", 30) for row in rows]
    values = [float(row["percent"]) for row in rows]
    bars = axis.barh(range(len(rows)), values, color=BAR_COLOUR)
    axis.set_yticks(range(len(rows)), labels, fontsize=9)
    for bar, row in zip(bars, rows):
        axis.text(bar.get_width() + widest * 0.01, bar.get_y() + bar.get_height() / 2, _percent(row["percent"]), va="center", fontsize=9)
    group = f"{comparison.group[1]}: " if comparison.group else ""
    axis.set_title(f"{group}{column_title(comparison, table)}\n{format_line(table)}\n{base_line(table)}", fontsize=9)
    axis.set_xlim(0, widest * 1.2)
    axis.set_xlabel("%")


def _charted(table: WaveTable) -> list[dict]:
    """The ranked rows: a suppressed row has no bar (a bar of zero would say nobody chose it)."""
    return [row for row in table.rows.to_dict("records") if row["percent"] != SUPPRESSED]


def chart_png(comparisons: list[Comparison], title: str) -> bytes:
    out = io.BytesIO()
    _figure(comparisons, title).savefig(out, format="png", dpi=110)
    return out.getvalue()


def chart_svg(comparisons: list[Comparison], title: str) -> str:
    """SVG with real <text> elements, so labels can be searched, read aloud and translated."""
    from matplotlib import rc_context

    out = io.StringIO()
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "safer-voices"}):
        _figure(comparisons, title).savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()

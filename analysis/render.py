"""Comparisons in every format an analyst hands on: text, CSV, JSON, Markdown, HTML, XLSX, PNG and SVG.

The report layouts (text, Markdown, HTML, XLSX) look like the tables councils
print: one column per wave of ranked label and percent, the base and question
format under each column, and notes for changes that are not comparable.
Each function takes a list of comparisons (one per breakdown group) and a title.
"""

from __future__ import annotations

import csv
import io
import json
from html import escape

from .compare import SUPPRESSED, Comparison, WaveTable, choices_wording, comparison_to_dict
from .spreadsheet import neutralise_formula

_BASE_TEXT = {
    "answered": "respondents who answered",
    "all": "all respondents",
    "mentions": "mentions",
}


def _percent(value) -> str:
    return SUPPRESSED if value == SUPPRESSED else f"{value:.1f}%"


def _rank(row) -> str:
    return f"{row['rank']}=" if row["tied"] else str(row["rank"])


def _base_line(table: WaveTable) -> str:
    if table.question_type == "matrix":
        return f"Base: {table.respondents:,} respondents (each item: those who rated it)" if table.base_rule == "answered" else "Base: all respondents"
    base = table.rows["base"].iloc[0] if len(table.rows) else 0
    shown = base if isinstance(base, str) else f"{int(base):,}"
    return f"Base: {shown} {_BASE_TEXT[table.base_rule]}"


def _format_line(table: WaveTable) -> str:
    if table.question_type == "matrix":
        return f"Format: matrix, share answering {' or '.join(table.top_box)}"
    if table.question_type == "single":
        return "Format: single choice"
    return f"Format: choose {choices_wording(table)}"


def _heading(comparison: Comparison, title: str) -> str:
    return f"{title} — {comparison.group[1]}" if comparison.group else title


def _grid(comparison: Comparison) -> tuple[list[str], list[list[str]], list[list[str]]]:
    """Header, ranked body rows and footer rows (base, format) of the side-by-side table."""
    header = []
    for table in comparison.waves:
        header += ["Rank", f"Top {comparison.top}, {table.wave}", "%"]
    depth = max((len(table.rows) for table in comparison.waves), default=0)
    body = []
    for index in range(depth):
        line = []
        for table in comparison.waves:
            if index < len(table.rows):
                row = table.rows.iloc[index]
                line += [_rank(row), str(row["label"]), _percent(row["percent"])]
            else:
                line += ["", "", ""]
        body.append(line)
    footer = [
        sum(([ "", _base_line(table), ""] for table in comparison.waves), []),
        sum(([ "", _format_line(table), ""] for table in comparison.waves), []),
    ]
    return header, body, footer


def notes(comparison: Comparison) -> list[str]:
    """A line per change of a shown option: tested where comparable, the reason where not."""
    shown = {code for table in comparison.waves for code in table.rows["code"]}
    lines = []
    for change in comparison.changes.to_dict("records"):
        if change["code"] not in shown:
            continue
        where = f"{change['label']}, {change['from_wave']} → {change['to_wave']}"
        if change["change_pp"] is not None and change["comparable"]:
            if change["p_value"] is None:
                lines.append(f"{where}: {change['change_pp']:+.1f} points (not testable)")
            else:
                verdict = "significant at 95%" if change["significant"] else "not significant"
                lines.append(f"{where}: {change['change_pp']:+.1f} points (p = {change['p_value']:.4f}, {verdict})")
        elif str(change["reason"]).startswith("suppressed"):
            lines.append(f"{where}: {change['reason']}")
        else:
            lines.append(f"{where}: not comparable — {change['reason']}")
    for table in comparison.waves:
        if table.tie_at_cutoff:
            lines.append(f"{table.wave}: a tie at the cut-off, so more than {comparison.top} rows are shown.")
    if comparison.suppressed_threshold:
        lines.append(f"[c]: fewer than {comparison.suppressed_threshold} respondents, not shown so that nobody can be identified.")
    return lines


def to_text_table(comparisons: list[Comparison], title: str) -> str:
    blocks = []
    for comparison in comparisons:
        header, body, footer = _grid(comparison)
        lines = [header, *body, *footer]
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        text = [_heading(comparison, title), ""]
        for number, line in enumerate(lines):
            text.append("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip())
            if number == 0 or number == len(body):
                text.append("  ".join("-" * width for width in widths))
        text += [""] + notes(comparison)
        blocks.append("\n".join(text))
    return "\n\n".join(blocks) + "\n"


def to_markdown(comparisons: list[Comparison], title: str) -> str:
    def cells(line):
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in line) + " |"

    blocks = []
    for comparison in comparisons:
        header, body, footer = _grid(comparison)
        text = [f"### {_heading(comparison, title)}", "", cells(header), cells(["---"] * len(header))]
        text += [cells(line) for line in body + footer]
        text += [""] + [f"- {note}" for note in notes(comparison)]
        blocks.append("\n".join(text))
    return "\n\n".join(blocks) + "\n"


def to_html(comparisons: list[Comparison], title: str) -> str:
    """An accessible HTML fragment: caption, scoped headers, every value escaped."""
    sections = []
    for comparison in comparisons:
        header, body, footer = _grid(comparison)
        parts = [f'<section class="comparison">', "<table>", f"<caption>{escape(_heading(comparison, title))}</caption>"]
        parts.append("<thead><tr>" + "".join(f'<th scope="col">{escape(cell)}</th>' for cell in header) + "</tr></thead>")
        parts.append("<tbody>")
        for line in body:
            cells = []
            for position, cell in enumerate(line):
                if position % 3 == 1 and cell:
                    cells.append(f'<th scope="row">{escape(cell)}</th>')
                else:
                    cells.append(f"<td>{escape(cell)}</td>")
            parts.append("<tr>" + "".join(cells) + "</tr>")
        parts.append("</tbody><tfoot>")
        for line in footer:
            parts.append("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in line) + "</tr>")
        parts.append("</tfoot></table>")
        listed = notes(comparison)
        if listed:
            parts.append("<ul class=\"comparison-notes\">" + "".join(f"<li>{escape(note)}</li>" for note in listed) + "</ul>")
        parts.append("</section>")
        sections.append("\n".join(parts))
    return "\n".join(sections) + "\n"


CSV_COLUMNS = ["group", "wave", "rank", "code", "label", "count", "base", "percent", "ci_low", "ci_high", "tied"]


def to_csv(comparisons: list[Comparison], title: str) -> str:
    """Long format: one line per wave and ranked row; risky text cells neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for comparison in comparisons:
        group = comparison.group[1] if comparison.group else ""
        for table in comparison.waves:
            for row in table.rows.to_dict("records"):
                values = [group, table.wave, row["rank"], row["code"], row["label"], row["count"], row["base"],
                          row["percent"], row["ci_low"], row["ci_high"], row["tied"]]
                writer.writerow([neutralise_formula(value) for value in values])
    return out.getvalue()


def to_json(comparisons: list[Comparison], title: str) -> str:
    data = [comparison_to_dict(comparison) for comparison in comparisons]
    payload = data[0] if len(data) == 1 and comparisons[0].group is None else data
    return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"


def to_xlsx(comparisons: list[Comparison], title: str) -> bytes:
    """A report sheet per group (the council layout) and a 'Changes' sheet; numbers stay numbers."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    workbook.remove(workbook.active)
    for number, comparison in enumerate(comparisons, start=1):
        name = (comparison.group[1] if comparison.group else "Report")[:28]
        sheet = workbook.create_sheet(_sheet_name(name, number, workbook.sheetnames))
        header, body, footer = _grid(comparison)
        sheet.append([neutralise_formula(_heading(comparison, title))])
        sheet["A1"].font = Font(bold=True)
        sheet.append([])
        sheet.append(header)
        for cell in sheet[3]:
            cell.font = Font(bold=True)
        for line in body + footer:
            sheet.append([neutralise_formula(cell) for cell in line])
        sheet.append([])
        for note in notes(comparison):
            sheet.append([neutralise_formula(note)])
    changes = workbook.create_sheet("Changes")
    changes.append(["group", "code", "label", "from_wave", "to_wave", "comparable", "reason", "change_pp", "p_value", "significant"])
    for comparison in comparisons:
        group = comparison.group[1] if comparison.group else ""
        for change in comparison.changes.to_dict("records"):
            changes.append([neutralise_formula(value) for value in [group, change["code"], change["label"], change["from_wave"],
                            change["to_wave"], change["comparable"], change["reason"], change["change_pp"],
                            change["p_value"], change["significant"]]])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _sheet_name(name: str, number: int, taken: list[str]) -> str:
    cleaned = "".join("_" if ch in '[]:*?/\\' else ch for ch in name) or "Sheet"
    return cleaned if cleaned not in taken else f"{cleaned[:25]} {number}"


def _figure(comparisons: list[Comparison], title: str):
    """Horizontal bars of the top N, one panel per wave, for the first comparison (or group)."""
    from matplotlib.figure import Figure

    comparison = comparisons[0]
    waves = comparison.waves
    figure = Figure(figsize=(4.2 * max(1, len(waves)), 0.45 * max((len(t.rows) for t in waves), default=1) + 1.6))
    axes = figure.subplots(1, max(1, len(waves)), squeeze=False)[0]
    # One scale for every panel, so bars of different waves are not visually exaggerated.
    widest = max([10.0] + [float(v) for t in waves for v in t.rows["percent"] if v != SUPPRESSED])
    for axis, table in zip(axes, waves):
        labels = [str(label) for label in table.rows["label"]][::-1]
        values = [0.0 if value == SUPPRESSED else float(value) for value in table.rows["percent"]][::-1]
        bars = axis.barh(labels, values, color="#1d4f91")
        for bar, value, shown in zip(bars, values, list(table.rows["percent"])[::-1]):
            axis.text(bar.get_width() + 1, bar.get_y() + bar.get_height() / 2, _percent(shown), va="center", fontsize=9)
        axis.set_title(f"{table.wave} ({_format_line(table).removeprefix('Format: ')})", fontsize=10)
        axis.set_xlim(0, widest * 1.25)
        axis.set_xlabel("%")
        axis.tick_params(axis="y", labelsize=9)
    figure.suptitle(_heading(comparison, title), fontsize=11)
    figure.tight_layout()
    return figure


def chart_png(comparisons: list[Comparison], title: str) -> bytes:
    out = io.BytesIO()
    _figure(comparisons, title).savefig(out, format="png", dpi=110)
    return out.getvalue()


def chart_svg(comparisons: list[Comparison], title: str) -> str:
    out = io.StringIO()
    _figure(comparisons, title).savefig(out, format="svg")
    return out.getvalue()

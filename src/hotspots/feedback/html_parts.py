"""The pieces the effectiveness report's page is made of: tables, inline PNG plots, links to
the CSVs beside it, escaped text (shared by ``feedback.report`` and its monitor section)."""

from __future__ import annotations

import base64
import html
import io
from urllib.parse import quote

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def table_html(frame: pd.DataFrame) -> str:
    """``frame`` as an HTML table (no index), values as ``cell_text`` writes them."""
    head = "".join(f"<th>{esc(c)}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(cell_text(v))}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def cell_text(value: object) -> str:
    """A table cell: dates without midnight, 3 significant digits, empty for NaN."""
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d") if value == value.normalize() else str(value)
    if isinstance(value, float):
        return "" if value != value else f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def data_link(name: str, what: str = "the data behind this table") -> str:
    """A note linking a CSV written beside the page (a relative link)."""
    return f'<p class="data"><a href="{esc(quote(name))}">{esc(name)}</a>: {esc(what)}</p>'


def figure_png(fig: Figure) -> bytes:
    """A matplotlib figure as PNG bytes (the Agg canvas, no pyplot)."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return buf.getvalue()


def img_html(png: bytes, alt: str) -> str:
    """PNG bytes as an inline image (the page stays one self-contained file)."""
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{data}">'


def esc(text: object) -> str:
    """HTML-escaped text (quotes too: it goes into attributes)."""
    return html.escape(str(text), quote=True)

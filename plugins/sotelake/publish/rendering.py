"""Rendering of the static HTML reports (Jinja2 templates beside this module)."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from sotelake.publish.formatting import number

TEMPLATES = Path(__file__).parent / "templates"
_environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


_environment.filters["number"] = number


def render(template: str, path: Path, **context) -> Path:
    """Render ``template`` to ``path`` (written whole, then moved into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(_environment.get_template(template).render(**context), encoding="utf-8")
    tmp.replace(path)
    return path

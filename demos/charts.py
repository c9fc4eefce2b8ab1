"""Small charts drawn as SVG on the server, for the optimisation lab.

Why not Gradio's own plots: in Gradio 6.31 a plot fixes its colour legend when first drawn, and a later value
with other names (another run, other techniques) leaves their points undrawn or the old legend in place.
An SVG made per answer is the same on every run, scales with the page (a phone too), takes the page's text
colour in dark mode, and its text is drawn by the browser in the page's fonts (Chinese included).
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass

WIDTH, HEIGHT = 480, 300
# Room for the axes' numbers and titles at the largest text CSS gives them (22 units, a chart under 300 px wide).
LEFT, RIGHT, TOP, BOTTOM = 68, 30, 14, 54


@dataclass(frozen=True)
class Series:
    name: str
    colour: str
    points: tuple[tuple[float, float], ...]


def nice_ticks(high: float, count: int = 5) -> list[float]:
    """Round ticks from 0 to at least `high` (steps of 1, 2 or 5 times a power of ten)."""
    if high <= 0 or not math.isfinite(high):
        high = 1.0
    rough = high / count
    power = 10 ** math.floor(math.log10(rough))
    step = next(power * m for m in (1, 2, 5, 10) if power * m >= rough)
    return [round(step * i, 10) for i in range(math.ceil(high / step - 1e-9) + 1)]


def _number(value: float) -> str:
    return f"{value:g}"


def chart(series: list[Series], x_title: str, y_title: str, lines: bool, x_high: float | None = None) -> str:
    """HTML: an SVG chart of `series` (points, or lines through them) with y from 0 to 100 and x from 0, and
    its legend below as text that wraps; empty when there is nothing to draw."""
    if not any(s.points for s in series):
        return ""
    x_ticks = nice_ticks(x_high if x_high is not None else max(x for s in series for x, _ in s.points))
    y_ticks = [0, 20, 40, 60, 80, 100]
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def at(x: float, y: float) -> tuple[float, float]:
        return (LEFT + plot_width * x / x_ticks[-1], TOP + plot_height * (1 - y / y_ticks[-1]))

    parts = []
    for tick in x_ticks:
        x, _ = at(tick, 0)
        parts.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{TOP + plot_height}" class="grid"/>'
                     f'<text x="{x:.1f}" y="{TOP + plot_height + 5}" text-anchor="middle" dominant-baseline="hanging">'
                     f'{_number(tick)}</text>')
    for tick in y_ticks:
        _, y = at(0, tick)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_width}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{LEFT - 6}" y="{y:.1f}" text-anchor="end" dominant-baseline="central">{tick}</text>')
    parts.append(f'<text x="{LEFT + plot_width / 2}" y="{HEIGHT - 6}" text-anchor="middle">{html.escape(x_title)}'
                 f'</text><text transform="translate(4 {TOP + plot_height / 2}) rotate(-90)" text-anchor="middle" '
                 f'dominant-baseline="hanging">'
                 f'{html.escape(y_title)}</text>')
    for s in series:
        name = html.escape(s.name)
        placed = [at(x, y) for x, y in s.points]
        if lines and len(placed) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in placed)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{s.colour}" stroke-width="2"/>')
        for (x, y), (px, py) in zip(s.points, placed):
            parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="{3 if lines else 5}" fill="{s.colour}" '
                         f'class="point"><title>{name}: {_number(x)}, {_number(y)}</title></circle>')
    legend = "".join(f'<span><i style="background:{s.colour}"></i>{html.escape(s.name)}</span>' for s in series)
    return (f'<figure class="lab-chart"><svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
            f'aria-label="{html.escape(y_title)} / {html.escape(x_title)}">{"".join(parts)}</svg>'
            f'<figcaption>{legend}</figcaption></figure>')


# The SVG scales with its box, its text too: a narrower chart gets larger text (in the SVG's units), so that its
# numbers stay 11 px or more on screen down to a chart 240 px wide (a phone's is about 300).
CSS = """
.lab-chart { margin: 0; padding-top: 24px; container-type: inline-size; }  /* below the component's label */
.lab-chart svg { width: 100%; height: auto; font-size: 13px; fill: currentColor; }
@container (max-width: 440px) { .lab-chart svg { font-size: 16px; } }
@container (max-width: 360px) { .lab-chart svg { font-size: 19px; } }
@container (max-width: 300px) { .lab-chart svg { font-size: 22px; } }
.lab-chart .grid { stroke: currentColor; stroke-opacity: 0.15; }
.lab-chart figcaption { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 12px; }
.lab-chart figcaption i { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 5px; }
"""

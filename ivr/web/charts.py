"""Small server-rendered SVG charts (no JS, no external assets): columns, horizontal bars,
a 0..1 line with a threshold (emotion timeline) and a mirrored waveform."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

ACCENT = "#2563eb"
WARN = "#dc2626"
MUTED = "#94a3b8"


def _svg(width: int, height: int, body: str, title: str) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" role="img" '
        f'aria-label="{escape(title)}" preserveAspectRatio="xMidYMid meet"><title>{escape(title)}</title>{body}</svg>'
    )


def columns(items: Sequence[tuple[str, float]], title: str, width: int = 720, height: int = 220) -> Markup:
    """Vertical bars, one per (label, value); labels thinned out so they never overlap."""
    if not items:
        return Markup('<p class="empty">暂无数据</p>')
    top, bottom, left = 16, 28, 36
    plot_h = height - top - bottom
    vmax = max(v for _, v in items) or 1
    step = (width - left) / len(items)
    every = max(1, int(len(items) / 12 + 0.999))
    parts = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width}" y2="{top + plot_h}" stroke="{MUTED}"/>',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" class="axis">{vmax:g}</text>',
    ]
    for i, (lab, v) in enumerate(items):
        h = plot_h * v / vmax
        x = left + i * step
        parts.append(
            f'<rect x="{x + step * 0.15:.1f}" y="{top + plot_h - h:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" '
            f'fill="{ACCENT}"><title>{escape(lab)}: {v:g}</title></rect>'
        )
        if i % every == 0:
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{height - 8}" text-anchor="middle" class="axis">{escape(lab)}</text>'
            )
    return _svg(width, height, "".join(parts), title)


def bars(
    items: Sequence[tuple[str, float]], title: str, width: int = 720, unit: str = "", color: str = ACCENT
) -> Markup:
    """Horizontal bars with the value written after each bar (reasons, funnel steps)."""
    if not items:
        return Markup('<p class="empty">暂无数据</p>')
    row, label_w = 30, 140
    height = row * len(items) + 8
    vmax = max(v for _, v in items) or 1
    plot_w = width - label_w - 80
    parts = []
    for i, (lab, v) in enumerate(items):
        y = 4 + i * row
        w = plot_w * v / vmax
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 19}" text-anchor="end" class="label">{escape(lab)}</text>'
            f'<rect x="{label_w}" y="{y + 5}" width="{w:.1f}" height="{row - 10}" rx="3" fill="{color}"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 19}" class="value">{v:g}{escape(unit)}</text>'
        )
    return _svg(width, height, "".join(parts), title)


def timeline(
    points: Sequence[tuple[str, float]],
    title: str,
    threshold: float | None = None,
    marked: int | None = None,
    width: int = 720,
    height: int = 180,
) -> Markup:
    """A 0..1 line over turns; points above `threshold` drawn in red; point `marked` (the
    escalation's trigger turn) gets a labelled vertical rule."""
    if not points:
        return Markup('<p class="empty">暂无情绪数据</p>')
    top, bottom, left, right = 12, 26, 36, 16
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(1, len(points) - 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return left + (i * step if len(points) > 1 else plot_w / 2), top + plot_h * (1 - max(0.0, min(1.0, v)))

    parts = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="{MUTED}"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" class="axis">1.0</text>',
        f'<text x="{left - 6}" y="{top + plot_h + 4}" text-anchor="end" class="axis">0</text>',
    ]
    if threshold is not None:
        _, ty = xy(0, threshold)
        parts.append(
            f'<line x1="{left}" y1="{ty:.1f}" x2="{width - right}" y2="{ty:.1f}" stroke="{WARN}" stroke-dasharray="4 4" opacity=".6"/>'
        )
    coords = [xy(i, v) for i, (_, v) in enumerate(points)]
    if marked is not None and 0 <= marked < len(coords):
        mx = coords[marked][0]
        parts.append(
            f'<line x1="{mx:.1f}" y1="{top}" x2="{mx:.1f}" y2="{top + plot_h}" stroke="{WARN}" stroke-width="1.5"/>'
            f'<text x="{mx - 4:.1f}" y="{top + 10}" text-anchor="end" class="axis marker">转人工</text>'
        )
    parts.append(
        f'<polyline fill="none" stroke="{ACCENT}" stroke-width="2" points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in coords)}"/>'
    )
    for (lab, v), (x, y) in zip(points, coords):
        color = WARN if threshold is not None and v >= threshold else ACCENT
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{color}"><title>{escape(lab)}: {v:.2f}</title></circle>'
            f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle" class="axis">{escape(lab)}</text>'
        )
    return _svg(width, height, "".join(parts), title)


def waveform(peaks: Sequence[float], width: int = 800, height: int = 80) -> Markup:
    """Mirrored amplitude bars, one per peak; the page overlays the playhead."""
    if not peaks:
        return Markup("")
    mid = height / 2
    step = width / len(peaks)
    scale = 1.0 / max(max(peaks), 1e-3)  # quiet telephone audio still fills the box
    peaks = [p * scale for p in peaks]
    d = "".join(
        f"M{i * step:.1f} {mid - max(0.5, p * mid):.1f}V{mid + max(0.5, p * mid):.1f}" for i, p in enumerate(peaks)
    )
    body = f'<path d="{d}" stroke="{MUTED}" stroke-width="{max(1.0, step * 0.7):.2f}"/>'
    return Markup(
        f'<svg class="wave" viewBox="0 0 {width} {height}" width="100%" height="{height}" preserveAspectRatio="none" '
        f'aria-hidden="true">{body}</svg>'
    )

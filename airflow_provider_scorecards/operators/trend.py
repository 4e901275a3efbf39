"""The trend picture: how the lowest teams' scores moved over the last snapshots, as a PNG.

:func:`lowest_team_trend` turns the snapshot history
(:func:`airflow_provider_scorecards.operators.snapshots.snapshot_history`) into one series per team lowest in
the latest snapshot, with the mean of every team as a reference line; :func:`render_trend_png` draws it.
matplotlib is the optional ``[plot]`` extra, imported only to draw (else :class:`PlotExtraMissing` says how
to install it), on a ``Figure`` with the Agg canvas: no ``pyplot``, nothing global left in a worker.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from airflow_provider_scorecards.client.errors import render_id
from airflow_provider_scorecards.client.pages import Record, nothing_evaluated

PLOT_EXTRA = "pip install 'airflow-provider-scorecards[plot]'"
MAX_EXPLICIT_TICKS = 12
"""Up to this many snapshots, every snapshot date is a labelled tick; beyond, matplotlib picks them."""


class PlotExtraMissing(ImportError):
    """matplotlib is not installed; the message says how to install the extra."""

    def __init__(self) -> None:
        super().__init__(f"the trend picture needs matplotlib, which is not installed: {PLOT_EXTRA}")


@dataclass(frozen=True)
class TeamTrend:
    """One series per team over the snapshot dates (None where a team was absent or had no data)."""

    dates: list[date]
    teams: dict[str, list[float | None]]
    """The lowest teams of the latest snapshot, lowest first."""
    mean: list[float | None]
    """The mean score of every team with data, per date (the reference line)."""
    team_count: int
    """How many teams the latest snapshot held."""


def lowest_team_trend(history: Sequence[tuple[date, Sequence[Record]]], lowest: int) -> TeamTrend:
    """Collect the ``lowest`` teams of the latest snapshot and their score at every date of ``history``.

    ``history`` is ``(date, by-team records)`` oldest first. A team without a score that day (absent, or
    nothing evaluated: ``denominator == 0``) leaves a gap rather than a misleading zero.
    """
    ordered = sorted(history, key=lambda item: item[0])
    per_date = [{r["id"]: _score(r) for r in records} for _, records in ordered]
    latest = per_date[-1] if per_date else {}
    scored = sorted(((score, team) for team, score in latest.items() if score is not None))
    teams = [team for _, team in scored[: max(lowest, 0)]]
    known = [[v for v in scores.values() if v is not None] for scores in per_date]
    return TeamTrend(
        dates=[day for day, _ in ordered],
        teams={team: [scores.get(team) for scores in per_date] for team in teams},
        mean=[sum(values) / len(values) if values else None for values in known],
        team_count=len(latest),
    )


def render_trend_png(trend: TeamTrend, *, title: str | None = None, dpi: int = 100) -> bytes:
    """Draw the trend as PNG bytes: one line per team, with its latest score and change in the legend.

    Raises :class:`PlotExtraMissing` when matplotlib is not installed.
    """
    try:
        import matplotlib  # noqa: F401  (first: a stale submodule must not hide a missing package)
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, DateFormatter, date2num
        from matplotlib.figure import Figure
        from matplotlib.ticker import FormatStrFormatter
    except ImportError as exc:
        raise PlotExtraMissing() from exc

    figure = Figure(figsize=(11, 6), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    dates = trend.dates
    x = date2num(dates)  # type: ignore[no-untyped-call,unused-ignore]
    values: list[float] = []
    for team, series in trend.teams.items():
        points = [float("nan") if v is None else v for v in series]
        values += [v for v in series if v is not None]
        axes.plot(x, points, marker="o", linewidth=2.2, markersize=5, label=_label(team, series))
    if any(v is not None for v in trend.mean):
        mean = [float("nan") if v is None else v for v in trend.mean]
        values += [v for v in trend.mean if v is not None]
        label = _label(f"mean of all {trend.team_count} teams", trend.mean)
        axes.plot(x, mean, linestyle="--", linewidth=1.6, color="0.45", label=label)
    if values:
        low, high = min(values), max(values)
        pad = max(0.03, (high - low) * 0.12)
        axes.set_ylim(max(0.0, low - pad), min(1.0, high + pad))
    axes.yaxis.set_major_formatter(FormatStrFormatter("%.2f"))
    if dates and len(dates) <= MAX_EXPLICIT_TICKS:
        axes.set_xticks(x)
        pattern = "%b %d\n%Y" if len({d.year for d in dates}) > 1 else "%b %d"
        axes.xaxis.set_major_formatter(DateFormatter(pattern))  # type: ignore[no-untyped-call,unused-ignore]
    else:
        locator = AutoDateLocator()  # type: ignore[no-untyped-call,unused-ignore]
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call,unused-ignore]
    if len(dates) == 1:  # one snapshot: give the single point some room
        axes.margins(x=0.5)
    axes.set_ylabel("score (passing / evaluated rules)")
    axes.set_xlabel("snapshot date")
    span = f"{dates[0]:%Y-%m-%d} to {dates[-1]:%Y-%m-%d}" if dates else "no snapshots"
    axes.set_title(
        title or f"The {len(trend.teams)} lowest teams over the last {len(dates)} snapshots ({span})",
        loc="left",
        fontsize=13,
    )
    axes.grid(True, alpha=0.3)
    axes.spines[["top", "right"]].set_visible(False)
    if trend.teams or values:
        since = f" since {dates[0]:%b %d}" if len(dates) > 1 else ""
        axes.legend(
            loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, title=f"latest score (change{since})"
        )
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _label(name: str, series: Sequence[float | None]) -> str:
    """``team-payments  0.50 (+0.08)``: the latest value and the change since the first one."""
    name = render_id(name).replace("$", r"\$")  # a server's id, never matplotlib's math markup
    known = [v for v in series if v is not None]
    if not known:
        return name
    if len(known) == 1:
        return f"{name}  {known[-1]:.2f}"
    return f"{name}  {known[-1]:.2f} ({known[-1] - known[0]:+.2f})"


def _score(record: Record) -> float | None:
    score = record.get("score")
    if nothing_evaluated(record) or isinstance(score, bool) or not isinstance(score, int | float):
        return None
    return float(score)

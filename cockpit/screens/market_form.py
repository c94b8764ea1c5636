"""Market levels by hand when no feed runs: SPX, VIX, VIX3M, VXX, vols and VIX futures."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.widgets import Input, Label, Static

from cockpit.screens.form import FormScreen
from core.model import Market, VolSurface

FIELDS = (("spx", "SPX"), ("vix", "VIX"), ("vix3m", "VIX3M"), ("vxx", "VXX"),
          ("spx_atm", "SPX atm vol"), ("spx_skew", "SPX skew"), ("vix_atm", "VIX atm vol"))


def initial(m: Market) -> dict[str, str]:
    def g(x):
        return "" if x is None else f"{x:g}"
    return {"spx": g(m.spx), "vix": g(m.vix), "vix3m": g(m.vix3m), "vxx": g(m.vxx),
            "spx_atm": g(m.spx_vol.atm if m.spx_vol else None), "spx_skew": g(m.spx_vol.skew if m.spx_vol else None),
            "vix_atm": g(m.vix_vol.atm if m.vix_vol else None),
            "futures": ", ".join(f"{d}={p:g}" for d, p in m.vix_futures)}


def parse_market_form(v: dict[str, str], m: Market, now: datetime) -> tuple[Market | None, str | None]:
    """The market with the typed levels, stamped `now` (New York); or (None, 'field: problem')."""
    from core.marketfile import NEW_YORK

    def num(name, optional=False, low=0.0, high=float("inf")):
        text = v[name].strip()
        if not text and optional:
            return None
        try:
            x = float(text)
        except ValueError:
            raise ValueError(f"{name}: {text!r} is not a number") from None
        if not low < x < high:
            raise ValueError(f"{name}: must be between {low:g} and {high:g}")
        return x
    try:
        futures = []
        for part in filter(None, (p.strip() for p in v["futures"].split(","))):
            day, _, price = part.partition("=")
            try:
                futures.append((date.fromisoformat(day.strip()), float(price)))
            except ValueError:
                raise ValueError(f"futures: {part!r} is not YYYY-MM-DD=price") from None
        skew = v["spx_skew"].strip()
        market = replace(
            m, as_of=now.astimezone(NEW_YORK), spx=num("spx"), vix=num("vix"), vix3m=num("vix3m", True),
            vxx=num("vxx", True),
            spx_vol=VolSurface(num("spx_atm", low=0, high=10), float(skew) if skew else 0.0,
                               m.spx_vol.overrides if m.spx_vol else ()),
            vix_vol=(VolSurface(num("vix_atm", low=0, high=10), m.vix_vol.skew if m.vix_vol else 0.0)
                     if v["vix_atm"].strip() else m.vix_vol),
            vix_futures=tuple(sorted(futures)), source="entered by hand")
    except ValueError as exc:
        return None, str(exc)
    return market, None


class MarketForm(FormScreen):
    DEFAULT_CSS = """
    MarketForm Label { padding: 1 0 0 0; }
    MarketForm > VerticalScroll { width: 90; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "submit", "Use these levels")]

    def __init__(self, market: Market, now: datetime):
        super().__init__()
        self.market, self.now = market, now
        self.result: Market | None = None

    def compose(self):
        init = initial(self.market)
        with VerticalScroll() as v:
            v.border_title = "Market by hand (vols as fractions: 0.16 is 16%)"
            v.border_subtitle = "enter or ctrl+s uses them · esc cancels"
            with Grid():
                for name, label in FIELDS:
                    yield Label(label)
                    yield Input(init[name], id=name)
            yield Label("VIX futures")
            yield Input(init["futures"], id="futures", placeholder="2026-12-16=17.6, 2027-01-20=18.7")
            yield Static(id="problem")

    def check(self) -> None:
        values = {i.id: i.value for i in self.query(Input)}
        self.result, problem = parse_market_form(values, self.market, self.now)
        self.query_one("#problem", Static).update(problem or "")

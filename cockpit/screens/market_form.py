"""Market levels by hand when no feed runs: SPX, VIX, VIX3M, VXX, vols, as_of and VIX futures.

Checked by the market file's own rules and by the engine on the book at these levels;
errors name the user's market file (the one `m` writes), never the bundled demo."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.widgets import Input, Label, Static

from cockpit.screens.form import FormScreen
from core.model.inputs import Market, VolSurface

FIELDS = (("spx", "SPX"), ("vix", "VIX"), ("vix3m", "VIX3M"), ("vxx", "VXX"),
          ("spx_atm", "SPX atm vol"), ("spx_skew", "SPX skew"), ("vix_atm", "VIX atm vol"),
          ("as_of", "As of (NY)"))


def target_path(session) -> Path:
    """Where `m` writes: the session's market file, or the user's own when that is the demo."""
    from core.io import paths
    own = session.market_path and Path(session.market_path).resolve() != paths.DEMO_MARKET.resolve()
    return Path(session.market_path) if own else paths.user_market()


def initial(m: Market, now: datetime | None = None) -> dict[str, str]:
    """The form's starting text: the market's levels, stamped `now` (New York) when given."""
    from core.model.instruments import NEW_YORK

    def g(x):
        return "" if x is None else f"{x:g}"
    return {"as_of": f"{(now or m.as_of).astimezone(NEW_YORK):%Y-%m-%dT%H:%M:%S}",
            "spx": g(m.spx), "vix": g(m.vix), "vix3m": g(m.vix3m), "vxx": g(m.vxx),
            "spx_atm": g(m.spx_vol.atm if m.spx_vol else None), "spx_skew": g(m.spx_vol.skew if m.spx_vol else None),
            "vix_atm": g(m.vix_vol.atm if m.vix_vol else None),
            "futures": ", ".join(f"{d}={p:g}" for d, p in m.vix_futures)}


def parse_market_form(v: dict[str, str], m: Market, now: datetime,
                      source: str | None = None) -> tuple[Market | None, str | None]:
    """The market with the typed levels, stamped as_of (New York when no offset; `now` when
    the field is absent), checked by the market file's rules; or (None, 'field: problem')."""
    from core.model.errors import InputError
    from core.market.marketfile import market_to_toml, parse_market
    from core.model.instruments import NEW_YORK

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
        text = v.get("as_of", "").strip()
        try:
            as_of = datetime.fromisoformat(text) if text else now
        except ValueError:
            raise ValueError(f"as_of: {text!r} is not a YYYY-MM-DDTHH:MM date-time") from None
        as_of = as_of.replace(tzinfo=NEW_YORK) if as_of.tzinfo is None else as_of.astimezone(NEW_YORK)
        futures = []
        for part in filter(None, (p.strip() for p in v["futures"].split(","))):
            day, _, price = part.partition("=")
            try:
                futures.append((date.fromisoformat(day.strip()), float(price)))
            except ValueError:
                raise ValueError(f"futures: {part!r} is not YYYY-MM-DD=price") from None
        skew = v["spx_skew"].strip()
        market = replace(
            m, as_of=as_of, spx=num("spx"), vix=num("vix"), vix3m=num("vix3m", True),
            vxx=num("vxx", True),
            spx_vol=VolSurface(num("spx_atm", low=0, high=10), float(skew) if skew else 0.0,
                               m.spx_vol.overrides if m.spx_vol else ()),
            vix_vol=(VolSurface(num("vix_atm", low=0, high=10), m.vix_vol.skew if m.vix_vol else 0.0)
                     if v["vix_atm"].strip() else m.vix_vol),
            vix_futures=tuple(sorted(futures)), source=source)
    except ValueError as exc:
        return None, str(exc)
    try:  # what saving would refuse to read back (a future expired before as_of, ...)
        parse_market(market_to_toml(market), source or "<market>")
    except InputError as exc:
        return None, f"{exc.field}: {exc.message}" if exc.field else exc.message
    return market, None


class MarketForm(FormScreen):
    DEFAULT_CSS = """
    MarketForm Label { padding: 1 0 0 0; }
    MarketForm > VerticalScroll { width: 90; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "submit", "Use these levels")]

    def __init__(self, market: Market, now: datetime, session=None):
        super().__init__()
        self.market, self.now, self.session = market, now, session
        # errors name the file these levels go to, once it exists (never the demo's)
        target = target_path(session) if session is not None else None
        self.source = str(target) if target is not None and target.exists() else None
        self.result: Market | None = None

    def compose(self):
        init = initial(self.market, self.now)
        with VerticalScroll() as v:
            v.border_title = "Market by hand (vols as fractions: 0.16 is 16%)"
            v.border_subtitle = "enter or ctrl+s uses them · esc cancels"
            with Grid():
                for name, label in FIELDS:
                    yield Label(label)
                    # no select-on-focus: a first key edits the level, it does not wipe it
                    yield Input(init[name], id=name, select_on_focus=False)
            yield Label("VIX futures")
            yield Input(init["futures"], id="futures", placeholder="2026-12-16=17.6, 2027-01-20=18.7",
                        select_on_focus=False)
            yield Static(id="problem", markup=False)  # messages hold [tables]: text, not markup

    def check(self) -> None:
        values = {i.id: i.value for i in self.query(Input)}
        market, problem = parse_market_form(values, self.market, self.now, self.source)
        if market is not None and self.session is not None:  # the engine must price the book here
            problem = self.session.problem(market=market)
            market = None if problem else market
        self.result = market
        self.query_one("#problem", Static).update(problem or "")

"""The Textual cockpit: `alvh` with no command.

All numbers come from the session (core.engine.analyze); this module only wires
keys to session changes and repaints the panes.
"""
from __future__ import annotations

import gc
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from textual.app import App
from textual.command import Hit, Hits, Provider
from textual.containers import Container
from textual.widgets import Footer, Static

from cockpit import keymap
from cockpit.book_keys import BookKeys
from cockpit.condors import CondorsPane
from cockpit.gauges import GaugesPane
from cockpit.greeks import GreeksPane
from cockpit.header import HeaderBar, lines
from cockpit.hedges import HedgesPane
from cockpit.pane import Palette
from cockpit.riskgraph import RiskPane
from cockpit.session import Session
from core.io.atomic import describe_save
from core.model.errors import InputError
from themes import DEFAULT, THEMES

WIDE = (120, 40)  # every pane at once from this size up


class KeyCommands(Provider):
    """ctrl+p: every entry of the key table, searchable by what it does."""

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for k in keymap.KEYS:
            text = f"{k.description} ({k.display or k.keys})"
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), self._runner(k.action), help=k.group)

    def _runner(self, action: str):
        async def run():
            await self.app.run_action(action)
        return run


class Panes(Container):
    """Re-lays the panes out (grid or one at a time) whenever the terminal's size changes."""

    def on_resize(self) -> None:
        self.app._layout()


class Cockpit(BookKeys, App):
    CSS_PATH = "app.tcss"
    TITLE = "ALVH Cockpit"
    BINDINGS = keymap.bindings()
    COMMANDS = App.COMMANDS | {KeyCommands}

    def __init__(self, session: Session, *, theme: str | None = None,
                 clock: Callable[[], datetime] | None = None,
                 signals: Callable[[], object] | None = None,
                 watch: bool = True, settings: Path | None = None):
        super().__init__()
        self.session = session
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.load_signals = signals  # returns a SignalSet; runs in a thread after the first frame
        self.watch_market = watch
        self.settings = settings
        self.signal_set = None
        self.signal_error: str | None = None
        self.message = ""
        self.selected = {"condors": 0, "hedges": 0}
        self.active = "condors"
        self.zoomed = False
        for t in THEMES:
            self.register_theme(t)
        self.theme = theme or DEFAULT
        self._palette: tuple[str, Palette] | None = None
        self.live_r2 = None  # the book's theta R² from its daily snapshots (or why not read)

    def compose(self):
        yield HeaderBar(id="header")
        yield Static(id="tabs")
        with Panes(id="panes"):
            yield CondorsPane(id="condors", classes="pane")
            yield HedgesPane(id="hedges", classes="pane")
            yield GreeksPane(id="greeks", classes="pane")
            yield RiskPane(id="risk", classes="pane")
            yield GaugesPane(id="gauges", classes="pane")
        yield Footer(compact=True)  # every footer key fits in 80 columns

    def on_mount(self) -> None:
        self.theme_changed_signal.subscribe(self, lambda _: self.repaint())
        self._layout()
        self.query_one("#condors").focus()
        self.message = self.session.notice
        self._snapshot()
        self.repaint()
        # what the first frame leaves alive (modules, widgets, the book as loaded) is never
        # walked by a full collection again: with a large book one took 100+ ms (till unmount)
        self.call_after_refresh(gc.freeze)
        if self.load_signals:
            self.call_after_refresh(self.run_worker, self._signals_worker, thread=True, group="signals")
        if self.watch_market and self.session.market_path:
            from cockpit.watch import watch_file
            self.run_worker(watch_file(self.session.market_path, self.reload_market), group="watch")

    def on_unmount(self) -> None:
        gc.unfreeze()

    # ---- painting -------------------------------------------------------------

    @property
    def palette(self) -> Palette:
        if self._palette is None or self._palette[0] != self.theme:
            self._palette = (self.theme, Palette.from_variables(self.theme_variables))
        return self._palette[1]

    def repaint(self) -> None:
        # no cyclic GC between a key and its frame: a collection there (its pass over the
        # strips Textual keeps costs ms, a full one 80) runs once the frame is out
        gc.disable()
        self.call_after_refresh(gc.enable)
        s, pal = self.session, self.palette
        live, view = s.live, s.view
        if live is None:  # the engine never succeeded: nothing to show but the error
            self.query_one(HeaderBar).update(s.error or "no analysis")
            return
        demo = s.book.demo or live.market.demo  # the book as held: saving the demo's makes it the user's
        regime = self.signal_set.regime if self.signal_set else None
        self.query_one(HeaderBar).update(lines(
            live, view, pal, now=self.clock(), regime=regime, demo=demo, message=self.message,
            error=s.error, dirty=s.dirty))
        self.query_one(CondorsPane).refresh_from(live, view, pal, self.selected["condors"], self._broken("condors"))
        self.query_one(HedgesPane).refresh_from(live, view, pal, self.selected["hedges"], self._broken("hedges"))
        self.query_one(GreeksPane).refresh_from(live, view, pal, self.live_r2)
        self.query_one(GaugesPane).refresh_from(self.signal_set, self.signal_error, pal)
        self.query_one(RiskPane).refresh_from(live, view, pal)

    def _layout(self) -> None:
        single = self.zoomed or self.size.width < WIDE[0] or self.size.height < WIDE[1]
        self.screen.set_class(single, "single")
        for name in keymap.PANES:
            self.query_one(f"#{name}").set_class(name == self.active, "active")
        tabs = "  ".join(f"[reverse] {i} {n} [/reverse]" if n == self.active else f"{i} {n}"
                         for i, n in enumerate(keymap.PANES, 1))
        self.query_one("#tabs", Static).update(tabs + "  [dim]z: all[/dim]")


    def on_descendant_focus(self, event) -> None:
        pane = event.widget
        if pane.id in keymap.PANES and pane.id != self.active:
            self.active = pane.id
            self._layout()

    def _snapshot(self) -> None:
        """Once per trading day: the book's numbers into the history store (the backtest reads them)."""
        try:
            self.session.snapshot_today()
        except (InputError, OSError) as exc:
            self.message = f"daily snapshot not stored: {exc}"
        self.live_r2 = self._read_r2()

    def _read_r2(self):
        """The live theta R² over the book's daily snapshots (none for the demo book), or why not read."""
        from core.history import journal
        from core.history.live_r2 import theta_r2
        s = self.session
        try:
            rows = [] if s.book.demo else journal.snapshot_series(s.db, journal.book_key(s.save_path))
        except (InputError, OSError) as exc:
            return str(exc)
        return theta_r2(rows)

    def say(self, message: str) -> None:
        self.message = message
        self.repaint()

    # ---- workers ----------------------------------------------------------------

    def _signals_worker(self) -> None:
        try:
            result, error = self.load_signals(), None
        except (InputError, OSError) as exc:
            result, error = None, f"signals: {exc}"
        self.call_from_thread(self._signals_ready, result, error)

    def _signals_ready(self, sset, error: str | None) -> None:
        self.signal_set, self.signal_error = sset, error
        if sset is not None:
            self.session.set_signals(sset.to_inputs())
        self.repaint()

    def reload_market(self) -> None:
        """The market file changed on disk: take it if it reads cleanly, else keep the last good one."""
        from core.market.marketfile import load_market
        s = self.session
        try:
            market = load_market(s.market_path, demo=s.market.demo)
        except Exception as exc:  # noqa: BLE001 - any failure keeps the last good market
            self.say(f"market file not taken ({exc}); keeping the last good market")
            return
        s.set_market(market)
        self._snapshot()
        self.say(f"market reloaded {self.clock():%H:%M:%S}" + (f"; {s.notice}" if s.notice else ""))

    # ---- what-if ------------------------------------------------------------------

    def action_spx(self, move: float) -> None:
        self.session.shift(spx=move)
        self.repaint()

    def action_vix(self, points: float) -> None:
        self.session.shift(vix=points)
        self.repaint()

    def action_days(self, days: float) -> None:
        self.session.shift(days=days)
        self.repaint()

    def action_reset_whatif(self) -> None:
        self.session.reset_whatif()
        self.repaint()

    # ---- panes and app --------------------------------------------------------------

    def action_pane(self, name: str) -> None:
        self.active = name
        self._layout()
        self.query_one(f"#{name}").focus()

    def action_toggle_panes(self) -> None:
        self.zoomed = not self.zoomed
        self._layout()

    def action_select(self, step: int) -> None:
        name = self.active if self.active in self.selected else "condors"
        count = len(self.session.book.condors if name == "condors" else self.session.book.hedges)
        self.selected[name] = max(0, min(count - 1, self.selected[name] + step))
        self.repaint()
        self.query_one(f"#{name}").reveal(self.selected[name])

    def action_cycle_theme(self) -> None:
        names = [t.name for t in THEMES] + sorted(n for n in self.available_themes
                                                  if n not in {t.name for t in THEMES})
        self.theme = names[(names.index(self.theme) + 1) % len(names)] if self.theme in names else names[0]
        from cockpit.settings import save_theme
        try:
            save_theme(self.theme, self.settings)
        except OSError as exc:
            self.say(f"theme {self.theme} (not saved: {exc})")
            return
        self.say(f"theme {self.theme}")

    async def action_quit(self) -> None:
        """ctrl+q: at once, but never before a book being written is on disk."""
        if self._saving:
            self._when_saved(self.exit)
            self.say("saving…: quits once the book is written")
        else:
            self.exit()

    def action_research(self) -> None:
        from cockpit.screens.research import ResearchScreen
        self.push_screen(ResearchScreen(self.session.db, self.session.book.alvh))

    def action_scenario_grid(self) -> None:
        from cockpit.screens.grid import GridScreen
        if self.session.live is None:
            self.say("no grid: the engine has not priced the book")
            return
        self.push_screen(GridScreen(self.session))

    def action_suggest_tranche(self) -> None:
        from cockpit.screens.suggest_form import SuggestForm
        if self.session.live is None:
            self.say("no suggestion: the engine has not priced the book")
            return
        self.push_screen(SuggestForm(self.session), self._proposed)

    def _proposed(self, result) -> None:
        if result is not None:
            condor = result[1]
            self.session.propose(condor)
            self.say(f"proposed {condor.id} as a what-if (not in the book): N adds it, X or r drops it")

    def action_commit_proposed(self) -> None:
        """The proposed condor into the book by the typed-condor path (undo, save, journal alike)."""
        from cockpit.screens.condor_form import with_condor
        s = self.session
        condor = s.proposed
        if condor is None:
            self.say("no proposed condor: n proposes one")
            return
        problem = s.problem(with_condor(s.book, condor, None), edited=(None, condor.id))
        if problem:  # the market moved since: it stays proposed
            self.say(f"{condor.id} not added: {problem}")
            return
        s.proposed = None
        self._condor_saved((None, condor))

    def action_drop_proposed(self) -> None:
        s = self.session
        if s.proposed is None:
            self.say("no proposed condor: n proposes one")
            return
        condor = s.proposed
        s.propose(None)
        self.say(f"dropped the proposed {condor.id}")

    def action_capital(self) -> None:
        from cockpit.screens.capital import CapitalScreen
        if self.session.view is None:
            self.say("no capital figures: the engine has not priced the book")
            return
        s = self.session
        self.push_screen(CapitalScreen(s.view, s.db, self.palette, s.proposed and s.proposed.id))

    def action_help(self) -> None:
        from cockpit.screens.help import HelpScreen
        a = self.session.view
        self.push_screen(HelpScreen(a.assumptions if a else (), sorted(self.available_themes)))

    def action_quit_app(self) -> None:
        if self._saving:  # asks again (if need be) once the book is written
            self._when_saved(self.action_quit_app)
            self.say("saving…: quits once the book is written")
            return
        if not self.session.dirty:
            self.exit()
            return
        from cockpit.screens.confirm import Confirm

        def answer(key):
            if key == "s":
                self._save(then=self.exit)
            elif key == "d":
                self.exit()
        self.push_screen(Confirm("The book has unsaved edits.", (("s", "save and quit"),
                                                                ("d", "discard and quit"))), answer)

    # ---- edits ----------------------------------------------------------------------

    def edit(self, book, label: str, action: str = "edit") -> None:
        proposed = self.session.proposed
        self.session.edit(book, label, action)
        if proposed and not self.session.proposed:
            label += f"; {self.session.notice}"
        for name, items in (("condors", book.condors), ("hedges", book.hedges)):
            self.selected[name] = max(0, min(self.selected[name], len(items) - 1))
        self.say(label)

    def _broken(self, name: str) -> tuple:
        """(position, reason) for each condor or hedge the engine set aside, in book order."""
        why = self.session.broken
        return tuple((x, why[x.id]) for x in getattr(self.session.book, name) if x.id in why)

    def _target(self) -> tuple[str, object | None]:
        """The selected condor or hedge of the active pane (condors unless hedges is active)."""
        name = "hedges" if self.active == "hedges" else "condors"
        # as the pane lists them: the priced ones, then those set aside
        items = getattr(self.session.book, name)
        items = [x for x in items if x.id not in self.session.broken] + [x for x, _ in self._broken(name)]
        i = self.selected[name]
        return name, items[i] if 0 <= i < len(items) else None

    def action_add_condor(self) -> None:
        from cockpit.screens.condor_form import CondorForm
        self.push_screen(CondorForm(self.session, None), self._condor_saved)

    def action_edit_selected(self) -> None:
        name, item = self._target()
        if item is None:
            self.say(f"no {name[:-1]} selected")
        elif name == "hedges":
            from cockpit.screens.hedge_form import HedgeForm
            self.push_screen(HedgeForm(self.session, item), self._hedge_saved)
        else:
            from cockpit.screens.condor_form import CondorForm
            self.push_screen(CondorForm(self.session, item), self._condor_saved)

    def _condor_saved(self, result) -> None:
        if result is None:
            return
        old_id, condor = result
        book = self.session.book
        if old_id is None:
            self.edit(replace(book, condors=book.condors + (condor,)), f"added condor {condor.id}", "add")
            self.selected["condors"] = len(book.condors)
            self.repaint()
        else:
            self.edit(replace(book, condors=tuple(condor if c.id == old_id else c for c in book.condors)),
                      f"edited condor {condor.id}")

    def _hedge_saved(self, result) -> None:
        if result is None:
            return
        old_id, hedge = result
        book = self.session.book
        self.edit(replace(book, hedges=tuple(hedge if h.id == old_id else h for h in book.hedges)),
                  f"edited hedge {hedge.id}")

    def action_delete_selected(self) -> None:
        name, item = self._target()
        if item is None:
            self.say(f"no {name[:-1]} selected")
            return
        from cockpit.screens.confirm import Confirm

        def answer(key):
            if key != "y":
                return
            book = self.session.book
            kept = tuple(x for x in getattr(book, name) if x.id != item.id)
            self.edit(replace(book, **{name: kept}), f"deleted {name[:-1]} {item.id} (no P&L recorded)", "delete")
        self.push_screen(Confirm(f"Delete {name[:-1]} {item.id} as a typo? No P&L is recorded:"
                                 f" c closes it at a fill into the ledger."), answer)

    def action_apply_trades(self) -> None:
        from cockpit.trades import apply_trades, totals_lines, trade_lines
        a = self.session.live
        if a is None or a.alvh is None:
            self.say("no hedge engine trades to apply")
            return
        todo = trade_lines(a.alvh)
        if not todo:
            self.say("hedge engine: every layer on target, nothing to trade")
            return
        from cockpit.screens.confirm import Confirm
        budget = self.session.book.alvh.drag_budget_pct
        over = a.alvh.over_budget

        def apply(key):
            if key != "y":
                return
            try:
                book = apply_trades(self.session.book, a.alvh, {h.hedge.id: h.mark for h in a.hedges},
                                    self.session.market.as_of.date())
            except ValueError as exc:
                self.say(f"trades not applied: {exc}")
                return
            self.edit(book, "applied hedge trades: " + "; ".join(todo), "apply")

        x = a.alvh
        past = (f"the {budget:g} %/yr drag budget ({x.drag_pct_after:.2f} %/yr after)"
                if x.drag_pct_after > budget + 1e-9 else
                f"the {x.premium_cap_pct:g}% premium cap ({x.premium_pct_after:.1f}% after)")

        def past_budget(key):  # over budget: a second, deliberate key
            if key == "o":
                self.push_screen(Confirm(f"Really go past {past}?"), apply)
        question = ("Apply the hedge engine's trades to the book?\n  " + "\n  ".join(todo)
                    + "\n\n  " + "\n  ".join(totals_lines(a.alvh, self.session.book.equity, budget)))
        if over:
            self.push_screen(Confirm(question + f"\n\n  OVER {past}",
                                     (("o", "over budget: go on"), ("n", "no"))), past_budget)
        else:
            self.push_screen(Confirm(question), apply)

    def action_undo(self) -> None:
        market = self.session.market
        label = self.session.undo()
        self.say(f"undid: {label}{self._market_written(market)}" if label else "nothing to undo")

    def action_redo(self) -> None:
        market = self.session.market
        label = self.session.redo()
        self.say(f"redid: {label}{self._market_written(market)}" if label else "nothing to redo")

    def _market_written(self, before) -> str:
        """After an undo or redo that swapped the market: the market file says so too."""
        from core.io import paths
        s = self.session
        if s.market is before or not s.market_path or \
                Path(s.market_path).resolve() == paths.DEMO_MARKET.resolve():
            return ""
        from core.market.marketfile import save_market
        try:
            save_market(replace(s.market, demo=False), s.market_path)
        except (InputError, OSError) as exc:
            return f" (market file not written: {exc})"
        return f" (market saved to {s.market_path})"

    def action_market(self) -> None:
        from cockpit.screens.market_form import MarketForm

        def done(market):
            if market is not None:
                note = self._write_market(market, "market by hand")
                self.say(note + (f"; {self.session.notice}" if self.session.notice else ""))
        self.push_screen(MarketForm(self.session.market, self.clock(), self.session), done)

    def _write_market(self, market, label: str, must_save: bool = False) -> str:
        """Save a market edit and take it (undone by u like a book edit); says where it went.
        With must_save, a market the file cannot hold is not taken."""
        from cockpit.screens.market_form import target_path
        from core.market.marketfile import save_market
        s = self.session
        # never write over the bundled demo: hand-entered levels go to the user's own file
        path = target_path(s)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            saved, note = save_market(replace(market, demo=False), path), None
        except (InputError, OSError) as exc:
            if must_save:
                return f"not taken: the market file cannot keep it ({exc})"
            saved, note = replace(market, demo=False), f"market used but not saved: {exc}"
        if note is None:
            s.market_path = path
        s.notice = ""
        s.set_market(saved, label=label)
        return note or f"{label}: market saved to {describe_save(path)}"


def signals_loader(db: str | None, market) -> Callable[[], object]:
    """Signals from the user's history store (the DEMO history only for the demo market)."""
    def load():
        from core.history.store import load_signals
        return load_signals(db, market)
    return load


def make_app(args, **kw) -> Cockpit:
    """The cockpit for the command line's --book/--market/--db/--theme (kw: Cockpit's test hooks)."""
    from cockpit.cli.inputs import resolve_inputs
    from cockpit.settings import load_theme
    from core.io import paths
    from core.book.bookfile import load_book
    from core.market.marketfile import load_market

    book_path, book_demo, market_path, market_demo = resolve_inputs(args.book, args.market)
    book = load_book(book_path, demo=book_demo)
    market = load_market(market_path, demo=market_demo)
    # the demo book is never overwritten: saving it creates the user's own book
    session = Session(book, market, save_path=paths.user_book() if book_demo else book_path,
                      market_path=market_path, db=Path(args.db) if args.db else None)
    kw.setdefault("signals", signals_loader(args.db, market))
    app = Cockpit(session, **kw)
    theme = args.theme or load_theme(kw.get("settings"))
    if theme and theme not in app.available_themes:
        if args.theme:
            raise InputError(f"unknown theme {theme!r}; themes: " + ", ".join(sorted(app.available_themes)),
                             field="--theme")
        theme = None  # a stale saved preference falls back to the default
    app.theme = theme or DEFAULT
    return app


def run_app(args) -> int:
    make_app(args).run()
    return 0

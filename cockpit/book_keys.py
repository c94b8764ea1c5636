"""The cockpit's keys that change what is on disk: close at a fill (c), a settlement
price (S), the ledger (L), and save (ctrl+s, written by a child process while the screen
stays live) with its question when another program changed the book file. A mixin of the
app: it shares `session`, `say`, `edit`."""
from __future__ import annotations

from dataclasses import replace
from functools import partial

from core.io.atomic import describe_save


class BookKeys:
    def action_close_selected(self) -> None:
        name, item = self._target()
        s = self.session
        if item is None:
            self.say(f"no {name[:-1]} selected")
            return
        if item.id in s.awaiting:
            self.say(f"{item.id} has expired: S enters its settlement price")
            return
        a = s.live
        marks = {} if a is None else {r.condor.id: r.mark for r in a.condors} if name == "condors" \
            else {r.hedge.id: r.mark for r in a.hedges}
        if item.id not in marks:
            self.say(f"{item.id} is not priced: e edits it, x deletes it")
            return
        from cockpit.screens.close_form import CloseForm

        def done(result):
            if result is not None:
                book, rec = result
                self.edit(book, f"closed {rec.quantity} of {rec.id} at {rec.close_price:.2f}:"
                                f" realized {rec.realized:+,.2f} $", "close")
        self.push_screen(CloseForm(s, item, marks[item.id], name[:-1]), done)

    def action_enter_settlement(self) -> None:
        name, item = self._target()
        s = self.session
        waiting = s.awaiting.get(item.id) if item is not None else None
        waiting = waiting or next(iter(s.awaiting.values()), None)
        if waiting is None:
            self.say("nothing awaits a settlement price")
            return
        from cockpit.screens.settle_form import SettleForm

        def done(settlement):
            if settlement is None:
                return
            market = replace(s.market, settlements=s.market.settlements + (settlement,))
            # a price the market file cannot keep is not booked: restart would forget it
            note = self._write_market(market, f"settlement {settlement.underlying} {settlement.style}"
                                              f" {settlement.date} = {settlement.value:g}", must_save=True)
            self.say(f"{note}; {s.notice}" if s.notice else note)
        self.push_screen(SettleForm(waiting), done)

    def action_ledger(self) -> None:
        from cockpit.screens.ledger import LedgerScreen
        a = self.session.live
        self.push_screen(LedgerScreen(a.book.closed if a else self.session.book.closed,
                                      a.totals if a else None))

    # ---- saving: off the screen's thread, so a large book never stalls it ------------------

    _saving = None  # (worker, what to do with its result) while a book write runs
    _after_save: list | None = None  # what waits for it: a second ctrl+s, a quit

    def _save(self, then=None) -> None:
        """Save, unless another program changed the file: then ask first. `then` runs once
        saved. A save asked for while one runs follows it (never two writes at once)."""
        s = self.session
        if self._saving:
            def again() -> None:
                if s.dirty:
                    self._save(then)
                elif then:
                    then()
            self._when_saved(again)
            self.say("saving… (the next save follows once this one is written)")
            return
        if s.changed_on_disk():
            self._ask_about_disk(then)
            return
        job = s.start_save()

        def done(written) -> None:
            s.finish_save(job, written)
            note = s.journal_error
            self.say(f"saved {describe_save(job.path, job.existed)}" + (f"; {note}" if note else ""))
            if then:
                then()
        self._write(job.write, done)

    def _write(self, work, done) -> None:
        """Run a book write (cockpit.saving: in a child process) from a worker thread;
        `done(result)` here once it has written (a failure keeps the app and the edits, and is said)."""
        from cockpit.saving import in_child
        worker = self.run_worker(partial(in_child, work), thread=True, group="save", exit_on_error=False)
        self._saving = (worker, done)
        self.say("saving…")

    def _when_saved(self, action) -> None:
        self._after_save = (self._after_save or []) + [action]

    def on_worker_state_changed(self, event) -> None:
        from textual.worker import WorkerState
        if not self._saving or event.worker is not self._saving[0] or not event.worker.is_finished:
            return
        worker, done = self._saving
        self._saving = None
        if worker.state == WorkerState.SUCCESS:
            done(worker.result)
        else:
            self.say(f"not saved: {worker.error or 'cancelled'}")
        waiting, self._after_save = self._after_save or [], None
        for action in waiting:
            action()

    def _ask_about_disk(self, then) -> None:
        from cockpit.screens.confirm import Confirm
        s = self.session
        name = s.save_path.name

        def answer(key):
            try:
                if key == "r":
                    s.reload_from_disk()
                    self.say(f"reloaded {name} as the other program left it (u brings your edits back)")
                elif key == "m":
                    path, write = s.beside()
                    self._write(write, lambda _: self.say(
                        f"your book saved beside as {path}; {name} left as the other program wrote it"))
                elif key == "o":
                    s.overwrite_disk()
                    self._save(then)
            except Exception as exc:  # noqa: BLE001 - whatever the file holds, the app stays
                self.say(f"{name}: {exc}")
        self.push_screen(Confirm(f"{name} was changed by another program since it was loaded.",
                                 (("r", "reload it (drop my edits)"), ("m", f"save mine beside as {name}.mine"),
                                  ("o", "overwrite it (theirs kept as .bak)"))), answer)

    def action_save(self) -> None:
        self._save()

"""The backtest's TOML config: what the program trades, what it costs, how days are priced
and how the Monte Carlo resamples. Every bad value is one InputError naming file, line and
field; a missing key takes its default (README, "Backtest config")."""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field, fields
from pathlib import Path

from core.io.tomlsrc import SourceMap, Table, _short, parse_toml, read_capped, within

MAX_BYTES = 1 << 20  # the whole config is ~2 kB: anything near this is not one
SCHEDULES = ("every", "monthly")


@dataclass(frozen=True)
class Entry:
    schedule: str = "every"  # "every" N trading days, or "monthly": each third-Friday expiry day
    every_days: int = 5
    dte: int = 45  # target calendar days to expiry


@dataclass(frozen=True)
class Strikes:
    short_delta: float = 0.16
    wing_width: float | None = 50.0  # index points; None when wing_delta is given
    wing_delta: float | None = None
    step: float = 5.0  # listed strike step, index points


@dataclass(frozen=True)
class Size:
    max_loss_pct: float = 2.0  # each new condor's max loss, % of equity


@dataclass(frozen=True)
class Exit:
    take_profit_pct: float = 0.0  # 0 = off
    stop_multiple: float = 0.0  # 0 = off
    close_dte: int = 0  # 0 = hold to settlement


@dataclass(frozen=True)
class Costs:
    commission: float = 0.65  # $ per contract per side
    slippage: float = 0.05  # SPX index points per leg per side
    vix_slippage: float = 0.05  # VIX points per VIX option leg per side


@dataclass(frozen=True)
class Cash:
    rate: float | None = 0.03  # annual fraction; None when history
    history: bool = False  # rate = "history": the imported T-bill series


@dataclass(frozen=True)
class Hedge:
    drag_budget_pct: float = 2.0  # %/yr of equity
    premium_cap_pct: float = 3.0
    target_coverage: float = 0.5  # share of each layer's stress loss it aims to cover
    layers: tuple[int, ...] = (1, 2, 3)
    rebalance_band: float = 0.25  # trade a layer only when held is this share off its target


@dataclass(frozen=True)
class Model:
    atm_ratio: float = 0.9  # ATM implied vol = atm_ratio x the VIX-term vol
    skew_slope: float = 0.15  # vol rises this share of ATM per standard deviation below the forward
    skew_index: bool = True  # scale skew_slope by the SKEW index where stored
    dividend_yield: float = 0.018
    vix_vol: float = 0.9  # VIX option vol when no VVIX is stored
    vix_vol_decay: float = 0.3  # VIX option vol falls as (30 / days) ** decay
    kappa: float = 2.0  # per year, futures' mean reversion
    beta: float = -4.0  # d ln VIX / d ln SPX for the stresses
    long_vix: float = 20.0  # long-run VIX the futures model reverts to when no VIX3M


@dataclass(frozen=True)
class Bootstrap:
    paths: int = 1000
    block_days: float = 20.0  # mean block length, trading days
    years: float = 10.0  # path length
    seed: int = 1


@dataclass(frozen=True)
class BacktestConfig:
    entry: Entry = Entry()
    strikes: Strikes = Strikes()
    size: Size = Size()
    exit: Exit = Exit()
    costs: Costs = Costs()
    cash: Cash = Cash()
    hedge: Hedge = Hedge()
    model: Model = Model()
    bootstrap: Bootstrap = Bootstrap()
    source: str | None = field(default=None, compare=False)  # file it came from


DEFAULT = BacktestConfig()
SECTIONS = tuple(f.name for f in fields(BacktestConfig) if f.name != "source")
# the keys a file may give: the fields, but [cash] spells history as rate = "history"
KEYS = {name: tuple(f.name for f in fields(getattr(DEFAULT, name)) if f.name != "history")
        for name in SECTIONS}


def _upto(hi: float) -> dict:
    """(0, hi]: zero is not a size."""
    return dict(check=lambda v: 0 < v <= hi, why=f"must be above zero and at most {hi:,g}")


RATE = within(-0.05, 0.5, " a year, as a fraction (0.03 is 3%)")


def load_config(path: str | Path) -> BacktestConfig:
    return parse_config(read_capped(path, "backtest config", MAX_BYTES), str(path))


def parse_config(text: str, source: str) -> BacktestConfig:
    root = Table(parse_toml(text, source), (), SourceMap(text), source, "")
    for key in root.data:
        if key not in SECTIONS:
            home = [s for s, keys in KEYS.items() if key in keys]
            hint = f"it belongs under [{home[0]}]" if home else _closest(key, SECTIONS, "[{}]")
            what = "unknown section" if isinstance(root.data[key], dict) else "unknown field"
            raise root.error(key, f"{what}: {hint}")
    parsed = {}
    for name, read in _READERS.items():
        if name in root.data:
            t = root.sub(name)
            _known_keys(t, name)
            parsed[name] = read(t, parsed)
    return BacktestConfig(**parsed, source=source)


def _closest(key: str, known, form: str = "{}") -> str:
    near = difflib.get_close_matches(key, list(known), 1, 0.6)
    if near:
        return f"did you mean {form.format(near[0])}?"
    return "known: " + ", ".join(form.format(k) for k in known)


def _known_keys(t: Table, name: str) -> None:
    """Unknown keys are typos, or keys of another section: say which."""
    for key in t.data:
        if key not in KEYS[name]:
            home = [s for s, keys in KEYS.items() if key in keys]
            hint = f"it belongs under [{home[0]}]" if home else _closest(key, KEYS[name])
            raise t.error(key, f"unknown field: {hint}")


def _int(t: Table, key: str, default: int, lo: int, hi: int) -> int:
    """A whole number; a float is taken when integral (45.0), as TOML users write both."""
    if key not in t.data:
        return default
    if type(t.data[key]) not in (int, float):  # type(), not isinstance: true is not 1
        raise t.error(key, f"must be a whole number, got {_short(t.data[key])}")
    value = t.get(key, "num")  # finite
    if not value.is_integer():
        raise t.error(key, f"must be a whole number, got {_short(t.data[key])}")
    n = int(value)
    if not lo <= n <= hi:  # spelled out: within() would show 2**32 - 1 as 4.29497e+09
        raise t.error(key, f"must be a whole number from {lo:,} to {hi:,}, got {_short(t.data[key])}")
    return n


def _entry(t: Table, _) -> Entry:
    d = Entry()
    return Entry(
        schedule=t.get("schedule", "str", default=d.schedule, check=lambda v: v in SCHEDULES,
                       why='must be "every" (every_days) or "monthly"'),
        every_days=_int(t, "every_days", d.every_days, 1, 250),
        dte=_int(t, "dte", d.dte, 1, 400))


def _strikes(t: Table, _) -> Strikes:
    d = Strikes()
    short = t.get("short_delta", "num", default=d.short_delta, **within(0.01, 0.49))
    if "wing_width" in t.data and "wing_delta" in t.data:
        line = t.src.line(t.path, "wing_width")
        at = f" (line {line})" if line else ""
        raise t.error("wing_delta", f"give wing_width{at} or wing_delta, not both")
    wing_delta = t.get("wing_delta", "num", default=None, check=lambda v: 0.001 <= v < short,
                       why=f"must be at least 0.001 and below short_delta {short:g}")
    return Strikes(
        short_delta=short,
        wing_width=None if wing_delta is not None else
        t.get("wing_width", "num", default=d.wing_width, **_upto(1000)),
        wing_delta=wing_delta,
        step=t.get("step", "num", default=d.step, **_upto(100)))


def _size(t: Table, _) -> Size:
    return Size(max_loss_pct=t.get("max_loss_pct", "num", default=Size().max_loss_pct, **_upto(100)))


def _exit(t: Table, parsed: dict) -> Exit:
    d = Exit()
    e = Exit(
        take_profit_pct=t.get("take_profit_pct", "num", default=d.take_profit_pct, **within(0, 100)),
        stop_multiple=t.get("stop_multiple", "num", default=d.stop_multiple, **within(0, 100)),
        close_dte=_int(t, "close_dte", d.close_dte, 0, 400))
    dte = parsed.get("entry", Entry()).dte
    if e.close_dte >= dte:  # closed on the day it opens: the costs and nothing else
        raise t.error("close_dte", f"must be below entry.dte {dte}, got {e.close_dte}")
    return e


def _costs(t: Table, _) -> Costs:
    d = Costs()
    return Costs(
        commission=t.get("commission", "num", default=d.commission, **within(0, 100)),
        slippage=t.get("slippage", "num", default=d.slippage, **within(0, 50)),
        vix_slippage=t.get("vix_slippage", "num", default=d.vix_slippage, **within(0, 10)))


def _cash(t: Table, _) -> Cash:
    value = t.data.get("rate")
    if value == "history":
        return Cash(rate=None, history=True)
    if isinstance(value, (str, bool)) or not isinstance(value, (int, float, type(None))):
        raise t.error("rate", f'must be a number or "history", got {_short(value)}')
    return Cash(rate=t.get("rate", "num", default=Cash().rate, **RATE))


def _hedge(t: Table, _) -> Hedge:
    d = Hedge()
    return Hedge(
        drag_budget_pct=t.get("drag_budget_pct", "num", default=d.drag_budget_pct, **within(0, 100)),
        premium_cap_pct=t.get("premium_cap_pct", "num", default=d.premium_cap_pct, **within(0, 100)),
        target_coverage=t.get("target_coverage", "num", default=d.target_coverage, **within(0, 1)),
        layers=_layers(t, d.layers),
        rebalance_band=t.get("rebalance_band", "num", default=d.rebalance_band, **within(0, 1)))


def _layers(t: Table, default: tuple[int, ...]) -> tuple[int, ...]:
    if "layers" not in t.data:
        return default
    value = t.get("layers", "list")
    # type(), not isinstance: true is not layer 1
    if not all(type(v) in (int, float) and v in (1, 2, 3) for v in value) or len(set(value)) < len(value):
        raise t.error("layers", f"must list layers 1, 2 and 3, each at most once, got {_short(value)}")
    if not value:
        raise t.error("layers", "must name at least one layer (alvh backtest --unhedged runs without the hedge)")
    return tuple(sorted(int(v) for v in value))


def _model(t: Table, _) -> Model:
    d = Model()
    return Model(
        atm_ratio=t.get("atm_ratio", "num", default=d.atm_ratio, **within(0.3, 1.5)),
        skew_slope=t.get("skew_slope", "num", default=d.skew_slope, **within(0, 1)),
        skew_index=t.get("skew_index", "bool", default=d.skew_index),
        dividend_yield=t.get("dividend_yield", "num", default=d.dividend_yield, **within(0, 0.2)),
        vix_vol=t.get("vix_vol", "num", default=d.vix_vol, **within(0.05, 5)),
        vix_vol_decay=t.get("vix_vol_decay", "num", default=d.vix_vol_decay, **within(0, 1)),
        kappa=t.get("kappa", "num", default=d.kappa, **within(0, 50)),
        beta=t.get("beta", "num", default=d.beta, **within(-20, 0)),
        long_vix=t.get("long_vix", "num", default=d.long_vix, **within(5, 80)))


def _bootstrap(t: Table, _) -> Bootstrap:
    d = Bootstrap()
    return Bootstrap(
        paths=_int(t, "paths", d.paths, 1, 100_000),
        block_days=t.get("block_days", "num", default=d.block_days, **within(1, 2520)),
        years=t.get("years", "num", default=d.years, **within(0.25, 40)),
        seed=_int(t, "seed", d.seed, 0, 2 ** 32 - 1))


# in file order of the README; [exit] after [entry], whose dte it checks close_dte against
_READERS = {"entry": _entry, "strikes": _strikes, "size": _size, "exit": _exit, "costs": _costs,
            "cash": _cash, "hedge": _hedge, "model": _model, "bootstrap": _bootstrap}


# ---- writing -------------------------------------------------------------

_NOTES = {  # what each key means, with its range, for the file config_text writes
    "entry": {"schedule": '"every": every every_days trading days; "monthly": each third-Friday expiry day',
              "every_days": "trading days between entries (1 to 250)",
              "dte": "target calendar days to expiry: the nearest listed SPX expiry (1 to 400)"},
    "strikes": {"short_delta": "short put and call at this |delta| on the day's modelled smile (0.01 to 0.49)",
                "wing_width": "long wings this many index points out (above 0, at most 1,000); or instead:",
                "wing_delta": "long wings at this |delta| (0.001 to below short_delta)",
                "step": "listed strike step, index points (above 0, at most 100)"},
    "size": {"max_loss_pct": "each new condor's max loss, % of current equity (above 0, at most 100)"},
    "exit": {"take_profit_pct": "close at this % of the credit captured; 0 = off (0 to 100)",
             "stop_multiple": "close when the loss reaches this multiple of the credit; 0 = off (0 to 100)",
             "close_dte": "close at this many days to expiry, below dte; 0 = hold to settlement"},
    "costs": {"commission": "$ per contract per side (0 to 100)",
              "slippage": "SPX index points per leg per side (0 to 50)",
              "vix_slippage": "VIX points per VIX option leg per side (0 to 10)"},
    "cash": {"rate": 'annual, 0.03 = 3% (-0.05 to 0.5); or "history": the imported T-bill series'},
    "hedge": {"drag_budget_pct": "the hedge's drag, at most this % of equity a year (0 to 100)",
              "premium_cap_pct": "its option premium at risk, at most this % of equity (0 to 100)",
              "target_coverage": "share of each layer's stress loss it aims to cover (0 to 1)",
              "layers": "which ALVH layers run: 1, 2 and/or 3",
              "rebalance_band": "trade a layer only when held is this share off its target (0 to 1)"},
    "model": {"atm_ratio": "ATM implied vol = atm_ratio x the VIX-term vol (0.3 to 1.5)",
              "skew_slope": "put skew: vol rises this share of ATM per standard deviation below (0 to 1)",
              "skew_index": "scale skew_slope by the SKEW index where stored",
              "dividend_yield": "SPX dividend yield, annual (0 to 0.2)",
              "vix_vol": "VIX option vol when no VVIX is stored (0.05 to 5)",
              "vix_vol_decay": "VIX option vol scales as (30 / days) ** decay (0 to 1)",
              "kappa": "VIX futures' mean reversion, per year (0 to 50)",
              "beta": "d ln VIX / d ln SPX for the stresses (-20 to 0)",
              "long_vix": "long-run VIX the futures revert to when no VIX3M is stored (5 to 80)"},
    "bootstrap": {"paths": "Monte Carlo paths (1 to 100,000)",
                  "block_days": "mean block length, trading days (1 to 2,520)",
                  "years": "path length, years (0.25 to 40)",
                  "seed": "the same seed gives the same paths (0 to 4,294,967,295)"},
}


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, tuple):
        return "[" + ", ".join(map(_toml, value)) + "]"
    text = repr(value)  # repr reads back to the same float
    return text.removesuffix(".0")


def config_text(cfg: BacktestConfig) -> str:
    """A commented TOML of `cfg` that parse_config reads back to an equal config."""
    out = ["# alvh backtest --config FILE: every key is optional; a missing one takes the default"]
    for name in SECTIONS:
        section = getattr(cfg, name)
        out += ["", f"[{name}]"]
        for key in KEYS[name]:
            value = getattr(section, key)
            if name == "cash" and section.history:
                value = "history"
            line = f"{key} = {_toml(value)}"
            if name == "strikes" and value is None:  # the wing not in use, shown as the alternative
                line = f"# {key} = {_toml(50 if key == 'wing_width' else 0.05)}"
            out.append(f"{line:<22}  # {_NOTES[name][key]}")
    return "\n".join(out) + "\n"


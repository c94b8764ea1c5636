"""Immutable inputs of the engine: book, market, what-if and signal values.

Everything here is plain data. Files are read in `core.book.bookfile` and
`core.market.marketfile`; the math lives in `core.pricing.kernels` and `core.engine`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

HEDGE_KINDS = ("vix_call", "vix_put", "vix_future", "vxx_call", "vxx_put")
MARK_KINDS = ("spx_call", "spx_put", "vix_call", "vix_put", "vxx_call", "vxx_put")
LAYER_NAMES = {1: "short-term engine", 2: "medium-term buffer", 3: "long-term anchor"}


@dataclass(frozen=True)
class Condor:
    """A short iron condor: long put < short put < short call < long call."""
    id: str
    expiry: date
    quantity: int
    long_put: float
    short_put: float
    short_call: float
    long_call: float
    credit: float  # net credit per condor at entry, index points
    line: int | None = field(default=None, compare=False)  # where it stands in the book file
    root: str = "SPXW"  # SPXW: PM-settled on the 16:00 close; SPX: AM-settled on the opening print
    opened: date | None = None  # trade date, when known

    @property
    def max_width(self) -> float:
        return max(self.short_put - self.long_put, self.long_call - self.short_call)

    @property
    def max_loss_each(self) -> float:
        """$ one condor can lose: the wider side's width less the credit, x $100 a point."""
        return (self.max_width - self.credit) * 100.0


@dataclass(frozen=True)
class HedgeLeg:
    kind: str  # one of HEDGE_KINDS
    expiry: date
    strike: float | None  # None for futures
    ratio: float  # signed units per position unit
    price: float  # entry price per unit


@dataclass(frozen=True)
class Hedge:
    id: str
    layer: int  # 1, 2 or 3
    quantity: int
    legs: tuple[HedgeLeg, ...]
    line: int | None = field(default=None, compare=False)
    opened: date | None = None


ROOTS = ("SPXW", "SPX")
SETTLE_UNDERLYINGS = ("SPX", "VIX", "VXX")


@dataclass(frozen=True)
class Closed:
    """A closed or settled position (or part of one) in the realized ledger.
    Prices are per condor (debit to close, points) or per hedge unit (points)."""
    id: str
    what: str  # "condor" or "hedge"
    description: str  # strikes and expiry, so the record reads alone
    quantity: int
    open_price: float  # condor: credit received; hedge: entry price per unit
    close_price: float  # condor: debit paid; hedge: price received per unit
    opened: date | None
    closed: date
    commission: float  # $, total for this close
    realized: float  # $, after commission
    how: str  # "fill", "model fill", "settled ..." (with its price source)
    layer: int | None = None  # hedges only


@dataclass(frozen=True)
class Settlement:
    """A settlement price the user gives: PM the close, AM the opening quotation (SOQ)."""
    underlying: str  # SPX | VIX | VXX
    date: date
    style: str  # "PM" or "AM"
    value: float


@dataclass(frozen=True)
class ModelSettings:
    """The spot-vol map used by scenarios and beta-weighting."""
    beta: float = -4.0  # d ln VIX / d ln SPX
    kappa: float = 2.0  # per year: future moves exp(-kappa*T) of spot VIX's move
    vxx_exponent: float = 0.5  # VXX' = VXX * (VIX'/VIX)**exponent
    beta_source: str = "default"  # "default", "book" or "calibrated <window>"


@dataclass(frozen=True)
class Stress:
    name: str
    spx_move: float  # fraction, -0.10 is -10%
    days: float
    vix: float | None = None  # fixes spot VIX instead of the spot-vol map


DEFAULT_STRESS = (
    Stress("gap -5%", -0.05, 1),
    Stress("crash -10%", -0.10, 5),
    Stress("2020-style -20%", -0.20, 10),
    # a slow bear, 20 trading days with VIX held at a crisis 40: only a long stress moves a
    # long-dated future (it takes e^(-kappa T) of spot's move), so L3 is sized against it
    Stress("slow -20%", -0.20, 28, vix=40.0),
    Stress("melt-up +5%", 0.05, 5),
)


@dataclass(frozen=True)
class LayerTemplate:
    """Where a layer's hedge lives and how it is struck."""
    instrument: str  # "vix_call", "vix_call_spread", "vix_call_butterfly", "vix_future", "vxx_call"
    min_days: float
    max_days: float | None  # None: the farthest listed expiry
    strike_mult: float = 1.0  # strike = future * strike_mult (rounded to a listed step)
    width: float = 10.0  # spread / wing width in VIX points
    roll_below_days: float | None = None  # roll alert when a leg has fewer days left
    stress: str = "crash -10%"  # the [[stress]] this layer is sized against


DEFAULT_LAYERS = {  # each layer against the stress it exists for
    1: LayerTemplate("vix_call", 1, 7, strike_mult=1.1, roll_below_days=1, stress="gap -5%"),
    2: LayerTemplate("vix_call_spread", 30, 60, strike_mult=1.1, width=10, roll_below_days=30,
                     stress="crash -10%"),
    3: LayerTemplate("vix_call", 120, None, strike_mult=1.3, roll_below_days=120, stress="slow -20%"),
}


@dataclass(frozen=True)
class AlvhSettings:
    base_ratio: float = 0.5
    l2_budget_pct: float = 0.8  # L2 premium budget, % of equity
    weights: tuple[float, float] = (0.4, 0.6)  # L1 / L3 share of the rest of the target
    drag_budget_pct: float = 2.0  # the whole hedge's drag after the proposed trades, %/yr of equity
    premium_cap_pct: float = 3.0  # the whole hedge's option premium at risk after them, % of equity
    reference_stress: str = "crash -10%"
    ppi_hot: bool = False  # R2 manual flags until a data feed exists
    usd_strong: bool = False
    macro_strength: float = 1.15  # R2 multiplier, 1.15 to 1.25
    event_days: float = 7.0  # R4 horizon
    layers: dict[int, LayerTemplate] = field(default_factory=lambda: dict(DEFAULT_LAYERS))


@dataclass(frozen=True)
class CapitalSettings:
    """The book's [capital] table: what the capital calculator reads (core.capital).
    Rates and caps in %, None: follow the market (rf, box rate and collateral yield: its rate)."""
    rf_pct: float | None = None  # risk-free rate; None: the market's rate
    mrp_pct: float = 5.5  # market risk premium
    margin_rate_pct: float = 6.0  # margin loan, before tax
    tax_pct: float = 0.0  # the margin loan's interest is deductible at this rate
    box_rate_pct: float | None = None  # entered; else from box (width, price, days), else rf
    box: tuple[float, float, float] | None = None  # a box's width and price (points) and its days
    collateral_yield_pct: float | None = None  # None: rf
    # WACC weights: margin loan, box financing, collateral, equity (sum 1)
    weights: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 1.0)
    beta_band: tuple[float, float] = (0.2, 0.6)  # the book's scenario beta
    vol_window_days: int = 252  # trading days of SPX closes for the realized vol
    futures_margin: float = 10_000.0  # $ per VIX future contract
    expirations: tuple[int, int] = (3, 5)  # concurrent condor expirations
    notional_pct: tuple[float, float] = (4.0, 6.0)  # tranche max loss, % of equity: pass / warn
    wacc_trigger_pct: float = 7.0  # the tranche cap applies when WACC is above this
    spread_bp: tuple[float, float] = (400.0, 600.0)  # IRR - WACC the seed aims for
    pm_range_pct: tuple[float, float] = (-8.0, 6.0)  # portfolio-margin scan of SPX


@dataclass(frozen=True)
class Book:
    equity: float
    condors: tuple[Condor, ...] = ()
    hedges: tuple[Hedge, ...] = ()
    model: ModelSettings = ModelSettings()
    stress: tuple[Stress, ...] = DEFAULT_STRESS
    alvh: AlvhSettings = AlvhSettings()
    closed: tuple[Closed, ...] = ()  # the realized ledger, oldest first
    source: str | None = None  # file it came from
    demo: bool = False
    capital: CapitalSettings = CapitalSettings()


@dataclass(frozen=True)
class VolSurface:
    """Implied vol = atm + skew * ln(K/F), unless a strike is overridden."""
    atm: float
    skew: float = 0.0
    overrides: tuple[tuple[float, float], ...] = ()  # (strike, vol)


@dataclass(frozen=True)
class Mark:
    """An observed option price; its implied vol replaces the surface for that leg."""
    kind: str  # one of MARK_KINDS
    expiry: date
    strike: float
    price: float  # the mid when bid and ask are given
    line: int | None = field(default=None, compare=False)  # where it stands in the market file
    root: str | None = None  # "SPX" (AM) or "SPXW" (PM) where both list the expiry; None: either
    bid: float | None = None
    ask: float | None = None


@dataclass(frozen=True)
class Smile:
    """One expiry's fitted smile (`alvh chain import`): raw SVI in total variance against
    its own forward, k = ln(K / forward)."""
    expiry: date
    root: str  # SPX, SPXW, VIX
    forward: float  # from put-call parity (for VIX: that expiry's future)
    discount: float  # discount factor to settlement
    svi: tuple[float, float, float, float, float]  # a, b, rho, m, sigma
    rmse_vol: float = 0.0  # fit error, in vol (0.003 = 0.3 vol points)
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Market:
    as_of: datetime  # timezone-aware
    spx: float
    vix: float
    rate: float = 0.0  # continuous
    dividend_yield: float = 0.0  # continuous
    spx_vol: VolSurface | None = None  # None: atm = vix / 100
    vix_futures: tuple[tuple[date, float], ...] = ()  # sorted by expiry
    vix_vol: VolSurface | None = None
    vix3m: float | None = None
    vxx: float | None = None
    vxx_vol: VolSurface | None = None  # None: vix_vol * vxx_exponent
    marks: tuple[Mark, ...] = ()
    settlements: tuple[Settlement, ...] = ()
    spx_smiles: tuple[Smile, ...] = ()  # when given, SPX vols come from them, not spx_vol
    vix_smiles: tuple[Smile, ...] = ()
    source: str | None = None
    demo: bool = False


@dataclass(frozen=True)
class WhatIf:
    """A hypothetical move applied before pricing; never touches the book."""
    spx_move: float = 0.0  # fraction of SPX
    vix_move: float = 0.0  # VIX points on top of the spot-vol map
    days: float = 0.0  # calendar days forward

    @property
    def is_live(self) -> bool:
        return self.spx_move == 0 and self.vix_move == 0 and self.days == 0


@dataclass(frozen=True)
class SignalInputs:
    """Signal values the hedge rules read; None means unknown (rule does not fire)."""
    as_of: date | None = None
    ad_divergence: str | None = None  # "bearish", "bullish", "none"; None: no breadth data
    term_rsi: float | None = None  # RSI(14) of VIX/VIX3M (or of VIX, see term_rsi_source)
    term_rsi_source: str = "VIX/VIX3M"
    vix_percentile: float | None = None  # one-year percentile rank of VIX, 0-100
    contango: bool | None = None  # VIX curve upward sloping
    events: tuple[tuple[str, date], ...] = ()  # upcoming (name, date), e.g. ("FOMC", ...)
    demo: bool = False

"""The backtest config: defaults, every field's range, typos and wrong types as one line
naming file, line and field, the commented template round-tripping, and no input at all
raising anything but InputError."""
from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from core.backtest.config import (DEFAULT, KEYS, BacktestConfig, Bootstrap, Cash, Entry, Exit,
                                  Hedge, Model, Strikes, config_text, load_config, parse_config)
from core.model.errors import InputError

ROOT = Path(__file__).resolve().parents[1]


def error(text: str) -> str:
    with pytest.raises(InputError) as info:
        parse_config(text, "bt.toml")
    return str(info.value)


def test_defaults():
    cfg = parse_config("", "bt.toml")
    assert cfg == DEFAULT == BacktestConfig()
    assert cfg.source == "bt.toml"
    assert (cfg.entry.schedule, cfg.entry.every_days, cfg.entry.dte) == ("every", 5, 45)
    assert (cfg.strikes.short_delta, cfg.strikes.wing_width, cfg.strikes.wing_delta) == (0.16, 50.0, None)
    assert cfg.cash == Cash(0.03, False) and cfg.hedge.layers == (1, 2, 3)
    assert cfg.model.beta == -4.0 and cfg.bootstrap == Bootstrap(1000, 20.0, 10.0, 1)


def test_a_full_file_reads_every_key():
    cfg = parse_config("""
[entry]
schedule = "monthly"
dte = 30.0          # an integral float is a whole number
[strikes]
short_delta = 0.2
wing_delta = 0.05
[cash]
rate = "history"
[hedge]
layers = [3, 1]
[model]
skew_index = false
""", "bt.toml")
    assert cfg.entry == Entry("monthly", 5, 30) and isinstance(cfg.entry.dte, int)
    assert cfg.strikes == Strikes(0.2, None, 0.05, 5.0)
    assert cfg.cash == Cash(None, True)
    assert cfg.hedge.layers == (1, 3)
    assert cfg.model == Model(skew_index=False)


def test_load_config_reads_a_file_and_names_it(tmp_path):
    path = tmp_path / "bt.toml"
    path.write_text("[exit]\ntake_profit_pct = 50\n", encoding="utf-8")
    cfg = load_config(path)
    assert cfg.exit == Exit(50.0, 0.0, 0) and cfg.source == str(path)
    path.write_text("[exit]\n\ntake_profit_pct = 150\n", encoding="utf-8")
    with pytest.raises(InputError, match=re.escape(f"{path}:3: exit.take_profit_pct: must be from 0 to 100,"
                                                   " got 150.0")):
        load_config(path)


# (section, key, accepted values, refused values, the refusal); each value as written in TOML.
# A value at or below zero where the floor is above it is told so first.
FROM = "must be from {} to {}"
WHOLE = "must be a whole number from {} to {}"
RANGES = [
    ("entry", "every_days", ["1", "250"], ["0", "251"], WHOLE.format(1, 250)),
    ("entry", "dte", ["1", "400"], ["0", "401"], WHOLE.format(1, 400)),
    ("strikes", "short_delta", ["0.01", "0.49"], ["0.009", "0.491"], FROM.format(0.01, 0.49)),
    ("strikes", "wing_width", ["0.001", "1000"], ["0.0", "-5.0", "1000.5"], "must be above zero and at most 1,000"),
    ("strikes", "wing_delta", ["0.001", "0.159"], ["0.0009", "0.16"], "must be at least 0.001 and below short_delta 0.16"),
    ("strikes", "step", ["0.05", "100"], ["0.0", "100.5"], "must be above zero and at most 100"),
    ("size", "max_loss_pct", ["0.01", "100"], ["0.0", "-1.0", "100.1"], "must be above zero and at most 100"),
    ("exit", "take_profit_pct", ["0", "100"], ["100.1"], FROM.format(0, 100)),
    ("exit", "stop_multiple", ["0", "100"], ["100.1"], FROM.format(0, 100)),
    ("exit", "close_dte", ["0", "1", "44"], ["-1", "401"], WHOLE.format(0, 400)),
    ("costs", "commission", ["0", "100"], ["100.01"], FROM.format(0, 100)),
    ("costs", "slippage", ["0", "50"], ["50.5"], FROM.format(0, 50)),
    ("costs", "vix_slippage", ["0", "10"], ["10.5"], FROM.format(0, 10)),
    ("cash", "rate", ["-0.05", "0", "0.5"], ["-0.06", "0.51", "3.0"],
     "must be from -0.05 to 0.5 a year, as a fraction (0.03 is 3%)"),
    ("hedge", "drag_budget_pct", ["0", "100"], ["100.5"], FROM.format(0, 100)),
    ("hedge", "premium_cap_pct", ["0", "100"], ["100.5"], FROM.format(0, 100)),
    ("hedge", "target_coverage", ["0", "1"], ["1.01"], FROM.format(0, 1)),
    ("hedge", "rebalance_band", ["0", "1"], ["1.01"], FROM.format(0, 1)),
    ("model", "atm_ratio", ["0.3", "1.5"], ["0.29", "1.51"], FROM.format(0.3, 1.5)),
    ("model", "skew_slope", ["0", "1"], ["1.01"], FROM.format(0, 1)),
    ("model", "dividend_yield", ["0", "0.2"], ["0.21"], FROM.format(0, 0.2)),
    ("model", "vix_vol", ["0.05", "5"], ["0.04", "5.1"], FROM.format(0.05, 5)),
    ("model", "vix_vol_decay", ["0", "1"], ["1.01"], FROM.format(0, 1)),
    ("model", "kappa", ["0", "50"], ["50.5"], FROM.format(0, 50)),
    ("model", "beta", ["-20", "0"], ["-20.5", "0.5"], FROM.format(-20, 0)),
    ("model", "long_vix", ["5", "80"], ["4.9", "80.5"], FROM.format(5, 80)),
    ("bootstrap", "paths", ["1", "100000"], ["0", "100001"], WHOLE.format(1, "100,000")),
    ("bootstrap", "block_days", ["1", "2520"], ["0.5", "2521.0"], "must be from 1 to 2,520"),
    ("bootstrap", "years", ["0.25", "40"], ["0.24", "40.5"], FROM.format(0.25, 40)),
    ("bootstrap", "seed", ["0", "4294967295"], ["-1", "4294967296"], WHOLE.format(0, "4,294,967,295")),
]
NEGATIVE = [(s, k) for s, k, _, _, why in RANGES if why.startswith("must be from 0 to")]
TEXT = "# a comment\n[{}]\n{} = {}\n"


@pytest.mark.parametrize("section, key, value", [(s, k, v) for s, k, ok, _, _ in RANGES for v in ok])
def test_values_in_range_are_taken(section, key, value):
    cfg = parse_config(TEXT.format(section, key, value), "bt.toml")
    assert getattr(getattr(cfg, section), key) == float(value)


@pytest.mark.parametrize("section, key, value, why",
                         [(s, k, v, why) for s, k, _, bad, why in RANGES for v in bad])
def test_values_out_of_range_name_file_line_and_field(section, key, value, why):
    assert error(TEXT.format(section, key, value)) == f"bt.toml:3: {section}.{key}: {why}, got {value}"


@pytest.mark.parametrize("section, key", NEGATIVE)
def test_a_negative_where_zero_is_the_floor(section, key):
    assert error(TEXT.format(section, key, "-1")).startswith(f"bt.toml:3: {section}.{key}: must not be negative")


def test_every_key_has_a_range_test_or_is_not_a_number():
    tested = {(s, k) for s, k, *_ in RANGES}
    others = {("entry", "schedule"), ("model", "skew_index"), ("hedge", "layers")}
    assert tested | others == {(s, k) for s, keys in KEYS.items() for k in keys}


def test_close_dte_must_be_below_the_entry_dte():
    assert parse_config("[entry]\ndte = 400\n[exit]\nclose_dte = 399\n", "bt.toml").exit.close_dte == 399
    assert error("[entry]\ndte = 30\n[exit]\nclose_dte = 30\n") == \
        "bt.toml:4: exit.close_dte: must be below entry.dte 30, got 30"
    assert error("[exit]\nclose_dte = 45\n") == "bt.toml:2: exit.close_dte: must be below entry.dte 45, got 45"


def test_wing_delta_is_checked_against_the_files_short_delta():
    assert parse_config("[strikes]\nshort_delta = 0.3\nwing_delta = 0.2\n", "x").strikes.wing_delta == 0.2
    assert error("[strikes]\nshort_delta = 0.1\nwing_delta = 0.1\n") == \
        "bt.toml:3: strikes.wing_delta: must be at least 0.001 and below short_delta 0.1, got 0.1"


def test_both_wings_is_an_error_naming_both_lines():
    assert error("[strikes]\nwing_width = 50\n\nwing_delta = 0.05\n") == \
        "bt.toml:4: strikes.wing_delta: give wing_width (line 2) or wing_delta, not both"


@pytest.mark.parametrize("text, message", [
    ("[strikes]\nshort_detla = 0.2\n", "bt.toml:2: strikes.short_detla: unknown field: did you mean short_delta?"),
    ("[strikes]\ndte = 30\n", "bt.toml:2: strikes.dte: unknown field: it belongs under [entry]"),
    ("[strikes]\nfoo = 1\n", "bt.toml:2: strikes.foo: unknown field: known: short_delta, wing_width, wing_delta, step"),
    ("\n[strike]\nshort_delta = 0.2\n", "bt.toml:2: strike: unknown section: did you mean [strikes]?"),
    ("[hedges.x]\n", "bt.toml:1: hedges: unknown section: did you mean [hedge]?"),
    ("dte = 30\n", "bt.toml:1: dte: unknown field: it belongs under [entry]"),
    ("[cash]\nhistory = true\n", "bt.toml:2: cash.history: unknown field: known: rate"),
    ("[entry.extra]\nx = 1\n", "bt.toml:1: entry.extra: unknown field: known: schedule, every_days, dte"),
])
def test_unknown_sections_and_keys_are_refused_with_their_line(text, message):
    assert error(text) == message


@pytest.mark.parametrize("text, message", [
    ('[entry]\ndte = "45"\n', "entry.dte: must be a whole number, got '45'"),
    ("[entry]\ndte = true\n", "entry.dte: must be a whole number, got True"),
    ("[entry]\ndte = 45.5\n", "entry.dte: must be a whole number, got 45.5"),
    ("[bootstrap]\nseed = 1e300\n", "bootstrap.seed: must be a whole number from 0 to 4,294,967,295, got 1e+300"),
    ("[bootstrap]\npaths = inf\n", "bootstrap.paths: must be a finite number, got inf"),
    ('[strikes]\nshort_delta = "0.16"\n', "strikes.short_delta: must be a number, got '0.16'"),
    ("[strikes]\nshort_delta = true\n", "strikes.short_delta: must be a number, got True"),
    ("[strikes]\nshort_delta = nan\n", "strikes.short_delta: must be a finite number, got nan"),
    ("[strikes]\nshort_delta = [0.16]\n", "strikes.short_delta: must be a number, got [0.16]"),
    ('[entry]\nschedule = "weekly"\n', "entry.schedule: must be \"every\" (every_days) or \"monthly\", got 'weekly'"),
    ("[entry]\nschedule = 5\n", "entry.schedule: must be text, got 5"),
    ('[model]\nskew_index = "yes"\n', "model.skew_index: must be true or false, got 'yes'"),
    ('[cash]\nrate = "tbill"\n', "cash.rate: must be a number or \"history\", got 'tbill'"),
    ("[cash]\nrate = false\n", "cash.rate: must be a number or \"history\", got False"),
    ("[hedge]\nlayers = 2\n", "hedge.layers: must be a list, got 2"),
    ("[hedge]\nlayers = [1, 1]\n", "hedge.layers: must list layers 1, 2 and 3, each at most once, got [1, 1]"),
    ("[hedge]\nlayers = [1, 4]\n", "hedge.layers: must list layers 1, 2 and 3, each at most once, got [1, 4]"),
    ("[hedge]\nlayers = [true]\n", "hedge.layers: must list layers 1, 2 and 3, each at most once, got [True]"),
    ("[hedge]\nlayers = []\n", "hedge.layers: must name at least one layer (alvh backtest --unhedged runs"
                               " without the hedge)"),
])
def test_wrong_types_are_refused(text, message):
    assert error(text) == f"bt.toml:2: {message}"


def test_a_section_that_is_not_a_table():
    assert error("entry = 5\n") == "bt.toml:1: entry: must be a table [entry], got 5"
    assert error("[[entry]]\ndte = 5\n") == "bt.toml:1: entry: must be a table [entry], got [[entry]] tables"
    assert error("[entry]\n[entry]\n").startswith("bt.toml:2: malformed TOML")


@pytest.mark.parametrize("cfg", [
    DEFAULT,
    BacktestConfig(entry=Entry("monthly", 7, 60), strikes=Strikes(0.1, None, 0.03, 1.0),
                   exit=Exit(50.0, 2.0, 21), cash=Cash(None, True), hedge=Hedge(layers=(2,)),
                   model=Model(skew_index=False, beta=-3.3, kappa=0.1 + 0.2),
                   bootstrap=Bootstrap(5, 12.5, 0.25, 2 ** 32 - 1)),
    replace(DEFAULT, cash=Cash(-0.0123456789, False), strikes=Strikes(wing_width=12.5)),
])
def test_config_text_round_trips(cfg):
    text = config_text(cfg)
    assert parse_config(text, "bt.toml") == cfg
    assert all(line == "" or line.startswith(("#", "[")) or "  # " in line for line in text.splitlines())


def test_the_demo_config_is_the_defaults_template():
    path = ROOT / "core" / "demo" / "backtest.toml"
    assert path.read_text(encoding="utf-8") == config_text(DEFAULT)
    assert load_config(path) == DEFAULT


def test_the_readme_example_parses():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"~~~toml\n(.*?)~~~", readme.split("## Backtest config")[1], re.S)
    cfg = parse_config(block, "README")
    assert cfg.entry.dte == 45 and cfg.strikes.wing_width == 50 and cfg.cash.rate == 0.03


def test_file_errors_are_one_line(tmp_path):
    missing = tmp_path / "none.toml"
    cases = {missing: "file not found", tmp_path: "a folder, not a backtest config file"}
    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * ((1 << 20) + 1))
    cases[big] = "larger than 1 MB: not a backtest config file"
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b"[entry]\n# caf\xe9\n")
    cases[latin] = ":2: not UTF-8 text (byte 14)"
    for path, message in cases.items():
        with pytest.raises(InputError) as info:
            load_config(path)
        assert str(info.value).startswith(str(path)) and message in str(info.value), info.value
        assert "\n" not in str(info.value)


# ---- fuzz: whatever the input, a config or one InputError ----------------------------------

SECTION_NAMES = list(KEYS) + ["strike", "entry.x", "[x]", ""]
KEY_NAMES = [k for keys in KEYS.values() for k in keys] + ["history", "x", '"a.b"', "entry.dte"]
VALUES = st.one_of(
    st.sampled_from(["0", "-1", "1e308", "-0.0", "inf", "nan", "9223372036854775807", "0.16", "50", "45.0",
                     "true", '"history"', '"every"', '"monthly"', "[1, 2, 3]", "[]", "[1, 1]", "[true]",
                     "{}", "{a = 1}", "2026-01-02", "1979-05-27T07:32:00Z", "'x'", '"\\u0007"', "[[1]]"]),
    st.integers(-10 ** 20, 10 ** 20).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.text(max_size=8).map(lambda s: '"' + s.replace("\\", "").replace('"', "") + '"'))
LINES = st.one_of(st.sampled_from(SECTION_NAMES).map(lambda s: f"[{s}]"),
                  st.sampled_from(SECTION_NAMES).map(lambda s: f"[[{s}]]"),
                  st.tuples(st.sampled_from(KEY_NAMES), VALUES).map(lambda kv: f"{kv[0]} = {kv[1]}"),
                  st.text(max_size=20))
FUZZ = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _only_input_error(read) -> None:
    try:
        cfg = read()
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    assert isinstance(cfg, BacktestConfig)
    assert parse_config(config_text(cfg), "again") == cfg


@FUZZ
@given(st.lists(LINES, max_size=12))
def test_fuzz_toml_ish_text(lines):
    _only_input_error(lambda: parse_config("\n".join(lines), "bt.toml"))


@FUZZ
@given(st.binary(max_size=300) | st.lists(LINES, max_size=12).map(lambda ls: "\n".join(ls).encode("utf-8", "replace")))
def test_fuzz_bytes(tmp_path, data):
    path = tmp_path / "fuzz.toml"
    path.write_bytes(data)
    _only_input_error(lambda: load_config(path))

"""Writing the market file: byte-for-byte round trip, comments kept, atomic with a backup."""
from dataclasses import replace

import pytest

from core.model.errors import InputError
from core.market.marketfile import load_market, market_to_toml, parse_market, save_market
from core.model.inputs import Mark, VolSurface
from core.io.paths import DEMO_MARKET

TEXT = DEMO_MARKET.read_text()
MARKET = parse_market(TEXT)


def test_unchanged_market_writes_the_same_text():
    assert market_to_toml(MARKET, TEXT) == TEXT


def test_new_levels_keep_the_users_comments():
    text = market_to_toml(replace(MARKET, spx=6901.25, vix3m=None, vix_futures=MARKET.vix_futures[:2]), TEXT)
    back = parse_market(text)
    assert (back.spx, back.vix3m, len(back.vix_futures)) == (6901.25, None, 2)
    assert "# DEMO market" in text and "# continuous, annual" in text


def test_fresh_file_round_trips_in_meaning():
    m = replace(MARKET, spx_vol=VolSurface(0.16, -0.7, ((6300.0, 0.25),)),
                marks=(Mark("spx_put", MARKET.vix_futures[3][0], 6450.0, 31.2),))
    back = parse_market(market_to_toml(m))
    assert replace(back, source=None) == replace(m, source=None)


def test_save_keeps_a_backup_and_refuses_what_it_could_not_read(tmp_path):
    path = tmp_path / "market.toml"
    path.write_text(TEXT)
    save_market(replace(MARKET, spx=7000.0), path)
    assert load_market(path).spx == 7000 and load_market(tmp_path / "market.toml.bak").spx == 6850
    with pytest.raises(InputError):
        save_market(replace(MARKET, vix=-1.0), path)
    assert load_market(path).spx == 7000  # untouched

"""``vaultstore copy``: whole datasets between PostgreSQL and MongoDB in both
directions, compared row by row as PostgreSQL prints them (every digit of every
Decimal, every timestamp), refusing a non-empty target, resuming after a copy
killed part-way, and ``--verify`` finding what differs."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiosql
import psycopg
import pymongo
import pytest

import vaultstore
from vaultstore import ChainId, LiquidationProtection, TokenAmount
from vaultstore.admin.cli import main
from vaultstore.admin.copy import DOCUMENTS, BarProgress, LineProgress, canonical, copy_order
from vaultstore.admin.sample import load_sample_data

from .databases import fresh_database, with_test_partitions
from .mongo_server import mongo_daemon_uri  # noqa: F401 - a fixture

SQL = aiosql.from_path(Path(__file__).parent / "sql" / "copy.sql", "psycopg")
T0 = datetime(2025, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def every_row(url: str) -> list[tuple[str, str, str]]:
    with psycopg.connect(url) as conn:
        return list(SQL.every_row(conn))


def mongo_database(server_uri: str) -> str:
    """A database of its own on the MongoDB server of ``server_uri``."""
    return urlsplit(server_uri)._replace(path=f"/vs_copy_{uuid.uuid4().hex[:10]}").geturl()


def fill(store: vaultstore.Store) -> None:
    """The demo's sample data, and some of every entity and document beside it."""
    load_sample_data(store)
    agent = store.agents.create(name="copy_agent", credibility_score=640)
    vault = store.vaults.create(
        agent_id=agent.id,
        chain_id=ChainId.BASE,
        collateral=TokenAmount(token="WETH", amount="1.000000000000000001", value_usd="3000.10"),
        debt=TokenAmount(token="USDC", amount="1500.500000", value_usd="1500.5"),
        ltv="50.0100",
        health_factor="1.95",
        max_ltv="80",
        liquidation_protection=LiquidationProtection(enabled=False, threshold="77.5"),
    )
    store.vaults.update_vault_metrics(vault.id, "51.25", "1.9")  # version 2
    alert = store.alerts.create(
        vault_id=vault.id, alert_type="ltv_warning", severity="medium", message="LTV ✓ 51%"
    )
    store.alerts.acknowledge(alert.id)
    store.liquidations.create(
        vault_id=vault.id,
        chain_id=ChainId.BASE,
        collateral_seized=TokenAmount(token="WETH", amount="0.25", value_usd="750.025"),
        debt_repaid=TokenAmount(token="USDC", amount="700", value_usd="700.00"),
        penalty_usd="35.0000001",
        ltv="91.3",
        health_factor="0.97",
        liquidator="0xabc",
        tx_hash="0x" + "ab" * 32,
        occurred_at=T0,
    )
    store.protection_rules.create(
        vault_id=vault.id,
        name="nested rule",
        conditions={"all": [{"ltv_gte": 85.5}, {"health_lt": 1}], "note": "ünïcode"},
        actions=[{"type": "repay", "percent": 25, "tokens": ["USDC", "DAI"]}],
        priority=7,
    )
    store.market_data.bulk_insert(
        {"token": "DAI", "chain_id": 10, "price_usd": "0.99990001", "recorded_at": T0}
        for _ in range(1)
    )
    store.documents.put(
        "vault", vault.id, "report.bin", bytes(range(256)) * 2_100, metadata={"q": [1, 2.5]}
    )
    store.documents.put("agent", agent.id, "empty.txt", b"", content_type="text/plain")


@pytest.fixture
def source(postgres_url: str) -> Iterator[str]:
    with fresh_database(postgres_url) as url:
        vaultstore.apply_migrations(url)
        with vaultstore.connect(with_test_partitions(url)) as store:
            fill(store)
        yield url


@pytest.fixture
def target(postgres_url: str) -> Iterator[str]:
    with fresh_database(postgres_url) as url:
        yield url


def test_parents_are_copied_before_their_children_and_documents_last() -> None:
    order = copy_order(vaultstore.REGISTRY)
    assert order[-1] == DOCUMENTS
    assert order.index("agents") < order.index("vaults") < order.index("alerts")
    assert copy_order(vaultstore.REGISTRY, ["documents", "alerts", "agents"]) == [
        "agents",
        "alerts",
        "documents",
    ]
    with pytest.raises(vaultstore.ValidationError, match="no entity named vault"):
        copy_order(vaultstore.REGISTRY, ["vault"])


def test_the_canonical_form_is_by_value_to_the_millisecond() -> None:
    def price(value: str, at: datetime) -> vaultstore.MarketData:
        return vaultstore.MarketData(
            id="p1",
            token="ETH",
            chain_id=1,
            price_usd=Decimal(value),
            recorded_at=at,
            created_at=T0,
            updated_at=T0,
        )

    same = canonical(price("1.50", T0))
    assert canonical(price("1.5", T0)) == same
    assert canonical(price("15E-1", T0 + timedelta(microseconds=400))) == same
    assert canonical(price("1.500000000000000000000000000001", T0)) != same  # no rounding
    assert canonical(price("1.5", T0 + timedelta(milliseconds=1))) != same


def test_progress_on_a_terminal_is_a_bar_and_elsewhere_plain_lines() -> None:
    stream = io.StringIO()
    bar = BarProgress(stream)
    bar.start("vaults", 1_000, 200)
    bar.advance(300)
    bar.finish()
    shown = stream.getvalue()
    assert "vaults" in shown
    assert "500/1.00k" in shown  # count of total, with the rate and time left beside
    lines: list[str] = []
    plain = LineProgress(lines.append, every=0)
    plain.start("market_data", 4_000, 1_000)
    plain.advance(1_000)
    plain.finish()
    assert lines[0] == "copy market_data: 4,000 to copy, 1,000 already there"
    assert re.fullmatch(r"copy market_data: 2,000/4,000 \(50%\), [\d,]+/s, [\d,]+ s left", lines[1])
    assert re.fullmatch(r"copy market_data: 2,000 done in [\d.]+ s", lines[2])


def test_postgresql_to_mongodb_to_postgresql_keeps_every_row(
    source: str, target: str, mongo_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    middle = mongo_database(mongo_uri)
    code, out, err = run(capsys, "copy", "--from", source, "--to", middle, "--verify")
    assert (code, err) == (0, "")
    assert out[-1] == "verify: every entity is the same"
    assert "copy vaults: 5 to copy" in out
    code, out, err = run(capsys, "copy", "--from", middle, "--to", target, "--verify")
    assert (code, err) == (0, "")
    assert "copied: 5 agents, 5 vaults, 3 alerts, 1 liquidations, 3 protection_rules, " in out[-9]
    rows = every_row(source)
    assert {row[0] for row in rows} >= {"liquidation_events", "document_chunks", "documents"}
    assert every_row(target) == rows


def test_a_non_empty_target_is_refused_unless_resuming(
    source: str, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "copy", "--from", source, "--to", target)[0] == 0
    code, _, err = run(capsys, "copy", "--from", source, "--to", target)
    assert code == 2
    assert "is not empty (5 agents, 5 vaults" in err
    assert "--resume" in err
    code, out, _ = run(capsys, "copy", "--from", source, "--to", target, "--resume", "--verify")
    assert code == 0  # nothing left to copy, and nothing copied twice
    assert "copied: 0 agents, 0 vaults, 0 alerts" in " ".join(out)
    assert every_row(target) == every_row(source)


def test_a_source_of_several_tenants_is_refused(
    source: str, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Entities do not carry their tenant: copied as the superuser, who sees every
    tenant's rows, they would all become the default tenant's in the target."""
    with vaultstore.connect(source, tenant="acme") as acme:
        acme.agents.create(name="acme_agent", credibility_score=1)
    code, _, err = run(capsys, "copy", "--from", source, "--to", target)
    assert code == 2
    assert "rows of other tenants than 'default' (acme)" in err
    with psycopg.connect(target) as conn:  # refused before anything was done there
        assert conn.execute("SELECT to_regclass('agents')").fetchone() == (None,)


def test_a_copy_that_stopped_part_way_is_resumed(
    source: str, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """What a copy killed in the middle of the vaults leaves: every agent, the
    first vaults in id order, each page committed whole."""
    vaultstore.apply_migrations(target)
    with vaultstore.connect(source) as src, vaultstore.connect(target) as dst:
        dst.agents.restore(src.agents.list(limit=100))
        dst.vaults.restore(src.vaults.list(limit=2))
    code, out, err = run(
        capsys, "copy", "--from", source, "--to", target, "--resume", "--batch-size", "2"
    )
    assert (code, err) == (0, "")
    assert "copy vaults: 5 to copy, 2 already there" in out
    assert "copied: 0 agents, 3 vaults, 3 alerts" in out[-1]
    assert every_row(target) == every_row(source)


def test_verify_finds_a_change_and_exits_1(
    source: str, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "copy", "--from", source, "--to", target)[0] == 0
    with psycopg.connect(target) as conn:
        SQL.change_one_ltv(conn)
    code, out, _ = run(capsys, "copy", "--from", source, "--to", target, "--verify-only")
    assert code == 1
    assert [line.split(":")[0] for line in out if "DIFFERENT" in line] == ["verify vaults"]
    assert out[-1] == "verify: 1 entity(ies) differ"


def test_only_the_entities_asked_for(
    source: str, target: str, mongo_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    middle = mongo_database(mongo_uri)
    code, out, _ = run(
        capsys, "copy", "--from", source, "--to", middle, "--entities", "market_data", "agents"
    )
    assert code == 0
    assert out[-1] == "copied: 5 agents, 10 market_data"
    with vaultstore.connect(middle) as store:
        assert store.vaults.count() == 0
        assert store.market_data.count() == 10


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--entities", "vault"], "no entity named vault"),
        (["--batch-size", "0"], "batch_size: must be from 1 to 10000"),
    ],
)
def test_bad_arguments_are_refused(
    source: str,
    target: str,
    argv: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "copy", "--from", source, "--to", target, *argv)
    assert code == 2
    assert message in err


def test_a_database_is_not_copied_onto_itself(
    source: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "copy", "--from", source, "--to", source)
    assert code == 2
    assert "name the same database" in err


# -- at scale, killed part-way -------------------------------------------------------

VAULTS = int(os.environ.get("VAULTSTORE_TEST_COPY_VAULTS", "100000"))
"""Vaults added to the demo data for the copies below."""
MONGO_VAULTS = int(
    os.environ.get(
        "VAULTSTORE_TEST_COPY_MONGO_VAULTS",
        str(VAULTS) if os.environ.get("VAULTSTORE_TEST_MONGO_URI") else "10000",
    )
)
"""Through MongoDB: as many on a real mongod; 10,000 on SecantusDB, which stores
and reads back some hundreds of documents a second (raw pymongo included), where
100,000 would take the best part of ten minutes each way."""


def killed_copy(source: str, target: str, *, batch_size: int) -> None:
    """Start ``vaultstore copy`` in a process of its own and kill it (SIGKILL)
    once it reports vaults copied, and before it is done."""
    process = subprocess.Popen(  # a fixed argument list, no shell
        [
            *(sys.executable, "-m", "vaultstore", "copy"),
            *("--from", source, "--to", target, "--batch-size", str(batch_size)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    seen: list[str] = []
    try:
        for line in process.stdout:
            seen.append(line)
            if line.startswith("copy vaults: ") and "/" in line:
                process.send_signal(signal.SIGKILL)
                break
        else:
            pytest.fail("the copy ended before it reported vaults copied:\n" + "".join(seen))
    finally:
        process.kill()
        process.wait(timeout=30)
        process.stdout.close()


def add_vaults(url: str, count: int) -> None:
    with vaultstore.connect(url) as store:
        agent = store.agents.find_by_name("copy_agent")
        assert agent is not None
    with psycopg.connect(url) as conn:
        SQL.many_vaults(conn, agent_id=agent.id, count=count)


def stored(url: str, name: str) -> int:
    with vaultstore.connect(url) as store:
        count: int = store.repository(name).count()
        return count


def resumed(source: str, target: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "copy", "--from", source, "--to", target)
    assert code == 2
    assert "is not empty" in err
    code, out, err = run(capsys, "copy", "--from", source, "--to", target, "--resume", "--verify")
    assert (code, err) == (0, "")
    assert out[-1] == "verify: every entity is the same"


@pytest.mark.slow
def test_100k_vaults_killed_part_way_and_resumed(
    source: str, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    add_vaults(source, VAULTS)
    killed_copy(source, target, batch_size=2_000)
    assert 0 < stored(target, "vaults") < VAULTS
    resumed(source, target, capsys)
    assert every_row(target) == every_row(source)


@pytest.mark.slow
def test_through_mongodb_killed_part_way_and_resumed(
    source: str,
    target: str,
    mongo_daemon_uri: str,  # noqa: F811 - the fixture imported above
    capsys: pytest.CaptureFixture[str],
) -> None:
    add_vaults(source, MONGO_VAULTS)
    middle = mongo_database(mongo_daemon_uri)
    killed_copy(source, middle, batch_size=1_000)
    assert 0 < stored(middle, "vaults") < MONGO_VAULTS
    resumed(source, middle, capsys)
    code, out, _ = run(capsys, "copy", "--from", middle, "--to", target, "--verify")
    assert (code, out[-1]) == (0, "verify: every entity is the same")
    assert every_row(target) == every_row(source)
    client: pymongo.MongoClient[Any] = pymongo.MongoClient(middle)
    client.drop_database(client.get_default_database())
    client.close()

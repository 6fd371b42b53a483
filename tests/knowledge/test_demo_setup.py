"""The demo command's setup step on the embedded default (SQLite, file-system broker), in a fresh folder."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def demo_env(var_dir: Path) -> dict[str, str]:
    """The environment `make demo` runs in, with its files in ``var_dir``: none of the suite's database settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_URL"))}
    env["PLAUSI_VAR_DIR"] = str(var_dir)
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.local"  # as `make demo` sets it (production is the default)
    return env


def run_demo_setup(var_dir: Path) -> subprocess.CompletedProcess[str]:
    env = demo_env(var_dir)
    return subprocess.run(
        [sys.executable, "manage.py", "demo", "--setup-only"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_demo_setup_creates_the_database_data_and_accounts_and_can_run_again(tmp_path: Path) -> None:
    first = run_demo_setup(tmp_path)
    assert first.returncode == 0, first.stderr
    accounts = re.findall(r"^\s+(annotator|curator|admin)\s+(\S+)\s+(\S+)$", first.stdout, re.M)
    assert sorted(role for role, _name, _password in accounts) == [
        "admin",
        "annotator",
        "annotator",
        "annotator",
        "curator",
    ]
    database = sqlite3.connect(tmp_path / "plausi.sqlite3")
    candidates, categories, relations, kinds = database.execute(
        "SELECT count(*), count(DISTINCT p.category_id), count(DISTINCT c.relation_id), count(DISTINCT c.head_kind) "
        "FROM knowledge_candidate c LEFT JOIN knowledge_behaviourpair b ON b.id = c.pair_id "
        "LEFT JOIN knowledge_product p ON p.id = b.product_id"
    ).fetchone()
    assert candidates >= 2000 and categories >= 6 and relations >= 10 and kinds == 3
    assert (tmp_path / "broker").is_dir()
    # which classifiers the loop compares: the encoder where torch and the packaged MiniLM import, else TF-IDF alone
    assert re.search(
        r"^Classifiers: each training compares tfidf_lr(, encoder_lr, mean_lr \(default encoder_lr\)|"
        r" \(default tfidf_lr\); encoder_lr needs torch)",
        first.stdout,
        re.M,
    ), first.stdout
    # the runs went through the shared runner on SQLite, and the pipeline's events and hand-offs were written
    runs = database.execute(
        "SELECT status, attempts, claimed_by != '' FROM knowledge_ingestrun UNION ALL "
        "SELECT status, attempts, claimed_by != '' FROM filtering_filterrun"
    ).fetchall()
    assert runs == [("succeeded", 1, 1), ("succeeded", 1, 1)]
    events = [name for (name,) in database.execute("SELECT name FROM core_pipelineevent ORDER BY id")]
    assert events == ["ingest.succeeded", "filter.succeeded"]
    handoffs = {task for (task,) in database.execute("SELECT task FROM core_outboxmessage")}
    assert {"pipeline.filter_after_ingest", "pipeline.queue_after_filter"} <= handoffs

    second = run_demo_setup(tmp_path)  # idempotent: the data is not ingested twice, passwords are renewed
    assert second.returncode == 0, second.stderr
    assert "already ingested" in second.stdout
    assert database.execute("SELECT count(*) FROM knowledge_candidate").fetchone()[0] == candidates
    new_passwords = re.findall(r"^\s+(?:annotator|curator|admin)\s+\S+\s+(\S+)$", second.stdout, re.M)
    assert set(new_passwords).isdisjoint(password for _r, _n, password in accounts)

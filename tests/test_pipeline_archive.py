"""A batch's raw copies and its claims (bot.intake.pipeline.process_batch): no mail is claimed
before its copy is on disk, and the batch's copies are made in one round of flushes (archiving
the first chunk's alone, the rest in a thread meanwhile, made a backlog slower: bench/README.md)."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select

from bot.intake import pipeline
from bot.store.models import InboundMail
from tests.support.embedded import REPO, Embedded


def mail(n: int) -> bytes:
    return (f"From: =?utf-8?b?5byg5LiJ?= <ent{n}@corp.test>\r\nTo: intake@rb.test\r\n"
            f"Subject: =?utf-8?b?5oql5ZCN?= {n}\r\nMessage-ID: <batch-{n}@corp.test>\r\n"
            f"Date: Tue, 01 Dec 2026 09:00:00 +0800\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n企业名称：测试{n}号公司\r\n").encode()


def test_no_claim_before_its_copy_and_one_round_of_copies_a_batch(tmp_path, monkeypatch):
    box = Embedded(tmp_path, REPO / "rules")
    config = tmp_path / "config.toml"
    config.write_text("commit_batch = 2\n" + config.read_text(encoding="utf-8"), encoding="utf-8")
    for n in range(7):
        box.deliver(mail(n))
    archived: list[int] = []  # the size of each archive_batch call, in order
    claimed: list[list[Path]] = []  # each claim's archive paths, each found on disk when claimed

    real_archive, real_claim = pipeline.archive_batch, pipeline.claim_chunk

    def archive_batch(root, raws):
        archived.append(len(raws))
        return real_archive(root, raws)

    def claim_chunk(rt, arrivals):
        missing = [a.path for a in arrivals if not a.path.is_file()]
        assert missing == [], f"claimed before archived: {missing}"
        claimed.append([a.path for a in arrivals])
        return real_claim(rt, arrivals)

    monkeypatch.setattr(pipeline, "archive_batch", archive_batch)
    monkeypatch.setattr(pipeline, "claim_chunk", claim_chunk)
    rt = box.run("2026-12-01")

    assert archived == [7]  # the whole batch's copies in one round
    assert sum(len(c) for c in claimed) == 7 and len(claimed) >= 4  # chunks of at most two
    with Session(rt.engine) as db:
        rows = list(db.exec(select(InboundMail)))
    assert len(rows) == 7 and all(r.status == "done" for r in rows)
    assert all(Path(r.archive_path).read_bytes() == mail(int(r.message_id[6:-10])) for r in rows)

"""`init DIR`: a folder to start from: config.toml (every setting commented, with its help) and
rules/ copied from the packaged defaults (the sample programme of Wuhai, to edit). Nothing that
exists is overwritten."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.commands.output import say
from bot.config import starter_config
from bot.defaults import packaged
from bot.errors import InputError


def init_cmd(target: Path) -> None:
    config, rules = target / "config.toml", target / "rules"
    existing = [str(p) for p in (config, rules) if p.exists()]
    if existing:
        raise InputError(f"{'、'.join(existing)} 已存在，未做任何修改（init 不覆盖已有文件）")
    target.mkdir(parents=True, exist_ok=True)
    config.write_text(starter_config(), encoding="utf-8")
    shutil.copytree(packaged("rules"), rules)
    say(f"已写入 {config}")
    say(f"已写入 {rules}/（{len(list(rules.iterdir()))} 个规则文件，内容为示例，请按本市实际修改）")
    say(f"下一步：cd {target} && reception-bot check && reception-bot run")

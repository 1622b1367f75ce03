"""Make valid 18-character unified social credit codes (GB 32100-2015) for example rule files and tests.

Usage: python scripts/make_credit_codes.py 150302 MA0N1RX2 [150303 MA13PQ7L ...]
Each pair is a region code and the first 8 characters of the organisation code; the script appends the
organisation code's own check character (GB 11714) and the code's check character (GB 32100), and prints
the result. The codes are made up: they only pass the checksums, they name no real enterprise.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bot.uscc import USCC_ALPHABET, uscc_check_char  # noqa: E402 - the bot's own check character

ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def org_check(first8: str) -> str:
    """GB 11714 check character of the 9-character organisation code."""
    total = sum(int(c, 36) * w for c, w in zip(first8, ORG_WEIGHTS))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def make_code(region: str, org8: str, authority: str = "91") -> str:
    """91 = registered by the market regulator (9), as an enterprise (1)."""
    org8 = org8.upper()
    if any(c not in USCC_ALPHABET for c in org8) or len(org8) != 8:
        raise ValueError(f"organisation code part must be 8 characters of {USCC_ALPHABET}: {org8}")
    first17 = authority + region + org8 + org_check(org8)
    return first17 + uscc_check_char(first17)


def main(argv: list[str]) -> int:
    if len(argv) % 2:
        print(__doc__, file=sys.stderr)
        return 2
    for region, org8 in zip(argv[0::2], argv[1::2]):
        print(make_code(region, org8))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

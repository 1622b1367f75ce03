"""Regenerate templates/docs/notice.docx and templates/docs/slip.docx (committed; the admin may edit them).

Run: .venv/bin/python scripts/make_doc_templates.py [OUTDIR]   (default: templates/docs)
Editing in Word is fine as long as each {{ tag }} stays whole; rerunning this script overwrites edits.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.documents.notice import TEMPLATES_DIR, write_notice_template  # noqa: E402
from bot.documents.slip import write_slip_template  # noqa: E402


def main() -> None:
    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else TEMPLATES_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, build in (("notice.docx", write_notice_template), ("slip.docx", write_slip_template)):
        build(out_dir / name)
        print(out_dir / name)


if __name__ == "__main__":
    main()

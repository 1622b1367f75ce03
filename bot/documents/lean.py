"""A .docx without what python-docx's default template carries and no document of ours uses.

That template brings 164 styles and 137 latent-style entries (styles.xml, 350 kB), a second copy
of them for Word 2010 (stylesWithEffects.xml, 440 kB), a thumbnail of an empty page and a custom
XML part: ~30 kB of every document once compressed, and ~40 kB more in a mail once base64-encoded.
A referral carries one to a unit for every case referred, and its sent copy goes into our own
mailbox too. Here a package keeps the styles its parts (body, headers, footers, numbering) use,
with the styles those are based on, linked to or followed by, and the defaults; the parts nobody
reads go. Word, WPS and LibreOffice need none of it: latent styles and those parts are optional.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from lxml import etree

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
TYPES_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
STYLES = "word/styles.xml"
# Parts no reader needs: Word 2010's copy of the styles, the template's thumbnail and custom XML.
DROPPED = ("word/stylesWithEffects.xml", "docProps/thumbnail.jpeg", "customXml/")
# Where a style is referred to by id (its val attribute).
_USES = {f"{{{W}}}{tag}" for tag in ("pStyle", "rStyle", "tblStyle", "numStyleLink", "styleLink")}
_CHAIN = {f"{{{W}}}{tag}" for tag in ("basedOn", "link", "next")}
_VAL, _STYLE_ID, _DEFAULT = f"{{{W}}}val", f"{{{W}}}styleId", f"{{{W}}}default"


def lean_docx(data: bytes) -> bytes:
    """The same document with only the styles it uses and without the optional parts."""
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        names = [i.filename for i in package.infolist() if not _dropped(i.filename)]
        parts = {name: package.read(name) for name in names}
        infos = {name: package.getinfo(name) for name in names}
    if STYLES in parts:
        used = _used_ids([xml for name, xml in parts.items() if _may_use_styles(name)])
        parts[STYLES] = _kept_styles(parts[STYLES], used)
    for name in [n for n in parts if n.endswith(".rels")]:
        parts[name] = _without_dropped_targets(name, parts[name])
    parts["[Content_Types].xml"] = _without_dropped_types(parts["[Content_Types].xml"])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as lean:
        for name in names:
            lean.writestr(infos[name], parts[name], compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _dropped(name: str) -> bool:
    return any(name == d or (d.endswith("/") and name.startswith(d)) for d in DROPPED)


def _may_use_styles(name: str) -> bool:
    """The body, headers, footers, notes, comments and numbering of an admin's own template too."""
    return name.startswith("word/") and name.endswith(".xml") and name != STYLES and "/theme/" not in name


def _used_ids(xml_parts: list[bytes]) -> set[str]:
    return {el.get(_VAL) for xml in xml_parts for el in etree.fromstring(xml).iter(*_USES)} - {None}


def _kept_styles(xml: bytes, used: set[str]) -> bytes:
    root = etree.fromstring(xml)
    for latent in root.findall(f"{{{W}}}latentStyles"):
        root.remove(latent)
    styles = {s.get(_STYLE_ID): s for s in root.findall(f"{{{W}}}style")}
    keep = {sid for sid, s in styles.items() if s.get(_DEFAULT) in ("1", "true", "on")} | used
    todo = list(keep)
    while todo:  # the styles a kept one is based on, linked to or followed by
        style = styles.get(todo.pop())
        if style is None:  # named but not defined: nothing to keep
            continue
        for ref in style.iter(*_CHAIN):
            if ref.get(_VAL) not in keep:
                keep.add(ref.get(_VAL))
                todo.append(ref.get(_VAL))
    for sid, style in styles.items():
        if sid not in keep:
            root.remove(style)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _without_dropped_targets(rels_name: str, xml: bytes) -> bytes:
    """A relationships part without the relationships to dropped parts (targets are relative to
    the folder the part describes: word/_rels/document.xml.rels -> word/)."""
    root = etree.fromstring(xml)
    base = rels_name.rsplit("_rels/", 1)[0]
    for rel in root.findall(f"{{{RELS_NS}}}Relationship"):
        if rel.get("TargetMode") != "External" and _dropped(_resolve(base, rel.get("Target", ""))):
            root.remove(rel)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _resolve(base: str, target: str) -> str:
    parts: list[str] = [] if target.startswith("/") else [p for p in base.split("/") if p]
    for piece in target.lstrip("/").split("/"):
        if piece == "..":
            parts = parts[:-1]
        elif piece not in ("", "."):
            parts.append(piece)
    return "/".join(parts)


def _without_dropped_types(xml: bytes) -> bytes:
    root = etree.fromstring(xml)
    for override in root.findall(f"{{{TYPES_NS}}}Override"):
        if _dropped(override.get("PartName", "").lstrip("/")):
            root.remove(override)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def save_lean(document, target) -> None:
    """Save a python-docx (or docxtpl) document lean, to a path or a binary stream."""
    raw = io.BytesIO()
    document.save(raw)
    data = lean_docx(raw.getvalue())
    if hasattr(target, "write"):
        target.write(data)
    else:
        Path(target).write_bytes(data)

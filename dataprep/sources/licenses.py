"""Identify a repository's license from its LICENSE/COPYING files and classify it.

PaLM (Chowdhery et al. 2022, Section 3) filtered GitHub files "by the license included in the
repository; copyleft licenses were excluded". This module answers the question for one
repository: which license (an SPDX-like id) and which class, ``permissive``, ``copyleft`` or
``unknown``.

How it decides (pure functions, no I/O):

1. The text is normalised: lower case, British "licence" folded to "license", comment leaders,
   Markdown emphasis, quotes and rulers removed, whitespace collapsed, so that a license quoted
   in a ``#``-comment or a Markdown heading reads the same as the plain text.
2. An ``SPDX-License-Identifier:`` line is the author's machine-readable declaration: the first
   one names the file's license.
   Otherwise **strong evidence** is the license's own text: its title with a version ("GNU
   General Public License, Version 2", "Apache License, Version 2.0"), its operative grant
   ("Permission is hereby granted, free of charge, to any person obtaining a copy" is MIT), or
   the standard notice ("under the terms of the GNU General Public License as published by...").
   The **earliest** strong match in a file names the file's license: a LICENSE that starts with
   MIT and appends third-party notices is MIT.
3. Only when a file has no strong evidence, **weak evidence** counts: a sentence such as
   "released under the MIT license" or a bare SPDX expression as the whole file.
4. A mere mention is not evidence: "GPL-compatible" (CPython's LICENSE table) or "software
   that is released under the GPL" never match a strong rule, and CPython's LICENSE is
   identified by its "Python Software Foundation License" text (permissive). OpenJDK's LICENSE
   starts with the GPL-2.0 title and carries the Classpath exception: copyleft.
5. Across several license files of one repository, copyleft wins (a ``COPYING`` with the GPL
   beside a ``LICENSE-MIT`` is treated as copyleft: conservative, since we cannot tell a
   dual-license choice from bundled GPL code); otherwise permissive if any file is permissive.
   In an SPDX expression ``A OR B`` takes the more permissive side (the licensee may choose),
   ``A AND B`` the more restrictive.

Weak copyleft (LGPL, MPL, EPL, CDDL) counts as copyleft, as in PaLM's filter and The Stack's
permissive-only selection (Kocetkov et al. 2022).
"""

from __future__ import annotations

import re
from typing import Iterable, NamedTuple

LICENSE_CLASSES: tuple[str, ...] = ("permissive", "copyleft", "unknown")

# Root files that hold a repository's license: LICENSE, LICENCE, COPYING, UNLICENSE, COPYRIGHT,
# with or without a suffix (LICENSE.txt, LICENSE.md, LICENSE-MIT, COPYING.LESSER...).
LICENSE_FILE = re.compile(r"^(?:licen[cs]e|copying|unlicen[cs]e|copyright)(?:[-._][\w.+-]*)?$", re.IGNORECASE)

# Suffixes that make a LICENSE-like name a text file rather than, say, ``license.py``.
_TEXT_SUFFIXES = ("", ".txt", ".md", ".markdown", ".rst", ".text", ".asc", ".adoc", ".org")


class LicenseInfo(NamedTuple):
    """A repository's (or one file's) license: ``spdx`` id when identified, and its class."""

    spdx: str | None
    license_class: str


UNKNOWN = LicenseInfo(None, "unknown")


def is_license_file(name: str) -> bool:
    """True for a file name that holds a license text.

    >>> is_license_file("LICENSE.md"), is_license_file("COPYING.LESSER"), is_license_file("license.py")
    (True, True, False)
    """
    if not LICENSE_FILE.match(name):
        return False
    dot = name.find(".")
    suffix = name[dot:].lower() if dot >= 0 else ""
    # "LICENSE-MIT", "COPYING.LESSER", "LICENSE.APACHE2": a dotted word that is not a known
    # code extension still names a license file; "license.py" does not.
    return suffix in _TEXT_SUFFIXES or not re.fullmatch(r"\.(?:py|js|ts|java|c|h|cc|cpp|go|rs|rb|php|cs|html?|xml|sh)", suffix)


# --- SPDX ids -> class -----------------------------------------------------------------------

_PERMISSIVE_IDS = {
    "mit", "mit-0", "x11", "apache-2.0", "apache-1.1", "apache-1.0", "bsd-2-clause", "bsd-3-clause",
    "bsd-4-clause", "0bsd", "bsd-3-clause-clear", "isc", "psf-2.0", "python-2.0", "unlicense",
    "zlib", "bsl-1.0", "cc0-1.0", "wtfpl", "artistic-2.0", "artistic-1.0", "ncsa", "ms-pl",
    "postgresql", "hpnd", "blueoak-1.0.0", "upl-1.0", "cc-by-4.0", "cc-by-3.0", "libpng", "curl",
    "licenseref-public-domain",
}
_COPYLEFT_IDS = {
    "gpl-1.0", "gpl-2.0", "gpl-3.0", "agpl-1.0", "agpl-3.0", "lgpl-2.0", "lgpl-2.1", "lgpl-3.0",
    "mpl-1.0", "mpl-1.1", "mpl-2.0", "epl-1.0", "epl-2.0", "cddl-1.0", "cddl-1.1", "eupl-1.0",
    "eupl-1.1", "eupl-1.2", "osl-1.0", "osl-2.0", "osl-2.1", "osl-3.0", "cpl-1.0", "cc-by-sa-3.0",
    "cc-by-sa-4.0", "gfdl-1.1", "gfdl-1.2", "gfdl-1.3", "sleepycat", "sspl-1.0", "rpl-1.5",
    "ms-rl", "cecill-2.1", "lppl-1.3c", "apsl-2.0", "gpl", "lgpl", "agpl", "mpl", "epl", "gfdl",
}
_RANK = {"permissive": 0, "unknown": 1, "copyleft": 2}


# Common non-SPDX spellings of license ids (package metadata, bare LICENSE files).
_ALIASES = re.compile(r"^(?P<f>a|l)?gpl[-_ ]?v?(?P<v>\d(?:\.\d)?)?$|^apache[-_ ]?v?2(?:\.0)?$|^bsd$|^mpl[-_ ]?v?2(?:\.0)?$")


def class_of_spdx(spdx_id: str) -> str:
    """Class of one SPDX license id (``-only``/``-or-later``/``+`` suffixes ignored; common
    spellings such as ``GPLv3``, ``Apache2``, ``BSD`` accepted).

    >>> class_of_spdx("GPL-2.0-or-later"), class_of_spdx("MIT"), class_of_spdx("GPLv3"), class_of_spdx("Proprietary")
    ('copyleft', 'permissive', 'copyleft', 'unknown')
    """
    key = spdx_id.strip().lower().rstrip("+")
    key = re.sub(r"-(?:only|or-later)$", "", key)
    alias = _ALIASES.match(key)
    if alias:
        return "permissive" if key.startswith(("apache", "bsd")) else "copyleft"
    if key in _PERMISSIVE_IDS:
        return "permissive"
    if key in _COPYLEFT_IDS:
        return "copyleft"
    return "unknown"


_SPDX_TOKEN = re.compile(r"\(|\)|[A-Za-z0-9.+\-:]+")


def classify_spdx_expression(expr: str) -> LicenseInfo:
    """Class of an SPDX expression: ``OR`` takes the more permissive side, ``AND`` the more
    restrictive, ``WITH`` (an exception) keeps the license's class.

    >>> classify_spdx_expression("MIT OR GPL-2.0-only").license_class
    'permissive'
    >>> classify_spdx_expression("Apache-2.0 AND LGPL-2.1").license_class
    'copyleft'
    """
    tokens = _SPDX_TOKEN.findall(expr)
    pos = 0

    def parse_or() -> str:
        nonlocal pos
        cls = parse_and()
        while pos < len(tokens) and tokens[pos].upper() == "OR":
            pos += 1
            other = parse_and()
            cls = min(cls, other, key=_RANK.__getitem__)
        return cls

    def parse_and() -> str:
        nonlocal pos
        cls = parse_with()
        while pos < len(tokens) and tokens[pos].upper() == "AND":
            pos += 1
            other = parse_with()
            cls = max(cls, other, key=_RANK.__getitem__)
        return cls

    def parse_with() -> str:
        nonlocal pos
        cls = parse_atom()
        while pos < len(tokens) and tokens[pos].upper() == "WITH":
            pos += 2  # the exception id does not change the class
        return cls

    def parse_atom() -> str:
        nonlocal pos
        if pos >= len(tokens):
            return "unknown"
        tok = tokens[pos]
        pos += 1
        if tok == "(":
            cls = parse_or()
            if pos < len(tokens) and tokens[pos] == ")":
                pos += 1
            return cls
        return class_of_spdx(tok)

    cls = parse_or() if tokens else "unknown"
    return LicenseInfo(expr.strip() or None, cls)


# --- text normalisation ----------------------------------------------------------------------

# Comment leaders and quote marks at the start of a line ("# ", "// ", " * ", "-- ", "> ").
_LEADERS = " \t#/*;%!>-\"'"
# Markup and quotes dropped everywhere; "_" (Markdown emphasis) becomes a space.
_DROP = str.maketrans({c: None for c in "*`|\"'#=~\u2018\u2019\u201c\u201d"} | {"_": " "})
_DASH_RULER = re.compile(r"-{3,}")


def normalize_license_text(text: str) -> str:
    """Lower-cased, comment- and markup-free text with single spaces, for phrase matching.

    >>> normalize_license_text("# **MIT Licence**\\n#\\n# Permission is  'hereby'\\n")
    'mit license permission is hereby'
    """
    text = "\n".join(line.lstrip(_LEADERS) for line in text.split("\n"))
    text = _DASH_RULER.sub(" ", text.lower().translate(_DROP))
    return " ".join(text.split()).replace("licence", "license")


# --- rules -----------------------------------------------------------------------------------


class _Rule(NamedTuple):
    pattern: re.Pattern[str]
    spdx: str  # may contain {v} for the version captured by group "v"
    license_class: str


def _r(pattern: str, spdx: str, cls: str) -> _Rule:
    return _Rule(re.compile(pattern), spdx, cls)


_GPL_VERSION = r"(?:,? (?:either )?(?:version|v\.?) ?(?P<v>\d(?:\.\d)?))"

# Strong rules: a license's own title, grant or standard notice. Order breaks ties at one
# position (more specific first).
STRONG_RULES: tuple[_Rule, ...] = (
    # --- copyleft ---
    _r(r"gnu affero general public license" + _GPL_VERSION, "AGPL-{v}", "copyleft"),
    _r(r"terms of the gnu affero general public license", "AGPL", "copyleft"),
    _r(r"gnu (?:lesser|library) general public license" + _GPL_VERSION, "LGPL-{v}", "copyleft"),
    _r(r"terms of the gnu (?:lesser|library) general public license", "LGPL", "copyleft"),
    _r(r"gnu general public license(?: \(gpl\))?" + _GPL_VERSION, "GPL-{v}", "copyleft"),
    _r(r"terms of the gnu general public license", "GPL", "copyleft"),
    _r(r"mozilla public license,? (?:version |v\.? ?)?(?P<v>\d\.\d)", "MPL-{v}", "copyleft"),
    _r(r"eclipse public license,?(?: -)? (?:version |v\.? ?)?(?P<v>\d\.\d)", "EPL-{v}", "copyleft"),
    _r(r"common development and distribution license(?: \(cddl\))?,? version (?P<v>\d\.\d)", "CDDL-{v}", "copyleft"),
    _r(r"european union public license,? (?:version |v\.? ?)?(?P<v>\d\.\d)", "EUPL-{v}", "copyleft"),
    _r(r"open software license,? (?:version |v\.? ?)?(?P<v>\d\.\d)", "OSL-{v}", "copyleft"),
    _r(r"common public license,? version (?P<v>\d\.\d)", "CPL-{v}", "copyleft"),
    _r(r"attribution-sharealike (?P<v>\d\.\d)", "CC-BY-SA-{v}", "copyleft"),
    _r(r"gnu free documentation license,? version (?P<v>\d\.\d)", "GFDL-{v}", "copyleft"),
    _r(r"server side public license,? (?:version |v)(?P<v>\d)", "SSPL-{v}.0", "copyleft"),
    _r(r"reciprocal public license,? (?:version |v\.? ?)?(?P<v>\d\.\d)", "RPL-{v}", "copyleft"),
    _r(r"microsoft reciprocal license", "MS-RL", "copyleft"),
    _r(r"the sleepycat license", "Sleepycat", "copyleft"),
    # --- permissive ---
    _r(r"permission is hereby granted, free of charge, to any person obtaining a copy", "MIT", "permissive"),
    _r(r"apache (?:software )?license,? (?:version |v\.? ?)2\.0", "Apache-2.0", "permissive"),
    # The Apache-2.0 text's second line, for copies whose "Apache License" title line was lost.
    _r(r"version 2\.0, january 2004", "Apache-2.0", "permissive"),
    _r(r"apache (?:software )?license,? (?:version |v\.? ?)1\.1", "Apache-1.1", "permissive"),
    _r(r"redistribution and use in source and binary forms, with or without modification, are permitted", "BSD", "permissive"),
    _r(r"python software foundation license", "PSF-2.0", "permissive"),
    _r(r"permission to use, copy, modify, and(?:/or)? distribute this software for any purpose with or without fee is hereby granted", "ISC", "permissive"),
    _r(r"permission to use, copy, modify,? and distribute this software and its documentation for any purpose", "HPND", "permissive"),
    _r(r"this is free and unencumbered software released into the public domain", "Unlicense", "permissive"),
    _r(r"permission is granted to anyone to use this software for any purpose, including commercial applications", "Zlib", "permissive"),
    _r(r"boost software license", "BSL-1.0", "permissive"),
    _r(r"cc0 1\.0 universal|creative commons (?:legal code )?cc0|creative commons zero", "CC0-1.0", "permissive"),
    _r(r"do what the fuck you want to public license", "WTFPL", "permissive"),
    _r(r"the artistic license 2\.0", "Artistic-2.0", "permissive"),
    _r(r"the artistic license(?! 2)", "Artistic-1.0", "permissive"),
    _r(r"university of illinois/ncsa open source license", "NCSA", "permissive"),
    _r(r"microsoft public license", "MS-PL", "permissive"),
    _r(r"blue oak model license", "BlueOak-1.0.0", "permissive"),
    _r(r"universal permissive license", "UPL-1.0", "permissive"),
)

_NOT_COMPATIBLE = r"(?![ -]?(?:compatible|incompatible|-?style))"

# Weak rules: "licensed under the X" sentences. They only count when no strong rule matched.
WEAK_RULES: tuple[_Rule, ...] = tuple(
    _r(r"(?:licensed|licenced|released|distributed|available|published|provided|covered|dual[- ]licensed) under (?:the )?(?:terms of (?:the )?)?(?:either )?(?:" + body + ")" + _NOT_COMPATIBLE, spdx, cls)
    for body, spdx, cls in (
        (r"(?:gnu )?affero (?:general public license|gpl)|agpl(?:[- ]?v?(?P<v>\d))?", "AGPL", "copyleft"),
        (r"(?:gnu )?(?:lesser|library) general public license|lgpl(?:[- ]?v?(?P<v>\d(?:\.\d)?))?", "LGPL", "copyleft"),
        (r"(?:gnu )?general public license|gpl(?:[- ]?v?(?P<v>\d))?", "GPL", "copyleft"),
        (r"mozilla public license|mpl(?:[- ]?v?(?P<v>\d\.\d))?", "MPL", "copyleft"),
        (r"eclipse public license|epl", "EPL", "copyleft"),
        (r"european union public license|eupl", "EUPL-1.2", "copyleft"),
        (r"common development and distribution license|cddl", "CDDL-1.0", "copyleft"),
        (r"mit(?: license)?\b", "MIT", "permissive"),
        (r"apache(?: license)?(?:,? (?:version |v\.? ?)?2(?:\.0)?)?\b", "Apache-2.0", "permissive"),
        (r"(?:new |simplified |modified |\d-clause )?bsd\b", "BSD", "permissive"),
        (r"isc(?: license)?\b", "ISC", "permissive"),
        (r"zlib(?: license)?\b", "Zlib", "permissive"),
        (r"boost software license", "BSL-1.0", "permissive"),
        (r"unlicense\b", "Unlicense", "permissive"),
        (r"python software foundation|psf(?: license)?\b", "PSF-2.0", "permissive"),
        (r"cc0\b", "CC0-1.0", "permissive"),
    )
) + (
    # A file that opens with a license's name (a template whose text was trimmed).
    _r(r"^(?:the )?mit license\b", "MIT", "permissive"),
    _r(r"^bsd (?P<v>[234])-clause license", "BSD-{v}-Clause", "permissive"),
    _r(r"(?:is|are|been|placed|released|dedicated) (?:hereby )?(?:placed |released |dedicated )?(?:in|into|to) the public domain", "LicenseRef-public-domain", "permissive"),
)

_SPDX_HEADER = re.compile(r"SPDX-License-Identifier:[ \t]*([A-Za-z0-9.+\-() \t]+?)[ \t]*(?:\*/|-->|$)", re.IGNORECASE | re.MULTILINE)
_BARE_SPDX = re.compile(r"^\(?[A-Za-z0-9.+\-]+(?:\)? (?:OR|AND|WITH|or|and|with) \(?[A-Za-z0-9.+\-]+\)?)*\)?$")
_GPL_OR_LATER = re.compile(r"\(?at your option\)? any later version")
_CLASSPATH = re.compile(r"classpath\W{0,3} exception|classpath exception")


def _refine(rule: _Rule, match: re.Match[str], text: str) -> str:
    """Fill the version into the rule's id and tell variants apart by the text that follows."""
    version = match.groupdict().get("v")
    after = text[match.end() : match.end() + 1500]
    spdx = rule.spdx
    if spdx in ("GPL", "LGPL", "AGPL"):
        if not version:
            nearby = re.match(r"[^.;]{0,80}?(?:version|v\.?) ?(\d(?:\.\d)?)", after)
            version = nearby.group(1) if nearby else None
        if version:
            spdx += "-{v}"
    if spdx.startswith("BSD-{v}"):
        spdx = spdx.format(v=version)
    elif "{v}" in spdx:
        spdx = spdx.format(v=version if "." in (version or "") else f"{version}.0")
    if spdx == "BSD":
        if "all advertising materials mentioning" in after:
            spdx = "BSD-4-Clause"
        elif "neither the name" in after or "may be used to endorse or promote" in after:
            spdx = "BSD-3-Clause"
        else:
            spdx = "BSD-2-Clause"
    elif spdx == "ISC" and "provided that the above copyright notice" not in after[:200]:
        spdx = "0BSD"
    elif spdx == "HPND" and "without a written agreement" in after[:120]:
        spdx = "PostgreSQL"
    elif spdx.startswith(("GPL", "LGPL", "AGPL")):
        if _GPL_OR_LATER.search(after[:400]):
            spdx += "-or-later"
        if spdx.startswith("GPL") and _CLASSPATH.search(text):
            spdx += " WITH Classpath-exception-2.0"
    return spdx


def _earliest(rules: Iterable[_Rule], text: str) -> tuple[int, _Rule, re.Match[str]] | None:
    best: tuple[int, _Rule, re.Match[str]] | None = None
    for rule in rules:
        m = rule.pattern.search(text)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), rule, m)
    return best


def classify_license_text(text: str, weak: bool = True) -> LicenseInfo:
    """Identify the license of one license file's text (``weak=False``: strong evidence only).

    >>> classify_license_text("MIT License\\n\\nPermission is hereby granted, free of charge, to any person obtaining a copy")
    LicenseInfo(spdx='MIT', license_class='permissive')
    >>> classify_license_text("Historically most Python releases are GPL-compatible.").license_class
    'unknown'
    """
    stripped = text.strip()
    if weak and stripped and len(stripped) < 100 and _BARE_SPDX.match(stripped):
        info = classify_spdx_expression(stripped)
        if info.license_class != "unknown":
            return info
    header = _SPDX_HEADER.search(text)
    if header:
        # A machine-readable declaration by the author: the first one names the license.
        expr = header.group(1).strip()
        return LicenseInfo(expr, classify_spdx_expression(expr).license_class)
    norm = normalize_license_text(text)
    strong = _earliest(STRONG_RULES, norm)
    found = strong or (_earliest(WEAK_RULES, norm) if weak else None)
    if found is None:
        return UNKNOWN
    _, rule, match = found
    return LicenseInfo(_refine(rule, match, norm), rule.license_class)


_HEADER_HINTS = ("licen", "spdx", "public domain", "permission", "redistribution")


def classify_file_header(text: str, max_lines: int = 30, max_chars: int = 3000) -> LicenseInfo:
    """The license a source file declares in its header comment, `UNKNOWN` if none.

    Only the first ``max_lines`` lines (at most ``max_chars`` characters) are read, where
    license headers sit (OpenJDK's GPL notice ends by line 24); a file without a hint word
    ("license", "SPDX", "permission"...) there is not classified at all, which keeps this cheap.
    Only strong evidence counts here (an SPDX line, a license's notice, title or grant): a
    sentence such as PIL's "Originally released under LGPL. Graciously donated to PIL ... under
    the standard PIL license" must not relabel the file.

    >>> classify_file_header("// SPDX-License-Identifier: GPL-2.0-only\\nint x;\\n")
    LicenseInfo(spdx='GPL-2.0-only', license_class='copyleft')
    >>> classify_file_header("def f():\\n    return 1\\n")
    LicenseInfo(spdx=None, license_class='unknown')
    """
    head = "\n".join(text[:max_chars].split("\n", max_lines)[:max_lines])
    lowered = head.lower()
    if not any(hint in lowered for hint in _HEADER_HINTS):
        return UNKNOWN
    return classify_license_text(head, weak=False)


def combine_licenses(infos: Iterable[LicenseInfo]) -> LicenseInfo:
    """One repository's license from the licenses of its root license files.

    Copyleft wins over permissive (conservative), permissive over unknown. The id lists every
    distinct license found in the files of the winning class, joined by ``AND``.

    >>> combine_licenses([LicenseInfo("MIT", "permissive"), LicenseInfo("GPL-3.0", "copyleft")])
    LicenseInfo(spdx='GPL-3.0', license_class='copyleft')
    >>> combine_licenses([])
    LicenseInfo(spdx=None, license_class='unknown')
    """
    infos = list(infos)
    if not infos:
        return UNKNOWN
    cls = max((i.license_class for i in infos), key=lambda c: (_RANK[c] if c != "unknown" else -1))
    if cls == "unknown":
        return UNKNOWN
    ids = sorted({i.spdx for i in infos if i.license_class == cls and i.spdx})
    return LicenseInfo(" AND ".join(ids) if ids else None, cls)


__all__ = [
    "LICENSE_CLASSES",
    "LicenseInfo",
    "UNKNOWN",
    "is_license_file",
    "class_of_spdx",
    "classify_spdx_expression",
    "normalize_license_text",
    "classify_license_text",
    "classify_file_header",
    "combine_licenses",
]

"""Read source-code repositories: one `Document` per source file, PaLM-style.

A unit is one repository: a folder, or a ``.tar.gz``/``.tgz``/``.tar``/``.tar.bz2``/``.tar.xz``/
``.tar.zst``/``.zip`` archive (read streaming, never extracted to disk). What PaLM did
(Chowdhery et al. 2022, Section 3): files filtered "by the license included in the repository;
copyleft licenses were excluded", and "by filename extension to restrict to one of 24 common
programming languages". On top of that the quality filters of Codex (Chen et al. 2021, Section
3.1) and The Stack (Kocetkov et al. 2022): binary, minified (long lines), generated, vendored and
oversize files are skipped, each with a reason. A license declared in a file's own header (an
SPDX line, a GPL notice...) overrides the repository's for that file (option
``file_license_headers``).

Every file of a repository becomes exactly one `Document`, `Dropped` or `Rejected`, so the stage
balances: files = documents + dropped + rejected (plus one ``truncated_archive`` or
``unreadable_archive`` reject standing for the unreadable rest of a damaged archive).

Ids: ``make_id(source, <repo>, <path in repo>)``, e.g. ``code/tinylib#src/util.py``, where
``<repo>`` is the repository's path below the source root (an archive's without its suffix) and
``<path in repo>`` is relative to the repository root (an archive's single top folder, as in
GitHub tarballs ``name-sha/...``, is the root). Text is kept byte-exact (strict UTF-8, no
whitespace changes).
"""

from __future__ import annotations

import fnmatch
import lzma
import posixpath
import re
import stat
import tarfile
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import BinaryIO, Callable, Iterator, NamedTuple

from dataprep.configs import closest
from dataprep.errors import RecipeError
from dataprep.fs import DECOMPRESSION_ERRORS, FileSystem, open_decompressed, relative_to_root
from dataprep.records import Document, Dropped, ReadResult, Rejected, make_id
from dataprep.sources import ReadContext
from dataprep.sources.licenses import (
    LICENSE_CLASSES,
    UNKNOWN,
    LicenseInfo,
    classify_file_header,
    classify_license_text,
    combine_licenses,
    is_license_file,
)

# --- languages -------------------------------------------------------------------------------
#
# PaLM restricted code "to one of 24 common programming languages, including Java, HTML,
# Javascript, Python, PHP, C#, XML, C++, and C" (Chowdhery et al. 2022, Section 3). The paper
# names only those nine and does not list the rest; the other fifteen below are our choice of
# the most used remaining languages on GitHub, marked ``palm_named=False``. Extensions follow
# github-linguist's ``languages.yml``.


class Language(NamedTuple):
    name: str
    extensions: tuple[str, ...]
    palm_named: bool


LANGUAGES: tuple[Language, ...] = (
    # Named in PaLM Section 3, in the paper's order.
    Language("Java", (".java",), True),
    Language("HTML", (".html", ".htm", ".xhtml"), True),
    Language("JavaScript", (".js", ".mjs", ".cjs", ".jsx"), True),
    Language("Python", (".py", ".pyi", ".pyw"), True),
    Language("PHP", (".php", ".phtml", ".php3", ".php4", ".php5"), True),
    Language("C#", (".cs", ".csx"), True),
    Language("XML", (".xml", ".xsd", ".xsl", ".xslt"), True),
    Language("C++", (".cpp", ".cc", ".cxx", ".c++", ".hpp", ".hh", ".hxx", ".h++", ".inl", ".ipp"), True),
    Language("C", (".c", ".h"), True),
    # Completing the 24.
    Language("TypeScript", (".ts", ".tsx", ".mts", ".cts"), False),
    Language("Go", (".go",), False),
    Language("Rust", (".rs",), False),
    Language("Ruby", (".rb", ".rake", ".gemspec"), False),
    Language("Kotlin", (".kt", ".kts"), False),
    Language("Swift", (".swift",), False),
    Language("Scala", (".scala", ".sc"), False),
    Language("Shell", (".sh", ".bash", ".zsh"), False),
    Language("Objective-C", (".m", ".mm"), False),
    Language("Perl", (".pl", ".pm"), False),
    Language("Lua", (".lua",), False),
    Language("R", (".r",), False),
    Language("SQL", (".sql",), False),
    Language("Haskell", (".hs", ".lhs"), False),
    Language("Julia", (".jl",), False),
)
LANGUAGE_NAMES: tuple[str, ...] = tuple(lang.name for lang in LANGUAGES)
_BY_EXTENSION: dict[str, str] = {ext: lang.name for lang in LANGUAGES for ext in lang.extensions}
# Extension-less files whose name fixes the language (github-linguist ``filenames``).
_BY_FILENAME: dict[str, str] = {"Rakefile": "Ruby", "Gemfile": "Ruby"}


def language_of(path: str, extra: dict[str, str] | None = None) -> str | None:
    """The language of a file from its extension (case-insensitive), None if not one of the 24.
    ``extra`` maps more extensions (lower case, with the dot) to languages, overriding the table.

    >>> language_of("src/Main.java"), language_of("lib/x.PY"), language_of("README.md")
    ('Java', 'Python', None)
    >>> language_of("ui/App.vue", {".vue": "JavaScript"})
    'JavaScript'
    """
    name = path.rsplit("/", 1)[-1]
    if name in _BY_FILENAME:
        return _BY_FILENAME[name]
    dot = name.rfind(".")
    if dot <= 0:  # no extension, or a dotfile such as ".bashrc"
        return None
    ext = name[dot:].lower()
    if extra and ext in extra:
        return extra[ext]
    return _BY_EXTENSION.get(ext)


# --- path rules ------------------------------------------------------------------------------

# Vendored code, after github-linguist's ``vendor.yml`` (its directory conventions: node_modules,
# bower_components, vendor(s), third_party / 3rd_party, extern(al), Godeps/_workspace, Pods,
# Carthage), plus installed Python packages (``site-packages``, ``.venv``). Matched on whole path
# components. linguist's ``env/`` is left out: it also matches real packages named ``env``.
_VENDORED = re.compile(
    r"(?:^|/)(?:node_modules|bower_components|jspm_packages|vendors?|[Vv]endor|third[-_]?party|3rd[-_]?party"
    r"|extern(?:al)?|Godeps/_workspace|Pods|Carthage|site-packages|\.venv)/"
)
_VCS = re.compile(r"(?:^|/)(?:\.git|\.hg|\.svn|\.bzr)/")
# Archivers' metadata: macOS's zip writes AppleDouble twins of every file under __MACOSX/.
_OS_METADATA = re.compile(r"(?:^|/)__MACOSX/")
# Minified by name (github-linguist vendor.yml: ``(\.|-)min\.(js|css)$``).
_MINIFIED_NAME = re.compile(r"[.-]min\.(?:js|mjs|cjs|css)$", re.IGNORECASE)
# Lockfiles and generated sources recognisable by name (github-linguist ``generated.rb``:
# protobuf/grpc stubs, lockfiles of npm/yarn/pnpm/Cargo/Poetry/Bundler/Composer/Go).
_GENERATED_NAME = re.compile(
    r"(?:^|/)(?:package-lock\.json|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.yaml|Cargo\.lock|poetry\.lock"
    r"|Pipfile\.lock|Gemfile\.lock|composer\.lock|go\.sum|[^/]+\.pb\.(?:go|cc|h)|[^/]+_pb2(?:_grpc)?\.pyi?"
    r"|[^/]+\.(?:designer|generated|g)\.(?:cs|dart|ts|js))$"
)
# Markers of generated code in the first lines (CodeParrot's Codex-style filter scans the first
# 5 lines for "auto-generated" and similar; Go's convention is "// Code generated ... DO NOT EDIT.").
_GENERATED_MARKER = re.compile(
    r"auto[- ]?generated|automatically generated|generated automatically|do not edit|don'?t edit"
    r"|@generated|code generated by|this (?:file|code|source) (?:is|was|has been) (?:\w+ ){0,2}generated"
    r"|^\W*generated by\b",  # "# Generated by Django 4.2 on ...", not "# generated with Python 2"
    re.IGNORECASE | re.MULTILINE,
)
_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst", ".tar", ".zip")
_MAX_LICENSE_BYTES = 256 * 1024  # the longest common license texts (GPL-3.0, ~35 KB) fit easily
_MAX_LICENSE_FILES = 16


def is_archive(path: str) -> bool:
    """True for a repository archive this reader opens.

    >>> is_archive("repos/a.tar.gz"), is_archive("repos/b.zip"), is_archive("repos/c")
    (True, True, False)
    """
    return path.lower().endswith(_ARCHIVE_SUFFIXES)


def _strip_archive_suffix(path: str) -> str:
    lower = path.lower()
    for suffix in _ARCHIVE_SUFFIXES:
        if lower.endswith(suffix):
            return path[: -len(suffix)]
    return path


# --- options ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    """Recipe keys of the ``code`` kind (flat in the source's mapping).

    - ``licenses``: license classes kept. Default permissive and unknown: PaLM excluded
      copyleft ("copyleft licenses were excluded", Section 3).
    - ``languages``: languages kept (names from `LANGUAGE_NAMES`); empty means all 24.
    - ``max_file_bytes``: larger files are dropped as ``oversize``; 1 MB as The Stack
      (Kocetkov et al. 2022, files larger than 1 MB removed).
    - ``max_line_length`` 1000 and ``max_mean_line_length`` 100: longer lines mean minified or
      data-like code, dropped as ``minified`` (Codex, Chen et al. 2021 Section 3.1; the same
      thresholds in CodeParrot and StarCoder's preprocessing).
    - ``min_alnum_fraction`` 0.25: less alphanumeric text is dropped as ``low_alphanumeric``
      (Codex's "small percentage of alphanumeric characters", 0.25 in CodeParrot/StarCoder);
      0 disables.
    - ``generated_scan_lines`` 5: how many first lines are searched for generated-code markers
      (CodeParrot's Codex-style filter scans 5).
    - ``skip_vendored``, ``skip_generated``: turn those two filters off.
    - ``file_license_headers``: a license declared in a file's own header comment (an
      ``SPDX-License-Identifier`` line, a GPL/MPL/Apache notice...) overrides the repository's
      for that file: a GPL-headed file in an MIT or unlicensed repository is dropped as
      ``license_copyleft``. Catches archives without a LICENSE (a JDK ``src.zip``) and GPL code
      bundled into permissive repositories.
    - ``exclude_paths``: shell patterns over repository-relative paths (``fnmatch``: ``*``
      also crosses ``/``), e.g. ``["docs/*", "*/testdata/*"]``; matches are dropped as
      ``excluded_path``.
    - ``extensions``: more extensions for the language table, e.g. ``{".vue": "JavaScript"}``
      (lower case, with the dot; overrides the table).
    """

    licenses: tuple[str, ...] = ("permissive", "unknown")
    languages: tuple[str, ...] = ()
    max_file_bytes: int = 1_000_000
    max_line_length: int = 1000
    max_mean_line_length: float = 100.0
    min_alnum_fraction: float = 0.25
    generated_scan_lines: int = 5
    skip_vendored: bool = True
    skip_generated: bool = True
    file_license_headers: bool = True
    exclude_paths: tuple[str, ...] = ()
    extensions: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.licenses:
            raise RecipeError("licenses", "at least one of " + ", ".join(LICENSE_CLASSES), list(self.licenses))
        for cls in self.licenses:
            if cls not in LICENSE_CLASSES:
                raise RecipeError("licenses", "license classes among " + ", ".join(LICENSE_CLASSES), cls, suggestion=closest(str(cls), LICENSE_CLASSES))
        for name in self.languages:
            if name not in LANGUAGE_NAMES:
                raise RecipeError("languages", "language names among " + ", ".join(LANGUAGE_NAMES), name, suggestion=closest(str(name), LANGUAGE_NAMES))
        if self.max_file_bytes < 1:
            raise RecipeError("max_file_bytes", "an integer >= 1 (bytes)", self.max_file_bytes)
        if self.max_line_length < 1:
            raise RecipeError("max_line_length", "an integer >= 1 (characters)", self.max_line_length)
        if not self.max_mean_line_length > 0:
            raise RecipeError("max_mean_line_length", "a number > 0 (characters)", self.max_mean_line_length)
        if not 0.0 <= self.min_alnum_fraction <= 1.0:
            raise RecipeError("min_alnum_fraction", "a number between 0 and 1", self.min_alnum_fraction)
        if self.generated_scan_lines < 0:
            raise RecipeError("generated_scan_lines", "an integer >= 0", self.generated_scan_lines)
        for ext, language in self.extensions.items():
            if not re.fullmatch(r"\.[a-z0-9_+#-]+", ext):
                raise RecipeError(f"extensions.{ext}", "a lower-case extension with its dot, such as '.vue'", ext)
            if not language:
                raise RecipeError(f"extensions.{ext}", "a language name", language)


# --- per-file checks (pure) ------------------------------------------------------------------


def is_vendored(path: str) -> bool:
    """True for a path under a vendored-dependency folder.

    >>> is_vendored("web/node_modules/x/index.js"), is_vendored("src/vendored_helpers.py")
    (True, False)
    """
    return _VENDORED.search(path) is not None


def is_generated(text: str, scan_lines: int) -> bool:
    """True when one of the first ``scan_lines`` lines carries a generated-code marker.

    >>> is_generated("// Code generated by protoc-gen-go. DO NOT EDIT.\\npackage x\\n", 5)
    True
    >>> is_generated("def generate():\\n    pass\\n", 5)
    False
    """
    if scan_lines <= 0:
        return False
    head = "\n".join(text.split("\n", scan_lines)[:scan_lines])
    return _GENERATED_MARKER.search(head) is not None


def has_long_lines(text: str, max_line: int, max_mean: float) -> bool:
    """True when the longest line exceeds ``max_line`` or the mean line length ``max_mean``.

    >>> has_long_lines("a\\n" * 10, 1000, 100.0), has_long_lines("x" * 2000, 1000, 100.0)
    (False, True)
    """
    lengths = [len(line) for line in text.split("\n")]
    if text.endswith("\n"):
        lengths.pop()  # the empty piece after the final newline is not a line
    if not lengths:
        return False
    return max(lengths) > max_line or sum(lengths) / len(lengths) > max_mean


_ASCII_ALNUM = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Everything but ASCII letters/digits and UTF-8 lead bytes (0xC0-0xFF: one per non-ASCII char).
_NOT_ALNUM_OR_LEAD = bytes(b for b in range(0xC0) if b not in _ASCII_ALNUM)


def alnum_fraction(text: str) -> float:
    """Fraction of letters and digits in ``text`` (1.0 for the empty text).

    Every non-ASCII character counts as a letter (in code they are almost all letters of
    comments and strings); ASCII is exact. One ``bytes.translate`` in C: a per-character Python
    loop was 80% of the reader's time.

    >>> alnum_fraction("ab12"), alnum_fraction("a = {}"), alnum_fraction("é = 1")
    (1.0, 0.16666666666666666, 0.4)
    """
    if not text:
        return 1.0
    data = text.encode("utf-8", errors="surrogatepass")
    return len(data.translate(None, _NOT_ALNUM_OR_LEAD)) / len(text)


def check_content(data: bytes, options: Options) -> tuple[str | None, str | None]:
    """Decode a file and check it: ``(text, None)`` to keep, ``(None, reason)`` to drop.

    Reasons: ``oversize``, ``binary`` (a NUL byte, or not valid UTF-8), ``generated``,
    ``minified``, ``low_alphanumeric``. The text is the exact decoded bytes.
    """
    if len(data) > options.max_file_bytes:
        return None, "oversize"
    if b"\x00" in data:
        return None, "binary"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None, "binary"
    if options.skip_generated and is_generated(text, options.generated_scan_lines):
        return None, "generated"
    if has_long_lines(text, options.max_line_length, options.max_mean_line_length):
        return None, "minified"
    # alnum_fraction(text), on the bytes we already hold.
    if text and len(data.translate(None, _NOT_ALNUM_OR_LEAD)) / len(text) < options.min_alnum_fraction:
        return None, "low_alphanumeric"
    return text, None


def check_path(path: str, license_class: str, options: Options) -> tuple[str | None, str | None]:
    """Checks that need only the path (so dropped files are never read).

    Returns ``(language, None)`` to read the file, ``(None, reason)`` to drop it. Reasons:
    ``license_<class>``, ``vcs``, ``os_metadata`` (``__MACOSX/``), ``vendored``,
    ``excluded_path`` (``exclude_paths``), ``generated`` (lockfiles and generated names),
    ``not_code``, ``language_excluded``, ``minified`` (``*.min.js``).

    >>> check_path("src/app.py", "permissive", Options())
    ('Python', None)
    >>> check_path("src/app.py", "copyleft", Options())
    (None, 'license_copyleft')
    """
    if license_class not in options.licenses:
        return None, f"license_{license_class}"
    if _VCS.search(path):
        return None, "vcs"
    if _OS_METADATA.search(path):
        return None, "os_metadata"
    if options.skip_vendored and is_vendored(path):
        return None, "vendored"
    if options.exclude_paths and any(fnmatch.fnmatchcase(path, pattern) for pattern in options.exclude_paths):
        return None, "excluded_path"
    if options.skip_generated and _GENERATED_NAME.search(path):
        return None, "generated"
    language = language_of(path, options.extensions)
    if language is None:
        return None, "not_code"
    if options.languages and language not in options.languages:
        return None, "language_excluded"
    if _MINIFIED_NAME.search(path):
        return None, "minified"
    return language, None


def is_unsafe_member(name: str) -> bool:
    """True for an archive member name that could escape the tree: absolute, a drive letter,
    or any ``..`` component (backslashes count as separators).

    >>> is_unsafe_member("repo/src/a.py"), is_unsafe_member("../etc/passwd"), is_unsafe_member("/abs")
    (False, True, True)
    """
    norm = name.replace("\\", "/")
    if norm.startswith("/") or re.match(r"^[A-Za-z]:", norm):
        return True
    # A bare drive component ("a/C:/x") is a drive root for Windows extractors.
    return any(part == ".." or re.fullmatch(r"[A-Za-z]:", part) for part in norm.split("/"))


def _is_utf8(name: str) -> bool:
    """False for names holding surrogate escapes (bytes that were not UTF-8)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _printable(name: str) -> str:
    """A name with surrogates made writable: ``'caf\udce9.py'`` -> ``'caf\\udce9.py'``."""
    return name.encode("utf-8", errors="backslashreplace").decode("utf-8")


def _clean_member_name(name: str) -> str:
    """``./a//b/`` -> ``a/b``: archive names as relative paths."""
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    return "/".join(parts)


# --- the repository being read ---------------------------------------------------------------


class _Repo(NamedTuple):
    source: str
    name: str  # used in ids
    file: str  # the unit's path below the source root (meta "file")
    license: LicenseInfo
    options: Options

    def id(self, path: str) -> str:
        return make_id(self.source, self.name, path)

    def dropped(self, path: str, reason: str) -> Dropped:
        return Dropped(self.id(path), self.source, reason, self.file, path)

    def rejected(self, position: str, reason: str, detail: str) -> Rejected:
        return Rejected(self.source, self.file, position, reason, detail)

    def document(self, path: str, text: str, language: str, license: LicenseInfo) -> Document:
        meta = {
            "repo": self.name,
            "path": path,
            "language": language,
            "license": license.spdx,
            "license_class": license.license_class,
            "file": self.file,
            "position": path,
        }
        return Document(self.id(path), self.source, text, meta)


def _read_file(repo: _Repo, path: str, size: int, read: Callable[[int], bytes], is_root_license: bool) -> ReadResult:
    """One regular file of a repository -> Document or Dropped. ``read(n)`` reads at most n bytes."""
    if is_root_license:
        return repo.dropped(path, "license_file")
    language, reason = check_path(path, repo.license.license_class, repo.options)
    if reason is not None:
        return repo.dropped(path, reason)
    if size > repo.options.max_file_bytes:
        return repo.dropped(path, "oversize")
    text, reason = check_content(read(repo.options.max_file_bytes + 1), repo.options)
    if reason is not None:
        return repo.dropped(path, reason)
    license = repo.license
    if repo.options.file_license_headers:
        declared = classify_file_header(text)  # type: ignore[arg-type]
        if declared.license_class != "unknown":
            license = declared
            if declared.license_class not in repo.options.licenses:
                return repo.dropped(path, f"license_{declared.license_class}")
    return repo.document(path, text, language, license)  # type: ignore[arg-type]


def _license_of_texts(texts: list[bytes]) -> LicenseInfo:
    return combine_licenses(classify_license_text(t.decode("utf-8", errors="replace")) for t in texts)


# --- folders ---------------------------------------------------------------------------------


def _is_symlink(fs: FileSystem, path: str) -> bool:
    # Only local files have symlinks; filesystems without ``is_symlink`` (object stores) have none.
    probe = getattr(fs, "is_symlink", None)
    return bool(probe(path)) if probe is not None else False


def _link_inside(fs: FileSystem, root: str, path: str) -> bool:
    probe = getattr(fs, "link_target_inside", None)
    return bool(probe(root, path)) if probe is not None else True


def _read_folder(fs: FileSystem, path: str, repo_base: _Repo) -> Iterator[ReadResult]:
    root = path.rstrip("/")
    licenses: list[bytes] = []
    license_paths: set[str] = set()
    # A first listing (no reads) finds the root license files, which may sort after sources.
    for info in fs.walk(root):
        name = relative_to_root(info.path, root)
        if "/" in name or not is_license_file(name) or len(license_paths) >= _MAX_LICENSE_FILES:
            continue
        license_paths.add(name)
        # A license file that links out of the tree is not read (and is rejected below).
        if _is_symlink(fs, info.path) and not _link_inside(fs, root, info.path):
            continue
        try:
            with fs.open(info.path) as f:
                licenses.append(f.read(_MAX_LICENSE_BYTES))
        except OSError:
            continue  # e.g. a link named LICENSE to a folder: the walk below accounts for it
    repo = repo_base._replace(license=_license_of_texts(licenses) if licenses else UNKNOWN)
    for info in fs.walk(root):
        rel = relative_to_root(info.path, root)
        if not _is_utf8(rel):
            # A file name that is not UTF-8 (surrogate-escaped by the OS layer) cannot be an id.
            yield repo.rejected(_printable(rel), "undecodable_path", "the file name is not valid UTF-8")
            continue
        if not _link_inside(fs, root, info.path):
            yield repo.rejected(rel, "symlink_outside_tree", f"{info.path} points outside {root}")
            continue
        if _is_symlink(fs, info.path):
            # Its target inside the tree is read as itself; reading the link too would
            # duplicate the content.
            yield repo.dropped(rel, "symlink")
            continue

        def read(n: int, p: str = info.path) -> bytes:
            with fs.open(p) as f:
                return f.read(n)

        try:
            yield _read_file(repo, rel, info.size, read, rel in license_paths)
        except OSError as e:
            yield repo.rejected(rel, "unreadable_file", f"{type(e).__name__}: {e}")


# --- archives --------------------------------------------------------------------------------


class _Member(NamedTuple):
    name: str  # raw member name
    kind: str  # "file", "dir", "symlink", "hardlink", "other"
    size: int
    link: str  # link target for links
    read: Callable[[int], bytes]


def _no_read(n: int) -> bytes:
    return b""


def _tar_members(fileobj: BinaryIO) -> Iterator[_Member]:
    with tarfile.open(fileobj=fileobj, mode="r|") as tf:
        for m in tf:
            if m.isreg():
                yield _Member(m.name, "file", m.size, "", lambda n, m=m: tf.extractfile(m).read(n))  # type: ignore[union-attr]
            elif m.isdir():
                yield _Member(m.name, "dir", 0, "", _no_read)
            elif m.issym():
                yield _Member(m.name, "symlink", 0, m.linkname, _no_read)
            elif m.islnk():
                yield _Member(m.name, "hardlink", 0, m.linkname, _no_read)
            else:
                yield _Member(m.name, "other", 0, "", _no_read)


def _tar_stream(raw: BinaryIO, path: str) -> BinaryIO:
    """The archive's uncompressed tar byte stream over ``raw`` (decompression chosen by suffix).
    Closing it leaves ``raw`` open: the caller closes both."""
    lower = path.lower()
    if lower.endswith((".tgz", ".tar.gz")):
        return open_decompressed(raw, ".gz")
    if lower.endswith((".tbz2", ".tar.bz2")):
        return open_decompressed(raw, ".bz2")
    if lower.endswith(".tar.zst"):
        return open_decompressed(raw, ".zst")
    if lower.endswith((".txz", ".tar.xz")):
        return lzma.LZMAFile(raw)  # type: ignore[return-value]
    return raw


def _zip_members(zf: zipfile.ZipFile) -> Iterator[_Member]:
    for info in zf.infolist():
        mode = info.external_attr >> 16
        if info.is_dir():
            yield _Member(info.filename, "dir", 0, "", _no_read)
        elif stat.S_ISLNK(mode):
            # A zip symlink stores its target as the member's content.
            try:
                target = zf.read(info)[:4096].decode("utf-8", errors="replace")
            except _ZIP_MEMBER_ERRORS:
                target = "/"  # unreadable target: treat as pointing out of the tree
            yield _Member(info.filename, "symlink", 0, target, _no_read)
        else:
            def read(n: int, info: zipfile.ZipInfo = info) -> bytes:
                with zf.open(info) as f:
                    return f.read(n)

            yield _Member(info.filename, "file", info.file_size, "", read)


_ARCHIVE_ERRORS: tuple[type[BaseException], ...] = (
    tarfile.TarError,
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    *DECOMPRESSION_ERRORS,
)
# zipfile also raises NotImplementedError (unknown compression method) and RuntimeError (an
# encrypted member) for one member; the others stay readable.
_ZIP_MEMBER_ERRORS = _ARCHIVE_ERRORS + (NotImplementedError, RuntimeError)


class _Layout:
    """What a first pass over an archive learns: the single top folder (if every member sits
    under one, as in GitHub tarballs) and the root license files' texts. Constant memory."""

    def __init__(self) -> None:
        self.top: str | None = None
        self.single_top = True
        self.candidates: dict[str, bytes] = {}  # cleaned name (depth 1 or 2) -> license text

    def see(self, m: _Member) -> None:
        if is_unsafe_member(m.name):
            return
        name = _clean_member_name(m.name)
        if not name or _OS_METADATA.match(name + "/"):
            return  # __MACOSX/ beside the top folder must not hide it
        parts = name.split("/")
        if len(parts) == 1 and m.kind != "dir":
            self.single_top = False
        if self.top is None:
            self.top = parts[0]
        elif parts[0] != self.top:
            self.single_top = False
        if m.kind == "file" and len(parts) <= 2 and is_license_file(parts[-1]) and len(self.candidates) < 2 * _MAX_LICENSE_FILES:
            self.candidates[name] = m.read(_MAX_LICENSE_BYTES)

    def prefix(self) -> str:
        return self.top + "/" if self.single_top and self.top is not None else ""

    def license_names(self) -> set[str]:
        """Repository-relative names of the root license files."""
        prefix = self.prefix()
        return {n[len(prefix) :] for n in self.candidates if n.startswith(prefix) and "/" not in n[len(prefix) :]}

    def license(self) -> LicenseInfo:
        prefix = self.prefix()
        texts = [t for n, t in sorted(self.candidates.items()) if n.startswith(prefix) and "/" not in n[len(prefix) :]]
        return _license_of_texts(texts) if texts else UNKNOWN


def _read_members(members: Iterator[_Member], repo: _Repo, layout: _Layout, member_errors: bool) -> Iterator[ReadResult]:
    """Second pass: every member -> Document, Dropped or Rejected.

    With ``member_errors`` (zip: members are independent) a member that fails to decompress is
    rejected as ``corrupt_archive_member`` and reading goes on; otherwise (tar: one stream) the
    error propagates and ends the archive.
    """
    prefix = layout.prefix()
    license_names = layout.license_names()
    seen: set[str] = set()
    for m in members:
        if m.kind == "dir":
            continue
        if is_unsafe_member(m.name):
            yield repo.rejected(m.name, "unsafe_archive_path", "absolute path or '..' in an archive member name")
            continue
        name = _clean_member_name(m.name)
        path = name[len(prefix) :] if prefix and name.startswith(prefix) else name
        if not path:
            yield repo.rejected(m.name, "unsafe_archive_path", "a file member whose name is empty or only '.'")
            continue
        if not _is_utf8(path):
            yield repo.rejected(_printable(m.name), "undecodable_path", "the member name is not valid UTF-8")
            continue
        if path in seen:
            # A tar may hold one name twice (the later copy wins when extracted); one id, one record.
            yield repo.dropped(path, "duplicate_member")
            continue
        seen.add(path)
        if m.kind == "symlink":
            target = posixpath.normpath(posixpath.join(posixpath.dirname(name), m.link)) if not m.link.startswith("/") else "/"
            if m.link.startswith("/") or target == ".." or target.startswith("../") or (prefix and not (target + "/").startswith(prefix)):
                yield repo.rejected(path, "symlink_outside_tree", f"{m.name} -> {m.link}")
            else:
                yield repo.dropped(path, "symlink")
            continue
        if m.kind == "hardlink":
            if is_unsafe_member(m.link):
                yield repo.rejected(path, "unsafe_archive_path", f"hard link {m.name} -> {m.link}")
            else:
                yield repo.dropped(path, "hardlink")
            continue
        if m.kind == "other":
            yield repo.dropped(path, "special_file")
            continue
        if not member_errors:
            yield _read_file(repo, path, m.size, m.read, path in license_names)
            continue
        try:
            yield _read_file(repo, path, m.size, m.read, path in license_names)
        except _ZIP_MEMBER_ERRORS as e:
            yield repo.rejected(path, "corrupt_archive_member", f"{type(e).__name__}: {e}")


def _read_tar(fs: FileSystem, path: str, repo: _Repo) -> Iterator[ReadResult]:
    # Pass 1 finds the license (it may come after the sources in the stream); pass 2 reads.
    # Streaming twice keeps memory at one file whatever the archive's size.
    layout = _Layout()
    try:
        with fs.open(path) as raw, _tar_stream(raw, path) as stream:
            for m in _tar_members(stream):
                layout.see(m)
    except _ARCHIVE_ERRORS:
        pass  # pass 2 meets the same damage and reports it after what was readable
    repo = repo._replace(license=layout.license())
    current: list[str] = []  # the member being read, for the reject's position

    def tracked(members: Iterator[_Member]) -> Iterator[_Member]:
        for m in members:
            current[:] = [m.name]
            yield m

    try:
        with fs.open(path) as raw, _tar_stream(raw, path) as stream:
            yield from _read_members(tracked(_tar_members(stream)), repo, layout, member_errors=False)
    except _ARCHIVE_ERRORS as e:
        # Damage after at least one readable header is a cut archive; garbage from the first
        # byte is not an archive at all.
        reason = "truncated_archive" if current or isinstance(e, EOFError) else "unreadable_archive"
        where = f"while reading member {current[0]!r}" if current else "before the first member"
        yield repo.rejected(current[0] if current else "", reason, f"{where}: {type(e).__name__}: {e}")


def _read_zip(fs: FileSystem, path: str, repo: _Repo) -> Iterator[ReadResult]:
    # zipfile needs a seekable file; only the central directory and one member are in memory.
    try:
        raw = fs.open(path)
    except OSError as e:
        yield repo.rejected("", "unreadable_archive", f"{type(e).__name__}: {e}")
        return
    with raw:
        try:
            zf = zipfile.ZipFile(raw)
        except _ARCHIVE_ERRORS as e:
            # The central directory sits at the end: a cut zip cannot even be listed.
            reason = "truncated_archive" if isinstance(e, zipfile.BadZipFile) else "unreadable_archive"
            yield repo.rejected("", reason, f"{type(e).__name__}: {e}")
            return
        with zf:
            layout = _Layout()
            for m in _zip_members(zf):
                try:
                    layout.see(m)
                except _ZIP_MEMBER_ERRORS:
                    pass  # a damaged license member is rejected in the second pass
            repo = repo._replace(license=layout.license())
            yield from _read_members(_zip_members(zf), repo, layout, member_errors=True)


# --- entry point -----------------------------------------------------------------------------


def read(fs: FileSystem, path: str, ctx: ReadContext) -> Iterator[ReadResult]:
    """Read one repository (a folder or an archive) into documents, one per source file.

    Args:
        fs: the filesystem ``path`` lives on.
        path: a repository folder, or a ``.tar.gz``/``.tgz``/``.tar``/``.zip``... archive. Any
            other file is read as a one-file repository with an unknown license.
        ctx: the source's name, the root that ids are taken from, and `Options`.

    Yields:
        A `Document` per kept source file (meta: repo, path, language, license,
        license_class, file, position), a `Dropped` per skipped file, a `Rejected` per unsafe
        or unreadable one.
    """
    options: Options = ctx.options if ctx.options is not None else Options()
    file = relative_to_root(path.rstrip("/"), ctx.root)
    if _is_symlink(fs, path.rstrip("/")) and not _link_inside(fs, ctx.root, path.rstrip("/")):
        yield Rejected(ctx.source, file, "", "symlink_outside_tree", f"{path} points outside {ctx.root}")
        return
    if is_archive(path):
        repo = _Repo(ctx.source, _strip_archive_suffix(file), file, UNKNOWN, options)
        reader = _read_zip if path.lower().endswith(".zip") else _read_tar
        yield from reader(fs, path, repo)
        return
    if fs.is_dir(path):
        yield from _read_folder(fs, path, _Repo(ctx.source, file, file, UNKNOWN, options))
        return
    # A lone file: a repository of one file, whose license we cannot know.
    parent = relative_to_root(posixpath.dirname(path), ctx.root)
    name = path.rsplit("/", 1)[-1]
    repo = _Repo(ctx.source, parent, file, UNKNOWN, options)

    def read_lone(n: int) -> bytes:
        with fs.open(path) as f:
            return f.read(n)

    try:
        size = next((i.size for i in fs.match(path)), 0)
        yield _read_file(repo, name, size, read_lone, False)
    except OSError as e:
        yield repo.rejected(name, "unreadable_file", f"{type(e).__name__}: {e}")


__all__ = [
    "Options",
    "read",
    "LANGUAGES",
    "LANGUAGE_NAMES",
    "language_of",
    "is_archive",
    "is_vendored",
    "is_generated",
    "has_long_lines",
    "alnum_fraction",
    "check_content",
    "check_path",
    "is_unsafe_member",
]

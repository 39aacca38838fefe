"""The kit's documents by name, for the docs command: the pages under docs/ and the README.

Installed from a wheel they ship inside the package (``writer_stream_testkit/docs/``,
README included); in a checkout they are the repository's ``docs/`` and
``README.md``. Kept apart from the command line so any front end can list them.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["docs_directory", "documents", "find_document"]


def docs_directory() -> Path:
    """The kit's documents: inside the package when installed from a wheel, else the checkout's docs/."""
    here = Path(__file__).resolve().parent
    shipped = here / "docs"
    return shipped if shipped.is_dir() else here.parent / "docs"


def documents() -> dict[str, Path]:
    """Every document by name (the file's stem), README first, then the pages in alphabetical order."""
    directory = docs_directory()
    found = {p.stem: p for p in sorted(directory.glob("*.md"))}
    readme = found.pop("README", None) or directory.parent / "README.md"
    return {"README": readme, **found} if readme.is_file() else found


def find_document(name: str) -> Path:
    """The document called ``name`` (any case, ``.md`` optional); ``LookupError`` naming the choices."""
    available = documents()
    wanted = name.removesuffix(".md").lower()
    for stem, path in available.items():
        if stem.lower() == wanted:
            return path
    raise LookupError(
        f"There is no document called {name!r}; choose one of {', '.join(available)} "
        "(`writer-stream-testkit docs` lists them)."
    )

"""What the generators that read Zoom's OpenAPI specs share: where the specs are, how they
are loaded, the error they raise, and the command line that writes their output.

The specs are data files outside the repo: by default `../shared/zoom-openapi` beside the
repo, or `$ZOOMSYNC_OPENAPI_DIR`. `scripts/` is not a package: the generators import this
module by name, with their own directory on `sys.path`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parent.parent

T = TypeVar("T", bound=Mapping[str, Any])


class GenerationError(Exception):
    """The spec does not say what the output needs; fix the spec dir or the generator."""


def default_spec_dir() -> Path:
    env = os.environ.get("ZOOMSYNC_OPENAPI_DIR")
    return Path(env) if env else REPO.parent / "shared" / "zoom-openapi"


def load_specs(spec_dir: Path, names: Iterable[str]) -> dict[str, Any]:
    """The parsed spec documents, by file name."""
    return {name: json.loads((spec_dir / name).read_text("utf-8")) for name in names}


def render(content: Mapping[str, Any]) -> str:
    """The generated JSON files' text: sorted keys, one-space indent, a final newline."""
    return json.dumps(content, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def run(
    *,
    doc: str | None,
    default_output: Path,
    build: Callable[[Path], T],
    summary: Callable[[T, Path], str],
    argv: list[str] | None = None,
) -> int:
    """A generator's command line, `[--spec-dir DIR] [--output FILE]`: write
    `render(build(spec_dir))` to the output and print `summary`; 1 on a missing spec file
    or a GenerationError."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--spec-dir", type=Path, default=default_spec_dir())
    parser.add_argument("--output", type=Path, default=default_output)
    args = parser.parse_args(argv)
    try:
        content = build(args.spec_dir)
    except FileNotFoundError as exc:
        print(f"error: {exc.filename} not found; pass --spec-dir or set ZOOMSYNC_OPENAPI_DIR",
              file=sys.stderr)
        return 1
    except GenerationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    args.output.write_text(render(content), "utf-8")
    print(summary(content, args.output))
    return 0

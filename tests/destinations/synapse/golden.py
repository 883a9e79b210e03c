"""Write the golden SQL files from the scenarios: run after an intended change, then review
the diff like code.

    .venv/bin/python -m tests.destinations.synapse.golden
"""

from __future__ import annotations

from pathlib import Path

from tests.destinations.synapse.scenarios import SCENARIOS, render

GOLDEN = Path(__file__).parent / "golden"


def main() -> None:
    GOLDEN.mkdir(exist_ok=True)
    for name in SCENARIOS:
        (GOLDEN / f"{name}.sql").write_text(render(name), encoding="utf-8")
        print(f"wrote {GOLDEN / name}.sql")  # a developer script, not progress output


if __name__ == "__main__":
    main()

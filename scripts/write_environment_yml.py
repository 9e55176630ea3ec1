"""Write environment.yml (conda: python 3.11 + a pip section) with exactly the pins of requirements.lock."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def lock_pins(lock: Path) -> list[str]:
    """The ``name==version`` lines of a uv/pip-tools lock, comments dropped."""
    return [
        line.split(";")[0].strip()
        for line in lock.read_text().splitlines()
        if line and not line.startswith((" ", "#", "-"))
    ]


def render(pins: list[str]) -> str:
    lines = [
        "# Generated from requirements.lock by scripts/write_environment_yml.py (make lock); do not edit.",
        "name: qmoe-tfq",
        "channels:",
        "  - conda-forge",
        "dependencies:",
        "  - python=3.11",
        "  - pip",
        "  - pip:",
    ]
    lines += [f"      - {pin}" for pin in pins]
    lines.append("      - -e .")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    (ROOT / "environment.yml").write_text(render(lock_pins(ROOT / "requirements.lock")))

"""environment.yml and requirements.lock pin the same versions of the same packages."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def pins_of(lines):
    out = {}
    for line in lines:
        if "==" in line:
            name, version = line.split(";")[0].strip().split("==")
            out[name.lower().replace("_", "-")] = version.strip()
    return out


def test_environment_yml_matches_lock():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    lock = [
        line
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if line and not line.startswith((" ", "#"))
    ]
    env_pins, lock_pins = pins_of(pip_section), pins_of(lock)
    assert env_pins == lock_pins, {
        k: (env_pins.get(k), lock_pins.get(k))
        for k in set(env_pins) | set(lock_pins)
        if env_pins.get(k) != lock_pins.get(k)
    }


def test_lock_has_the_tfq_pins():
    pins = pins_of((ROOT / "requirements.lock").read_text().splitlines())
    assert pins["tensorflow-quantum"] == "0.7.6"
    assert pins["tensorflow"].startswith("2.18.")
    assert pins["tf-keras"].startswith("2.18.")
    assert pins["cirq-core"] == "1.5.0" and pins["cirq-google"] == "1.5.0"
    assert pins["sympy"].startswith("1.14")
    assert "torch" not in pins, "torch belongs to the optional 'authors' extra, not the lock"

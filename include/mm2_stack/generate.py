"""Every generated file of the repository: ``python -m mm2_stack.generate`` (``make generate``) writes them all.

The sources are the metric catalog (``mm2_smoke.metrics``), the settings table (``mm2_smoke.settings``), the topic
naming (``mm2_smoke.naming``) and the local stack's MM2 definition (``mm2_stack.connect``). Generated: the Grafana
dashboards and the Prometheus alert rules of each metric profile, the exporter rules of the kafka-new profile, and docker-compose's MM2 connector configs, worker properties and topic
setup environment. ``--check`` writes nothing and exits 1 listing the committed files that differ.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mm2_smoke import alert_rules, dashboards
from mm2_smoke.metrics import PROFILES
from mm2_stack import compose, exporter_rules
from mm2_stack.config import REPO_ROOT


def generated_files() -> dict[Path, str]:
    """Every generated file's text, by path relative to the repository root (dashboards and rules per profile)."""
    out: dict[Path, str] = dict(exporter_rules.files(REPO_ROOT))
    for name in PROFILES:
        out.update({dashboards.out_dir(name) / f: text for f, text in dashboards.render(name).items()})
        out.update({alert_rules.out_dir(name) / f: text for f, text in alert_rules.render(name).items()})
    out.update(compose.files())
    return out


def stale(root: Path) -> list[Path]:
    """The generated files under ``root`` that are missing or differ from what the generators produce now.

    :param root: the repository root.
    """
    return [path for path, text in generated_files().items()
            if not (root / path).is_file() or (root / path).read_text() != text]


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check``, compare) every generated file.

    :param argv: command line arguments (default: ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(prog="python -m mm2_stack.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="repository root (default: this checkout)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a committed file is stale")
    args = parser.parse_args(argv)
    if args.check:
        paths = stale(args.root)
        for path in paths:
            print(f"stale: {path} (run `make generate`)")
        return 1 if paths else 0
    for path, text in generated_files().items():
        (args.root / path).parent.mkdir(parents=True, exist_ok=True)
        (args.root / path).write_text(text)
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

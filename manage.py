#!/usr/bin/env python
"""Django's command-line utility for ThoughtSpace.

Run with any Python: without Django it starts again with the project's own (``.venv``, made
by ``scripts/setup.sh``). A setting that is missing or wrong is one line on stderr, not a
traceback.
"""

import os
import sys
from pathlib import Path

VENV_PYTHON = Path(__file__).resolve().parent / ".venv" / "bin" / "python"


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "thoughtspace.settings")
    try:
        from django.core.management import execute_from_command_line
    except ImportError:
        if VENV_PYTHON.exists() and Path(sys.executable).absolute() != VENV_PYTHON:
            os.execv(VENV_PYTHON, [str(VENV_PYTHON), *sys.argv])
        print("manage.py: Django is not installed here: run scripts/setup.sh.", file=sys.stderr)
        return 2
    from django.core.exceptions import ImproperlyConfigured

    try:
        from django.conf import settings

        settings.INSTALLED_APPS  # noqa: B018 - reads the settings module, which checks them
    except ImproperlyConfigured as exc:
        print(f"manage.py: {exc}", file=sys.stderr)
        return 2
    execute_from_command_line(sys.argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Screenshots of the main pages at 1280 and 390 px, for the README and docs/.

    .venv/bin/python scripts/screenshots.py            # writes docs/screenshots/*.png

It starts one daphne in local mode on a throwaway database with the demo data (the browser
tests' helpers), opens the pages in Debian's Chromium (scripts/setup.sh chromium) signed in
as the demo user, and saves each page as it first appears (the graph once it is drawn).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.live.browsers import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.live.servers import api, app_env, daphnes, prepare_database  # noqa: E402

SIZES = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 390, "height": 844}}
EXTRA = [  # a few more thoughts, so that the pages show folds, links and related thoughts
    ("quorum", "Write quorum", "A write counts once the primary has it.", "sync"),
    ("journal", "Write journal", "Every local write, until the remote confirms it.", "sync"),
    ("recovery", "Automatic recovery", "Diverged files are set aside and rebuilt.", "replica"),
]


def pages(space: str) -> dict[str, str]:
    return {
        "spaces": "/spaces/",
        "space": f"/spaces/{space}/",
        "thought": f"/spaces/{space}/thoughts/sync/",
        "history": f"/spaces/{space}/history/",
        "tokens": "/tokens/",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: run scripts/setup.sh chromium", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="screenshots-") as tmp:
        env = app_env(Path(tmp) / "thoughtspace.db")
        demo = prepare_database(env)
        with daphnes(env) as (base_url,), sync_playwright() as playwright:
            thoughts = f"/api/spaces/{demo.space_id}/thoughts"
            for key, title, body, parent in EXTRA:
                api(
                    base_url,
                    demo.token,
                    "POST",
                    thoughts,
                    {
                        "key": key,
                        "title": title,
                        "body": body,
                        "parent": parent,
                    },
                )
            link = {"source": "journal", "target": "conflicts", "label": "records"}
            api(base_url, demo.token, "POST", f"/api/spaces/{demo.space_id}/links", link)
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for size, viewport in SIZES.items():
                page = browser.new_context(viewport=viewport).new_page()
                page.goto(f"{base_url}/login/")
                page.fill("input[name=username]", demo.username)
                page.fill("input[name=password]", demo.password)
                page.click("button[type=submit]")
                page.wait_for_url("**/spaces/")
                for name, path in pages(demo.space_id).items():
                    page.goto(base_url + path)
                    page.wait_for_load_state("networkidle")
                    if name == "space":
                        page.wait_for_function(
                            "() => document.getElementById('graph').dataset.nodes > 0"
                        )
                    target = args.out / f"{name}-{size}.png"
                    page.screenshot(path=target, full_page=size == "phone")
                    print(f"wrote {target.relative_to(ROOT)}")
                page.context.close()
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

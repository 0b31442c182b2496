"""The app on the bundled demo store, as the snapshot tests and screenshots see it.

``textual run tests/snapshot_app.py`` opens the same app by hand.
"""

from explorer.demo import DEMO_STORE
from explorer.tui.app import ExplorerApp


def make_app() -> ExplorerApp:
    # a fixed label instead of the absolute path, so pictures do not depend on the checkout
    return ExplorerApp(str(DEMO_STORE), label="demo_store")


app = make_app()

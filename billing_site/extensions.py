"""Extension points: a later stage adds to a page of an earlier one without being imported by it.

The flow points one way (DESIGN §2): customers cannot import payments or accounting, payments cannot
import accounting. A later app registers a contribution here in its `AppConfig.ready()`, and the
earlier page asks the registry. The kernel imports no stage; contributions run in app order.

- account panels: cards above the account page's tabs (the credit picture, revenue to date). A
  contributor is called as `fn(account=..., user=...)` and returns a dict with the `template` that
  renders it (the template sees it as `panel`), or None to show nothing.
- timeline figures: figures added to the account timeline's header (customer 360). A contributor is
  called as `fn(account=..., today=...)` and returns a list of `{"key", "label", "amount", "currency"}`.
"""

from collections.abc import Callable

ACCOUNT_PANELS: list[Callable] = []
TIMELINE_FIGURES: list[Callable] = []


def register_account_panel(fn: Callable) -> None:
    """Add a card above the account page's tabs (idempotent: ready() may run twice in tests)."""
    if fn not in ACCOUNT_PANELS:
        ACCOUNT_PANELS.append(fn)


def register_timeline_figures(fn: Callable) -> None:
    """Add figures to the account timeline's header (idempotent)."""
    if fn not in TIMELINE_FIGURES:
        TIMELINE_FIGURES.append(fn)


def account_panels(*, account, user) -> list[dict]:
    """The panels every registered stage shows for this account, in app order."""
    return [panel for fn in ACCOUNT_PANELS if (panel := fn(account=account, user=user))]


def timeline_figures(*, account, today) -> list[dict]:
    """The figures every registered stage adds to the account timeline, in app order."""
    return [figure for fn in TIMELINE_FIGURES for figure in fn(account=account, today=today)]

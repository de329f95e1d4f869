"""Who may see an event: the kernel's rule (``shared.visibility``), the very one contracts' read
APIs apply, so that notify never tells anyone what the owner's API would not show them. It is
applied to every subscription and never bent: a subscription's filters can narrow it only."""

from __future__ import annotations

from shared.visibility import may_see

__all__ = ["may_see"]

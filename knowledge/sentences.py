"""How a behaviour reads as one plain sentence (pure: no Django). Annotators see it on every question (curly
quotes); the COSMO-LM instruction export writes it into its prompts (straight quotes, as that format has always
had them)."""

from __future__ import annotations


def behaviour_sentence(
    *,
    head_kind: str,
    query: str | None,
    product: str | None,
    other_product: str | None,
    head_text: str,
    quotes: tuple[str, str] = ("“", "”"),
) -> str:
    """A search then a purchase, two products bought together, or a plain head: "A shopper searched for ..."."""
    left, right = quotes
    if head_kind == "search_buy":
        return f"A shopper searched for {left}{query}{right} and bought {left}{product}{right}."
    if head_kind == "co_buy":
        return f"A shopper bought {left}{product}{right} and {left}{other_product}{right} together."
    return f"About {left}{head_text}{right}."

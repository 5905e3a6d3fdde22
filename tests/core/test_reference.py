"""办件编号: short, checkable, forgiving of how people retype it."""

from __future__ import annotations

import uuid

from govcred.core.reference import ALPHABET, parse_reference, reference_of


def test_a_reference_is_twelve_symbols_in_three_groups_and_the_same_for_the_same_id():
    app_id = str(uuid.uuid4())
    ref = reference_of(app_id)
    assert len(ref) == 14 and ref[4] == ref[9] == "-"
    assert all(c in ALPHABET for c in ref.replace("-", ""))
    assert reference_of(app_id) == ref


def test_typed_references_are_forgiven_case_blanks_and_lookalikes():
    ref = reference_of("b8f1c4e2-0000-4000-8000-000000000001")
    assert parse_reference(ref.lower()) == ref
    assert parse_reference(" " + ref.replace("-", " ") + " ") == ref
    lookalike = ref.replace("0", "O").replace("1", "I")
    assert parse_reference(lookalike) == ref


def test_every_single_mistyped_symbol_and_every_neighbour_swap_is_refused():
    """(Luhn mod N's one blind spot, a swap of the alphabet's first and last symbol, aside.)"""
    ref = reference_of("b8f1c4e2-0000-4000-8000-000000000002").replace("-", "")
    for i, symbol in enumerate(ref):
        for other in ALPHABET:
            if other != symbol:
                assert parse_reference(ref[:i] + other + ref[i + 1 :]) is None
    for i in range(len(ref) - 1):
        if ref[i] != ref[i + 1] and {ref[i], ref[i + 1]} != {"0", "Z"}:
            assert parse_reference(ref[:i] + ref[i + 1] + ref[i] + ref[i + 2 :]) is None


def test_what_cannot_be_a_reference_is_none():
    for text in (None, "", "ABC", "U" * 12, "x" * 100, 12345):
        assert parse_reference(text) is None

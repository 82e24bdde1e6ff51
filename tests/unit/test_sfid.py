from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sf_bigtime.sfid import checksum, is_salesforce_id, same_org, to_18

# Pairs from Salesforce documentation and public captures of Outbound Messages, whose OrganizationId has 18
# characters and whose URLs end in its 15-character form (events/outbound-message.xml).
KNOWN = [
    ("0065w000023abcd", "0065w000023abcdAAA"),
    ("00D5w000004abcd", "00D5w000004abcdEAA"),
    ("001000000000001", "001000000000001AAA"),
    ("001A0000006Vm9r", "001A0000006Vm9rIAC"),
]


@pytest.mark.parametrize(("id15", "id18"), KNOWN)
def test_known_conversions(id15: str, id18: str) -> None:
    assert to_18(id15) == id18
    assert to_18(id18) == id18
    assert is_salesforce_id(id15) and is_salesforce_id(id18)


@pytest.mark.parametrize(
    "bad", ["", "006", "0065w000023abc!", "0065w000023abcdAAB", "0065w000023abcdaaa", 12]
)
def test_rejects_malformed_ids(bad: object) -> None:
    assert not is_salesforce_id(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a Salesforce id"):
        to_18(bad)  # type: ignore[arg-type]


@given(
    st.text(
        alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=15, max_size=15
    )
)
def test_checksum_encodes_capitalisation(id15: str) -> None:
    id18 = to_18(id15)
    assert id18[:15] == id15 and len(id18) == 18
    # Every capitalisation of the same letters gets its own suffix: the 18-char form is case-safe.
    flipped = id15.swapcase()
    if flipped != id15:
        assert checksum(flipped) != checksum(id15)


def test_same_org_compares_first_15_characters() -> None:
    assert same_org("00D5w000004abcd", "00D5w000004abcdEAA")
    assert not same_org("00D5w000004abce", "00D5w000004abcdEAA")
    assert not same_org("00D", "00D")


# -- properties (derandomized: the same examples every run) -----------------------------------------------
ID_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
PROPERTIES = settings(max_examples=300, derandomize=True, deadline=None)
ids15 = st.text(alphabet=ID_ALPHABET, min_size=15, max_size=15)


@PROPERTIES
@given(ids15)
def test_to_18_is_idempotent_and_keeps_the_id(id15: str) -> None:
    id18 = to_18(id15)
    assert is_salesforce_id(id15) and is_salesforce_id(id18)
    assert to_18(id18) == id18 and id18[:15] == id15
    assert is_salesforce_id(id18, id15[:3]) and same_org(id15, id18) and same_org(id18, id15)


@PROPERTIES
@given(ids15, st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", min_size=3, max_size=3))
def test_an_18_character_id_needs_its_own_checksum(id15: str, suffix: str) -> None:
    assert is_salesforce_id(id15 + suffix) is (suffix == checksum(id15))


@PROPERTIES
@given(st.one_of(st.text(st.characters(codec=None, categories=None), max_size=25), st.binary(max_size=20),
                 st.integers(), st.none(), st.lists(st.text(max_size=3), max_size=2)))  # fmt: skip
def test_anything_else_is_not_an_id_and_never_raises_but_in_to_18(value: object) -> None:
    ok = is_salesforce_id(value)  # type: ignore[arg-type]
    if not ok:
        with pytest.raises(ValueError, match="not a Salesforce id"):
            to_18(value)  # type: ignore[arg-type]
    else:
        assert isinstance(value, str) and value.isascii() and value.isalnum()


@PROPERTIES
@given(ids15, ids15)
def test_same_org_is_symmetric_and_needs_the_same_15_characters(a: str, b: str) -> None:
    assert same_org(a, b) == same_org(b, a) == (a == b)
    assert same_org(to_18(a), b) == (a == b)

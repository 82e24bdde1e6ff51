from __future__ import annotations

import pytest
from hypothesis import given
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

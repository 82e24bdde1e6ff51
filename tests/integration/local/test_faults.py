"""The fakes' shared fault injection: probabilistic faults are seeded (a chaos run replays), a spared request
neither uses up the fault nor stops the next one from matching, and bad settings are refused."""

from __future__ import annotations

import pytest

from sf_bigtime_local.faults import Fault, FaultInjector


def draws(seed: int, n: int = 200) -> list[bool]:
    injector = FaultInjector(seed)
    injector.add(Fault(path="/x", times=-1, probability=0.2))
    return [injector.take("GET", "/x") is not None for _ in range(n)]


def test_a_probabilistic_fault_strikes_about_its_share_and_the_seed_replays_the_draws() -> None:
    first = draws(7)
    assert first == draws(7)
    assert first != draws(8)
    assert 20 <= sum(first) <= 60  # 20 % of 200, give or take


def test_a_spared_request_goes_on_to_the_next_fault_and_does_not_use_up_times() -> None:
    injector = FaultInjector()
    injector.seed(1)
    rare = injector.add(Fault(path="/x", status=500, times=1, probability=0.000001))
    always = injector.add(Fault(path="/x", status=503, times=-1))
    assert [injector.take("POST", "/x") for _ in range(3)] == [always] * 3
    assert rare.hits == 0 and rare in injector.pending()


@pytest.mark.parametrize("probability", [0, -0.1, 1.5, True, "0.5"])
def test_a_probability_outside_0_to_1_is_refused(probability: object) -> None:
    with pytest.raises(ValueError, match="probability"):
        Fault.from_dict({"path": "/x", "probability": probability})

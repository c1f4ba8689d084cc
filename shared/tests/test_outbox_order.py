"""When the leading outbox relay may publish rows handed over at once, and when it must first look for rows another
instance committed (`PublishOrder`). The round trip and the read themselves are in tests/e2e/test_outbox_relay.py."""

from __future__ import annotations

from vprime_shared.outbox import PublishOrder


def leading_since(high: int) -> PublishOrder:
    """A leader that has published every id up to `high` and has seen every transaction running at its lead end."""
    order = PublishOrder()
    order.published(range(1, high + 1))
    assert order.snapshot(xmin=100, xmax=100) is False
    assert order.snapshot(xmin=100, xmax=100) is True  # the horizon passed: blind no more
    assert not order.blind
    return order


def test_a_leader_that_has_just_taken_the_lead_checks_until_every_transaction_running_then_has_ended() -> None:
    order = PublishOrder()
    assert not order.in_order([1])
    order.published([1, 2])
    assert not order.in_order([3]), "blind: ids below the first it saw may be another transaction's, still open"
    assert order.snapshot(xmin=50, xmax=60) is False
    assert not order.in_order([3])
    assert order.snapshot(xmin=55, xmax=70) is False, "a transaction below 60 is still running"
    assert not order.in_order([3])
    assert order.snapshot(xmin=60, xmax=70) is True, "all ended: read what is pending once"
    assert order.in_order([3])


def test_rows_that_follow_on_from_the_last_published_go_at_once() -> None:
    order = leading_since(10)
    assert order.in_order([11, 12])
    assert order.in_order([12, 11]), "commit order, not id order"
    order.published([11, 12])
    assert order.in_order([13])
    assert order.in_order([5]), "an id already below the last published skips nothing"


def test_rows_that_skip_an_id_of_another_instance_wait_for_a_check() -> None:
    order = leading_since(10)
    assert not order.in_order([12]), "11 may be another instance's, committed and not yet read"
    assert not order.in_order([11, 13])


def test_ids_skipped_for_this_processs_open_transactions_owe_nothing() -> None:
    order = leading_since(10)
    order.writing([11, 12])  # a transaction of this process, still open
    order.writing([13])
    order.closed([13], rolled_back=False)
    assert order.in_order([13])
    order.published([13])
    assert order.holes == {11, 12}
    assert order.in_order([14])
    order.closed([11, 12], rolled_back=False)  # it commits: handed over
    assert order.in_order([11, 12])
    order.published([11, 12])
    assert order.holes == set()


def test_ids_of_this_processs_rolled_back_transactions_are_no_holes() -> None:
    order = leading_since(10)
    order.writing([11])
    order.closed([11], rolled_back=True)
    assert order.in_order([12]), "11 will never commit"
    order.published([12])
    assert order.holes == set() and order.void == set()
    order.writing([13])
    order.published([14])  # 13 open when 14 went: a hole, but this process's
    order.closed([13], rolled_back=True)
    assert order.holes == set() and order.in_order([15])


def test_a_hole_of_another_transaction_is_checked_for_until_every_transaction_running_when_found_has_ended() -> None:
    order = leading_since(10)
    order.published([12])  # published after a check: 11 was another transaction's, still open
    assert not order.in_order([13]), "11 may commit any time: its NOTIFY first"
    assert order.snapshot(xmin=200, xmax=210) is False
    assert not order.in_order([13])
    assert order.snapshot(xmin=205, xmax=220) is False
    assert order.snapshot(xmin=210, xmax=220) is True, "it ended: read what is pending, in case it committed"
    assert order.holes == set() and order.in_order([13])


def test_a_hole_read_later_is_filled() -> None:
    order = leading_since(10)
    order.published([12])
    order.published([11])  # it committed and a read published it
    assert order.holes == set() and order.in_order([13])


def test_a_gap_too_wide_to_list_makes_the_leader_blind() -> None:
    order = leading_since(10)
    order.published([10 + PublishOrder.MAX_SKIPPED + 2])
    assert order.blind and order.holes == set()
    assert not order.in_order([10 + PublishOrder.MAX_SKIPPED + 3])


def test_a_lost_lead_forgets_all_but_this_processs_open_transactions() -> None:
    order = leading_since(10)
    order.writing([11])
    order.forget()
    assert order.blind and order.high is None and order.ours == {11}

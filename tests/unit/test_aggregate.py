"""Merging aggregates (`ghostid.models.rollups.Aggregate`, `ghostid.logic.aggregate`) and distinct counts
(`ghostid.distinct`): a merge that borrows a node's visitors never changes that node."""

from __future__ import annotations

from ghostid.distinct import EXACT_LIMIT, Distinct, visitor_hash
from ghostid.logic.aggregate import add_cell, merge_all
from ghostid.models.rollups import Aggregate, Cell


def node(country: str, visitors: range) -> Aggregate:
    aggregate = Aggregate(sessions=len(visitors), events=len(visitors))
    aggregate.rows["country"] = {country: [len(visitors), 0, len(visitors)]}
    aggregate.row_visitors["country"] = {country: Distinct(visitor_hash(f"v{i}") for i in visitors)}
    return aggregate


def cell(country: str, visitor: str) -> Cell:
    return Cell(hour=0, session_id=visitor, visitor=visitor, events=1, rows={"country": {country: [0, 0, 1]}})


def visitors(aggregate: Aggregate, country: str = "Canada") -> int:
    return aggregate.row_visitors["country"][country].estimate()


def test_a_cell_added_after_a_borrowing_merge_leaves_the_node_as_it_was() -> None:
    stored = node("Canada", range(3))
    total = Aggregate()
    total.merge(stored, borrow=True)
    add_cell(total, cell("Canada", "someone new"))
    assert visitors(total) == 4
    assert visitors(stored) == 3
    assert stored.rows["country"]["Canada"] == [3, 0, 3]


def test_two_totals_borrowing_one_node_keep_apart() -> None:
    stored, other = node("Canada", range(3)), node("Canada", range(10, 15))
    first = merge_all([stored, other], borrow=True)
    second = merge_all([stored], borrow=True)
    add_cell(second, cell("Canada", "late visitor"))
    assert (visitors(first), visitors(second), visitors(stored), visitors(other)) == (8, 4, 3, 5)


def test_a_borrowed_sketch_is_copied_before_a_merge_adds_to_it() -> None:
    big = node("Canada", range(EXACT_LIMIT * 4))  # a CPC sketch, not a set
    before = big.row_visitors["country"]["Canada"].to_bytes()
    total = merge_all([big, node("Canada", range(EXACT_LIMIT * 4, EXACT_LIMIT * 5))], borrow=True)
    assert big.row_visitors["country"]["Canada"].to_bytes() == before
    assert abs(visitors(total) - EXACT_LIMIT * 5) <= EXACT_LIMIT * 5 * 0.02


def test_exact_sets_merged_past_the_limit_become_a_sketch_of_their_union() -> None:
    halves = [Distinct(range(0, 200)), Distinct(range(150, 400))]
    union = Distinct.union_of(*halves)
    assert union.to_bytes()[:1] == b"C"  # past EXACT_LIMIT
    assert abs(union.estimate() - 400) <= 8
    assert Distinct.union_of(Distinct(range(10)), Distinct(range(5, 12))).estimate() == 12

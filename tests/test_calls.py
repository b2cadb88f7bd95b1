"""Call plans: the soonest calls of verified sizes for n rows, and rows run through them."""

import numpy as np

from app.serving.calls import candidate_sizes, in_calls, plan_calls


def test_plan_pads_the_last_call_when_that_is_cheaper():
    seconds = {2: 1.0, 4: 1.2, 8: 2.0}
    plan, cost = plan_calls(seconds, 16)
    assert plan[3] == (4,) and plan[8] == (8,) and plan[16] == (8, 8)
    assert plan[10] in ((8, 2), (2, 8))
    assert all(sum(calls) >= n for n, calls in enumerate(plan))
    assert cost[3] == 1.2 and cost[16] == 4.0


def test_candidates_are_powers_of_two_and_the_most_rows():
    assert candidate_sizes(64) == [1, 2, 4, 8, 16, 32, 64]
    assert candidate_sizes(48) == [1, 2, 4, 8, 16, 32, 48]


def test_rows_go_through_the_plans_calls_padded_and_come_back_in_order():
    seen = []

    def call(rows, labels):
        seen.append(len(rows))
        return rows[:, :1] * 10 + labels[:, None]

    plan, _ = plan_calls({2: 1.0, 4: 1.2}, 8)
    rows = np.arange(20, dtype=np.float32).reshape(10, 2)
    labels = np.arange(10, dtype=np.int32)
    out = in_calls(call, rows, labels, plan)
    np.testing.assert_array_equal(out[:, 0], rows[:, 0] * 10 + labels)
    assert sum(seen) >= 10 and set(seen) <= {2, 4}  # more rows than the plan covers, too
    seen.clear()
    assert in_calls(call, rows[:3], labels[:3], []).shape == (3, 1) and seen == [1, 1, 1]

"""The Ray backend on a multi-node cluster (issue 21): runs spread over two worker nodes; losing a node ends only its runs.

The cluster is ray.cluster_utils.Cluster on 127.0.0.1, started and stopped here; budgets are in steps.
"""

import pytest

ray = pytest.importorskip("ray", reason="the Ray backend's tests need ray (requirements-dev.txt)")
from ray.cluster_utils import Cluster  # noqa: E402
from test_pages import open_page  # noqa: E402
from test_ray_jobs import connect, shut_down, steps_run, trains, until  # noqa: E402


@pytest.fixture
def two_nodes(loopback):
    """ray.cluster_utils.Cluster: a head that trains nothing and two worker nodes of 3 CPUs each, all on 127.0.0.1."""
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    try:
        nodes = [cluster.add_node(num_cpus=3) for _ in range(2)]
        cluster.wait_for_nodes()
        yield cluster, nodes
    finally:
        shut_down(cluster)


def test_six_runs_spread_over_two_nodes_and_losing_one_node_fails_exactly_its_runs(two_nodes):
    cluster, nodes = two_nodes
    runner = connect(cluster)
    assert runner.max_concurrent == 6
    runs = [runner.submit(steps_run(steps=100_000), name=f"run{i}") for i in range(6)]
    until(lambda: all(trains(r) for r in runs), "all six train")
    where = [r.view().state["node"] for r in runs]
    assert set(where) == {n.node_id for n in nodes} and all(where.count(n.node_id) == 3 for n in nodes), where
    lost = nodes[0].node_id
    cluster.remove_node(nodes[0])
    doomed = [r for r, w in zip(runs, where) if w == lost]
    until(lambda: all(not r.view().active for r in doomed), "the lost node's runs end")
    for r in doomed:
        v = r.view()
        assert v.status == "failed" and v.message.startswith(f"The machine training this run was lost after {int(v.history[-1]['step'])} steps")
        assert len(v.history) >= 2  # the history so far is kept
    survivors = [r for r, w in zip(runs, where) if w != lost]
    assert all(r.view().active for r in survivors)
    for r in survivors:
        r.stop()
    until(lambda: all(not r.view().active for r in survivors), "the other runs end as asked")
    assert all(r.view().status == "stopped" for r in survivors)
    at = open_page()  # the app keeps serving
    assert not at.exception

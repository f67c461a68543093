import numpy as np
import torch

from sslviz import methods, viz


def test_tile_layout():
    out = viz.tile(torch.rand(10, 1, 8, 8), cols=4, scale=2, pad=1)
    assert out.dtype == np.uint8 and out.shape == ((3 * 9 + 1) * 2, (4 * 9 + 1) * 2, 3)


def test_figures_carry_the_data():
    history = [{"step": 1, "loss": 2.0}, {"step": 2, "loss": 1.5}]
    fig = viz.line_chart(history, ["loss"], "t")
    assert list(fig.data[0].y) == [2.0, 1.5]
    fig = viz.line_chart([{"step": 1, "a": 0.1, "b": 30}], ["a", "b"], "t", right=["b"])
    assert fig.data[1].yaxis == "y2" and fig.data[0].yaxis == "y"
    coords = np.array([[0, 0], [1, 1], [2, 2]], float)
    fig = viz.embedding_scatter(coords, np.array([0, 1, 1]), ["a", "b"], "t")
    assert [t.name for t in fig.data] == ["a", "b"] and len(fig.data[1].x) == 2
    fig = viz.accuracy_bars({"A": {"probe": 0.9, "knn": 0.8}}, "t")
    assert [t.name for t in fig.data] == ["probe", "knn"]
    fig = viz.similarity_bars(np.array([0.1, 0.9]), np.array([0.2, 0.8]), 1, ["x", "y"], "t")
    assert list(fig.data[1].y) == [0.2, 0.8]
    assert viz.similarity_matrix(np.eye(3), "t").data[0].z.shape == (3, 3)
    fig = viz.similarity_matrix(np.eye(4), "t", [(0, 2), (2, 0)])
    assert list(fig.data[1].x) == [2, 0] and list(fig.data[1].y) == [0, 2]
    rows = [{"method": "a", "seconds": 1, "loss": 3.0}, {"method": "b", "seconds": 1, "loss": 2.0}, {"method": "a", "seconds": 2, "loss": 1.0}]
    fig = viz.grouped_lines(rows, "method", "loss", "t")
    assert [t.name for t in fig.data] == ["a", "b"] and list(fig.data[0].y) == [3.0, 1.0]
    assert len(viz.sphere_scatter(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0, 1]), ["x", "y"], "t").data) == 3
    assert viz.sphere_scatter(np.eye(3), np.array([0, 1, 1]), ["x", "y"], "t").data[0].type == "scatter3d"
    assert "EMA" in viz.method_diagram(methods.spec("moco").diagram) and viz.method_diagram(methods.spec("simclr").diagram).startswith("digraph")


def test_every_logged_metric_reads_as_words_in_legends_and_axes():
    """No variable name on a chart: every metric a method logs has a label without underscores."""
    from sslviz import experiment
    from sslviz.train import TrainConfig, Trainer

    keys = set()
    for name in methods.REGISTRY:
        method, train, _ = experiment.prepare(name, "digits" if methods.spec(name).supports("digits") else "shapes", 0)
        keys |= set(Trainer(method, method.inputs(train), TrainConfig(batch_size=8, max_steps=1, max_seconds=None)).fit().history[0])
    assert "_" not in "".join(viz.metric_label(k) for k in keys), {k: viz.metric_label(k) for k in keys if "_" in viz.metric_label(k)}
    fig = viz.line_chart([{"step": 1, "positive_sim": 0.9, "negative_sim": 0.1}], ["positive_sim", "negative_sim"], "t")
    assert [t.name for t in fig.data] == ["positive pairs", "negatives"]
    assert viz.metric_label("nmi_colour") == "NMI with colour" and viz.metric_label("some_new_metric") == "some new metric"
    fig = viz.grouped_lines([{"method": "a", "seconds": 1, "effective_rank": 3.0}], "method", "effective_rank", "t")
    assert fig.layout.yaxis.title.text == "effective rank"


def test_label_efficiency_ticks_are_the_measured_percentages():
    summary = [{"encoder": "A", "mode": "linear probe", "fraction": f, "mean": 0.5, "std": 0.0, "labels": 10, "runs": 1} for f in (0.01, 0.05, 0.1, 1.0)]
    axis = viz.efficiency_chart(summary, "t").layout.xaxis
    assert axis.type == "log" and list(axis.tickvals) == [1, 5, 10, 100] and list(axis.ticktext) == ["1%", "5%", "10%", "100%"]


def test_leaderboard_prints_whole_steps_and_a_dash_where_a_row_has_no_value():
    import pandas as pd

    from sslviz.ui.downstream_views import leaderboard_style

    table = pd.DataFrame([{"encoder": "SimCLR", "pre-training (s)": 30.04, "steps": 121, "probe, all labels": 0.91234},
                          {"encoder": "from scratch", "pre-training (s)": None, "steps": None, "probe, all labels": None}]).set_index("encoder")
    html = leaderboard_style(table).to_html()
    assert ">121<" in html and "121.000" not in html and ">30.0<" in html and ">0.912<" in html
    assert "None" not in html and "nan" not in html and html.count(">—<") == 3

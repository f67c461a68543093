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


# One small input per figure builder. A new builder without an entry here fails the walk below, so none escapes the palette check.
FIGURE_SAMPLES = {
    "line_chart": lambda: viz.line_chart([{"step": s, "loss": 1.0 / s, "positive_sim": 0.1 * s} for s in range(1, 4)], ["loss", "positive_sim"], "t",
                                         right=["positive_sim"]),
    "embedding_scatter": lambda: viz.embedding_scatter(np.random.rand(30, 2), np.arange(30) % 10, [str(i) for i in range(10)], "t"),
    "accuracy_bars": lambda: viz.accuracy_bars({"A": {"probe": 0.9, "knn": 0.8}, "B": {"probe": 0.5, "knn": 0.4}}, "t"),
    "similarity_bars": lambda: viz.similarity_bars(np.array([0.1, 0.9, -0.2]), np.array([0.2, 0.7, 0.1]), 1, ["x", "y", "z"], "t"),
    "similarity_matrix": lambda: viz.similarity_matrix(np.eye(4), "t", [(0, 2), (2, 0)]),
    "grouped_lines": lambda: viz.grouped_lines([{"m": m, "seconds": s, "loss": s} for m in "abcdefghij" for s in (1, 2)], "m", "loss", "t"),
    "sphere_scatter": lambda: viz.sphere_scatter(np.random.randn(20, 2), np.arange(20) % 10, [str(i) for i in range(10)], "t"),
    "sphere_scatter 3-D": lambda: viz.sphere_scatter(np.random.randn(20, 3), np.arange(20) % 10, [str(i) for i in range(10)], "t"),
    "bars": lambda: viz.bars([3, 1, 2], ["a", "b", "c"], "t", highlight=[True, False, False]),
    "count_heatmap": lambda: viz.count_heatmap(np.array([[1, 2], [3, 4]]), ["r1", "r2"], ["c1", "c2"], "t"),
    "efficiency_chart": lambda: viz.efficiency_chart(
        [{"encoder": e, "mode": m, "fraction": f, "mean": 0.5, "std": 0.1, "labels": 10, "runs": 3}
         for e, m in (("SimCLR", "linear probe"), ("SimCLR", "fine-tune"), ("supervised from scratch", "supervised from scratch")) for f in (0.01, 1.0)], "t"),
    "spectrogram": lambda: viz.spectrogram(np.random.rand(8, 5), 8000, 64, "t"),
    "score_heatmap": lambda: viz.score_heatmap({"A": {"x": 0.5, "y": 0.9}}, "t"),
    "correlation_heatmap": lambda: viz.correlation_heatmap(np.eye(4) - 0.2, "t"),
}


def _colours(node, path=""):
    """Every (path, colour) and (path, colour scale) set in a figure's traces (plotly's JSON), recursively."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("color", "colorscale"):
                yield f"{path}.{key}", key, value
            else:
                yield from _colours(value, f"{path}.{key}")
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from _colours(item, path)


def test_every_plotly_figure_uses_the_okabe_ito_palette_and_cividis():
    import inspect

    builders = {name for name, f in inspect.getmembers(viz, inspect.isfunction)
                if f.__module__ == viz.__name__ and inspect.signature(f).return_annotation == "go.Figure" and not name.startswith("_")}
    assert builders == {name.split()[0] for name in FIGURE_SAMPLES}, "every figure builder needs a sample in FIGURE_SAMPLES"
    assert len(viz.PALETTE) == 8 and viz.PALETTE[:3] == ["#0072B2", "#E69F00", "#009E73"]  # Okabe & Ito's colours
    allowed = {c.lower() for c in (*viz.PALETTE, *viz.NEUTRALS)}
    cividis = [list(stop) for stop in viz.go.Heatmap(colorscale="Cividis").colorscale]
    for name, build in FIGURE_SAMPLES.items():
        fig = build()
        assert list(fig.layout.colorway) == viz.PALETTE, name  # a trace without its own colour takes the palette too
        seen = list(_colours([trace.to_plotly_json() for trace in fig.data]))
        for path, kind, value in seen:
            if kind == "colorscale":
                assert [list(stop) for stop in value] == cividis, (name, path)
            else:
                values = value if isinstance(value, (list, tuple)) else [value]
                assert all(isinstance(v, str) and v.lower() in allowed for v in values), (name, path, value)
        assert seen, f"{name}: no colour was set"


def test_the_thumbnail_chart_colours_classes_like_the_scatter():
    chart = viz.thumbnail_scatter(np.random.rand(4, 2), np.array([0, 1, 2, 1]), ["a", "b", "c"], "t", ["data:,"] * 4)
    assert chart.to_dict()["encoding"]["color"]["scale"]["range"] == viz.PALETTE[:3]


def test_every_plotly_figure_is_drawn_on_the_plotly_white_template_as_if_named_in_its_layout():
    # viz._figure assigns the registered template unvalidated instead of naming it in every layout (which validated the
    # whole template each time): each figure's JSON must be what naming it gives
    for name, build in FIGURE_SAMPLES.items():
        fig = build()
        named = viz.go.Figure(fig).update_layout(template="plotly_white")
        assert fig.layout.template.layout.plot_bgcolor == "white", name
        assert fig.to_dict() == named.to_dict(), name

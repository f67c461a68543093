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

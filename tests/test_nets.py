import pytest
import torch

from sslviz.nets import MLPHead, SmallCNN, projection_head


@pytest.mark.parametrize("channels, size", [(1, 28), (3, 32), (3, 96)])
def test_small_cnn_output_shape(channels, size):
    net = SmallCNN(channels, width=8)
    assert net(torch.rand(4, channels, size, size)).shape == (4, 32)
    assert net.out_dim == 32


def test_heads():
    head = projection_head(32, 64, 16)
    assert head(torch.rand(5, 32)).shape == (5, 16)
    single = MLPHead(32, 64, 10, num_layers=1)
    assert len(list(single.parameters())) == 2  # one Linear with bias
    with pytest.raises(ValueError):
        MLPHead(3, 3, 3, num_layers=0)
    with pytest.raises(ValueError):
        SmallCNN(0)

import pytest
import torch

from sslviz.nets import MLPHead, SmallCNN, conv_block, global_average_pool, projection_head


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


def test_conv_block_pools_before_its_relu_with_the_same_values_and_gradients():
    # conv → BN → pool → ReLU is how the block computes conv → BN → ReLU → pool (ReLU is monotone, so max commutes with it).
    torch.manual_seed(0)
    block = conv_block(3, 8, pool=True)
    assert [type(m).__name__ for m in block] == ["Conv2d", "BatchNorm2d", "MaxPool2d", "ReLU"]
    textbook = torch.nn.Sequential(block[0], block[1], torch.nn.ReLU(), torch.nn.MaxPool2d(2))
    x = torch.randn(4, 3, 16, 16)
    outputs, grads = [], []
    for net in (block, textbook):
        net.zero_grad()
        y = net(x)
        (y * torch.arange(y.numel()).reshape(y.shape)).sum().backward()  # a gradient that differs per output element
        outputs.append(y.detach())
        grads.append(block[0].weight.grad.clone())
    torch.testing.assert_close(outputs[0], outputs[1])
    torch.testing.assert_close(grads[0], grads[1])
    assert list(dict(SmallCNN(3, 4).named_parameters()))[:3] == ["blocks.0.0.weight", "blocks.0.1.weight", "blocks.0.1.bias"]  # saved models load


def test_global_average_pool_is_the_mean_over_positions_with_its_gradient():
    x = torch.randn(6, 5, 4, 3, generator=torch.Generator().manual_seed(0)).contiguous(memory_format=torch.channels_last)
    a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
    pooled = global_average_pool(torch.relu(a))
    expected = torch.relu(b).mean(dim=(2, 3))
    torch.testing.assert_close(pooled, expected)
    weights = torch.randn(6, 5, generator=torch.Generator().manual_seed(1))
    (pooled * weights).sum().backward(), (expected * weights).sum().backward()
    torch.testing.assert_close(a.grad, b.grad)

# SPDX-License-Identifier: Apache-2.0
"""The image encoders as torch.nn modules, named as common/nn names them
(common/nn/encoder_conv.c): the one definition that the reference dumps
(make_reference.py) and the PyTorch side of the update benchmark
(tests/bench/torch_update.py) both build, so the benchmark times the network
the reference test holds our encoders to."""
import torch


class Residual(torch.nn.Module):
    """x + conv1(relu(conv0(relu(x)))), the IMPALA paper's block."""

    def __init__(self, ch):
        super().__init__()
        self.conv0 = torch.nn.Conv2d(ch, ch, 3, padding=1)
        self.conv1 = torch.nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x):
        return x + self.conv1(torch.relu(self.conv0(torch.relu(x))))


def image_encoder(kind, H, W, C, feat):
    """The encoder as torch.nn modules, named as common/nn names them."""
    nn = torch.nn
    if kind == "minatar":
        body = [nn.Conv2d(C, 16, 3), nn.ReLU()]
    elif kind == "nature":
        body = [nn.Conv2d(C, 32, 8, 4), nn.ReLU(), nn.Conv2d(32, 64, 4, 2), nn.ReLU(),
                nn.Conv2d(64, 64, 3, 1), nn.ReLU()]
    else:
        body, cin = [], C
        for ch in (16, 32, 32):
            body.append(nn.Sequential(nn.Conv2d(cin, ch, 3, padding=1),
                                      nn.MaxPool2d(3, 2, padding=1),
                                      Residual(ch), Residual(ch)))
            cin = ch
        body.append(nn.ReLU())
    with torch.no_grad():
        flat = nn.Sequential(*body)(torch.zeros(1, C, H, W)).numel()
    return nn.Sequential(*body, nn.Flatten(), nn.Linear(flat, feat), nn.ReLU())

import pytest
import torch

from models.device import module_bytes, pick_device, pick_dtype


@pytest.mark.parametrize(
    "cuda, mps, expected", [(True, True, "cuda"), (True, False, "cuda"), (False, True, "mps"), (False, False, "cpu")]
)
def test_auto_prefers_cuda_then_mps_then_cpu(cuda, mps, expected):
    assert pick_device("auto", cuda_available=cuda, mps_available=mps) == expected


def test_explicit_cpu_is_honoured_even_with_a_gpu():
    assert pick_device("cpu", cuda_available=True, mps_available=True) == "cpu"


@pytest.mark.parametrize("requested", ["cuda", "mps"])
def test_unavailable_accelerator_is_a_clear_error(requested):
    with pytest.raises(ValueError, match=requested):
        pick_device(requested, cuda_available=False, mps_available=False)


def test_unknown_device_is_refused():
    with pytest.raises(ValueError, match="Unknown device"):
        pick_device("tpu")


def test_half_precision_only_on_accelerators():
    assert pick_dtype("cpu") == torch.float32
    assert pick_dtype("mps") == torch.float16
    assert pick_dtype("cuda", bf16_supported=True) == torch.bfloat16
    assert pick_dtype("cuda", bf16_supported=False) == torch.float16


def test_module_bytes_counts_parameters_and_buffers():
    layer = torch.nn.BatchNorm1d(10)  # 20 parameters, 21 buffer values (mean, var, count)
    assert module_bytes(layer) == 20 * 4 + 20 * 4 + 8
    assert module_bytes("not a model") == 0

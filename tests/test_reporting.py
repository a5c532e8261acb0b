"""The helpers behind the demo's report and the model card: kept-token fractions, the plot, latency timing."""

from __future__ import annotations

import pytest
import torch
from timing import compare_latency
from torch import nn

from transformers_top import TopBertConfig
from transformers_top.models.flops import plan_lengths
from transformers_top.sharing import hardware
from transformers_top.sharing.hardware import describe_hardware, hardware_line
from transformers_top.sharing.kept_tokens_plot import kept_token_fractions, plot_kept_tokens


def test_kept_token_fractions_weigh_each_sequence_by_its_tokens(tiny_bert_config):
    config = TopBertConfig.from_bert_config(tiny_bert_config, token_keep_ratios=[1.0, 1.0, 0.5, 0.5])
    # 11 tokens: 10 candidates -> 1 + 5 = 6 -> 1 + ceil(2.5) = 4; 3 tokens: 2 -> 1 + 1 = 2 -> 1 + 1 = 2.
    assert plan_lengths(config, 11) == [11, 11, 6, 4] and plan_lengths(config, 3) == [3, 3, 2, 2]
    fractions = kept_token_fractions(config, [11, 3, 3])
    assert fractions == pytest.approx([1.0, 1.0, (6 + 2 + 2) / 17, (4 + 2 + 2) / 17])
    assert kept_token_fractions(TopBertConfig.from_bert_config(tiny_bert_config), [5, 9]) == [1.0] * 4


@pytest.mark.parametrize("lengths", [[], [4, 0]])
def test_kept_token_fractions_reject_bad_lengths(tiny_bert_config, lengths):
    with pytest.raises(ValueError, match="lengths must be a non-empty list of positive sequence lengths"):
        kept_token_fractions(TopBertConfig.from_bert_config(tiny_bert_config), lengths)


def test_plot_is_written_as_png(tiny_bert_config, tmp_path):
    config = TopBertConfig.from_bert_config(tiny_bert_config, token_keep_ratios=[1.0, 1.0, 0.5, 0.5])
    path = plot_kept_tokens(config, [11, 3], tmp_path / "plots" / "kept.png")
    assert path.read_bytes().startswith(b"\x89PNG")


class _Counting(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return x * 2


def test_compare_latency_times_every_model_on_every_batch():
    models = {"a": _Counting(), "b": _Counting()}
    batches = [{"x": torch.ones(2)} for _ in range(4)]
    stats = compare_latency(models, batches, rounds=3, warmup_batches=2)
    assert [model.calls for model in models.values()] == [2 + 3 * 4, 2 + 3 * 4]
    for result in stats.values():
        assert result.rounds == 3 and result.num_batches == 4
        assert 0 < result.min <= result.median <= result.max
        assert result.per_batch_ms == pytest.approx(1000 * result.median / 4)


@pytest.mark.parametrize(("models", "rounds"), [({}, 1), ({"a": _Counting()}, 0)])
def test_compare_latency_rejects_bad_arguments(models, rounds):
    with pytest.raises(ValueError):
        compare_latency(models, [{"x": torch.ones(1)}], rounds=rounds)


def test_describe_hardware_names_the_machine():
    hardware = describe_hardware()
    assert hardware["cpu"] and hardware["logical_cores"] >= 1 and hardware["torch_threads"] >= 1
    assert hardware["torch"] == torch.__version__


def test_hardware_line_names_cpu_threads_and_torch():
    line = hardware_line({"cpu": "Some CPU", "torch_threads": 2, "torch": "2.13.0"})
    assert line == "Some CPU, 2 threads, torch 2.13.0"


def test_hardware_line_names_the_instruction_sets_when_known():
    line = hardware_line({"cpu": "AMD EPYC", "cpu_features": "AVX2", "torch_threads": 2, "torch": "2.13.0"})
    assert line == "AMD EPYC (AVX2), 2 threads, torch 2.13.0"
    unknown = {"cpu": "Some CPU", "cpu_features": "unknown", "torch_threads": 1, "torch": "2.13.0"}
    assert hardware_line(unknown) == "Some CPU, 1 threads, torch 2.13.0"


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ("fpu sse2 avx fma avx2", "AVX2"),
        ("avx2 avx512f avx512_vnni avx512_bf16 amx_bf16 amx_tile", "AMX, AVX512-BF16, AVX512-VNNI, AVX-512, AVX2"),
        ("fpu sse2", "none"),
    ],
)
def test_cpu_features_reads_the_matrix_instruction_sets_from_cpuinfo(flags, expected, monkeypatch, tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: {flags}\n")
    real_path = hardware.Path
    monkeypatch.setattr(hardware, "Path", lambda name: cpuinfo if name == "/proc/cpuinfo" else real_path(name))
    assert hardware.cpu_features() == expected
    assert hardware.cpu_model() == "Test CPU"

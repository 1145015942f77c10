"""augkit.distributed: what a component that runs on every process uses (the multi-process behaviour
itself is exercised by the real torchrun tests in test_augment_cli and test_multimix_pipeline)."""
import pytest

from augkit import RunError, distributed


def test_shard_bounds_cover_every_item_once_in_order_with_balanced_blocks():
    for n in (0, 1, 5, 7, 100):
        for parts in (1, 2, 3, 8):
            blocks = [distributed.shard_bounds(n, parts, i) for i in range(parts)]
            assert [i for a, b in blocks for i in range(a, b)] == list(range(n))
            sizes = [b - a for a, b in blocks]
            assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)


def test_one_process_collectives_are_no_ops():
    assert distributed.world_size() == 1 and distributed.is_main()
    distributed.barrier()
    assert distributed.broadcast({"a": 1}) == {"a": 1}
    assert distributed.all_gather(3) == [3]
    assert distributed.shard([1, 2, 3]) == [1, 2, 3]


def test_collective_without_a_process_group_says_what_to_do(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    with pytest.raises(RunError, match="ensure_process_group"):
        distributed.broadcast(1)

"""Executors: serial, local processes and Ray give the same results, in task order."""
from __future__ import annotations

import os
import time

import pytest

from autodl_solver.errors import AutoDLError, AutoDLInputError
from autodl_solver.utils.executors import (
    LocalExecutor,
    SerialExecutor,
    TaskError,
    make_executor,
    wait_any,
)


# Task functions live at module level: spawn-ed workers and Ray workers import them by name.
def square_after(x: int, delay: float = 0.0) -> int:
    time.sleep(delay)
    return x * x


def fail_on(x: int, bad: int) -> int:
    if x == bad:
        raise ValueError(f"bad input {x}")
    return x


def worker_pid() -> int:
    return os.getpid()


def _check_map_contract(executor) -> None:
    """Results in task order, on_result once per task with its own result, errors name the task."""
    # Later tasks finish first on parallel executors (shorter sleeps), so order is really tested.
    tasks = [{"x": i, "delay": 0.3 * (3 - i) if executor.max_workers > 1 else 0.0} for i in range(4)]
    seen: dict[int, int] = {}
    results = executor.map(square_after, tasks, on_result=lambda i, r: seen.__setitem__(i, r))
    assert results == [0, 1, 4, 9]
    assert seen == {0: 0, 1: 1, 2: 4, 3: 9}
    with pytest.raises(TaskError) as info:
        executor.map(fail_on, [{"x": i, "bad": 2} for i in range(4)])
    assert isinstance(info.value, AutoDLError)
    assert info.value.index == 2
    assert isinstance(info.value.cause, ValueError) and "bad input 2" in str(info.value)
    assert executor.map(square_after, []) == []


def _check_submit_contract(executor) -> None:
    futures = [executor.submit(square_after, x=3), executor.submit(square_after, x=4, delay=0.2)]
    done, pending = wait_any(futures)
    assert done and set(done) | set(pending) == set(futures)
    assert [f.result(timeout=60) for f in futures] == [9, 16]
    assert all(f.done() for f in futures)
    assert wait_any(futures) == (futures, [])


def test_serial_executor_runs_in_this_process():
    with make_executor("serial") as executor:
        assert isinstance(executor, SerialExecutor) and executor.max_workers == 1
        _check_map_contract(executor)
        _check_submit_contract(executor)
        assert executor.submit(worker_pid).result() == os.getpid()


def test_local_executor_uses_worker_processes():
    with make_executor("local", max_workers=2) as executor:
        assert isinstance(executor, LocalExecutor) and executor.max_workers == 2
        _check_map_contract(executor)
        _check_submit_contract(executor)
        assert executor.submit(worker_pid).result(timeout=60) != os.getpid()
    assert LocalExecutor().max_workers == 1


def test_map_keeps_at_most_max_workers_in_flight():
    class CountingSerial(SerialExecutor):
        submitted = 0

        def submit(self, fn, **kwargs):
            self.submitted += 1
            return super().submit(fn, **kwargs)

    executor = CountingSerial()
    order: list[tuple[int, int]] = []
    executor.map(square_after, [{"x": i} for i in range(3)],
                 on_result=lambda i, r: order.append((i, executor.submitted)))
    # One in flight at a time: task i is done before task i + 1 is submitted.
    assert order == [(0, 1), (1, 2), (2, 3)]


def test_on_result_error_propagates_and_cancels():
    def stop(i, result):
        raise KeyError("caller bug")

    with make_executor("local", max_workers=1) as executor:
        with pytest.raises(KeyError):
            executor.map(square_after, [{"x": i} for i in range(3)], on_result=stop)


@pytest.mark.parametrize("kwargs, where", [
    (dict(kind="threads"), "executor"),
    (dict(kind="local", max_workers=0), "workers"),
    (dict(kind="local", max_workers=1.5), "workers"),
    (dict(kind="local", address="auto"), "address"),
])
def test_make_executor_rejects_bad_arguments(kwargs, where):
    kind = kwargs.pop("kind")
    with pytest.raises(AutoDLInputError) as info:
        make_executor(kind, **kwargs)
    assert info.value.where == where


@pytest.mark.parametrize("address", ["127.0.0.1:1", "ray://127.0.0.1:1", "no-port"])
def test_ray_executor_fails_fast_on_a_bad_address(address):
    pytest.importorskip("ray")
    import ray

    if ray.is_initialized():
        pytest.skip("Ray already runs in this process")
    with pytest.raises(AutoDLInputError) as info:
        make_executor("ray", address=address)
    assert info.value.where == "address"


def test_wait_any_rejects_foreign_objects():
    with pytest.raises(TypeError):
        wait_any([object()])
    assert wait_any([]) == ([], [])


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray with 2 CPUs, started once for this module and shut down after it."""
    ray = pytest.importorskip("ray")
    from autodl_solver.utils.executors import RayExecutor

    executor = RayExecutor(num_cpus=2)
    yield ray
    executor.close()  # stops Ray only if this fixture started it


@pytest.mark.slow
def test_ray_executor_matches_local(local_ray):
    from autodl_solver.utils.executors import RayExecutor

    with make_executor("ray", max_workers=2) as executor:
        assert isinstance(executor, RayExecutor) and executor.max_workers == 2
        _check_map_contract(executor)
        _check_submit_contract(executor)
        assert executor.submit(worker_pid).result(timeout=60) != os.getpid()
    # Ray was already running: the executor left it up for the others.
    assert local_ray.is_initialized()
    assert make_executor("ray").max_workers == 2  # the cluster's CPUs

"""Run independent tasks serially, in local processes, or on a Ray cluster.

One small interface for the benchmark suite and the searchers: an
:class:`Executor` maps a module-level function over keyword-argument dicts
(``fn(**task)``) and gives the results back in task order, calling
``on_result(i, result)`` in the calling process as each task finishes. A
searcher that keeps N trials in flight uses :meth:`Executor.submit` and
:func:`wait_any` instead.

* :class:`SerialExecutor` runs each task in this process (tests, debugging).
* :class:`LocalExecutor` runs them in ``spawn``-ed worker processes, so a task
  starts from a clean interpreter (no inherited TensorFlow / torch threads).
* :class:`RayExecutor` runs them as Ray tasks on a local cluster it starts, or
  on an existing one (``address``). Ray is imported only here and only when
  this executor is built, so the rest of the package never needs it.

A task that raises makes :meth:`Executor.map` stop submitting, cancel what has
not started and raise :class:`TaskError` (an
:class:`~autodl_solver.errors.AutoDLError`) naming the task index; callers that
want to keep going record failures inside their task function instead.
"""
from __future__ import annotations

import abc
import concurrent.futures as cf
from concurrent.futures.process import BrokenProcessPool
import multiprocessing
import os
import sys
from typing import Any, Callable, Mapping, Optional, Sequence, TypeVar

from ..errors import AutoDLError, AutoDLInputError

R = TypeVar("R")

#: The executor kinds :func:`make_executor` knows.
EXECUTOR_KINDS = ("serial", "local", "ray")


class TaskError(AutoDLError, RuntimeError):
    """A task of :meth:`Executor.map` raised; ``index`` names it, ``__cause__`` holds its exception.

    Parameters
    ----------
    index : int
        Position of the failed task in the ``tasks`` sequence.
    cause : BaseException
        The exception the task raised (Ray's wrapper removed where possible).
    """

    def __init__(self, index: int, cause: BaseException) -> None:
        self.index = index
        self.cause = cause
        super().__init__(f"task {index} failed: {type(cause).__name__}: {cause}")


class Executor(abc.ABC):
    """Runs independent tasks; results come back in task order.

    Subclasses implement :meth:`submit` (returning a future with
    ``result(timeout=None)``, ``done()`` and ``cancel()``) and :meth:`close`;
    :meth:`map` is shared and keeps at most :attr:`max_workers` tasks in flight.

    Attributes
    ----------
    max_workers : int
        How many tasks run at once.
    """

    max_workers: int = 1

    @abc.abstractmethod
    def submit(self, fn: Callable[..., R], **kwargs: Any) -> Any:
        """Start ``fn(**kwargs)``; return a future with ``result(timeout=None)``, ``done()``, ``cancel()``.

        ``fn`` must be a module-level (picklable) function and its result picklable.
        """

    def close(self) -> None:  # noqa: B027 - a no-op is right for the serial executor
        """Release the workers (idempotent)."""

    def map(self, fn: Callable[..., R], tasks: Sequence[Mapping[str, Any]],
            on_result: Optional[Callable[[int, R], None]] = None) -> list[R]:
        """Run ``fn(**tasks[i])`` for every ``i``; return the results in task order.

        Parameters
        ----------
        fn : callable
            A module-level (picklable) function; its results must be picklable.
        tasks : sequence of mappings
            Keyword arguments of each call.
        on_result : callable, optional
            ``on_result(i, result)``, called in this process as each task
            finishes (completion order), e.g. for progress lines.

        Returns
        -------
        list
            ``fn(**tasks[i])`` at position ``i``.

        Raises
        ------
        TaskError
            When a task raises: tasks not yet started are cancelled, and the
            error names the first failed task's index.
        """
        tasks = list(tasks)
        results: list[Any] = [None] * len(tasks)
        pending: dict[Any, int] = {}
        next_index = 0
        try:
            while next_index < len(tasks) or pending:
                # Keep at most max_workers in flight so that --workers N holds on every executor
                # (a Ray cluster would otherwise run as many as it has CPUs).
                while next_index < len(tasks) and len(pending) < max(1, self.max_workers):
                    pending[self.submit(fn, **dict(tasks[next_index]))] = next_index
                    next_index += 1
                done, _ = wait_any(list(pending))
                for future in done:
                    index = pending.pop(future)
                    try:
                        result = future.result()
                    except Exception as exc:  # noqa: BLE001 - re-raised with the task index
                        raise TaskError(index, exc) from exc
                    results[index] = result
                    if on_result is not None:
                        on_result(index, result)
        finally:
            for future in pending:
                future.cancel()
        return results

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


class SerialExecutor(Executor):
    """Runs every task in this process, one at a time, when it is submitted."""

    max_workers = 1

    def submit(self, fn: Callable[..., R], **kwargs: Any) -> cf.Future:
        """Run ``fn(**kwargs)`` now; return a finished :class:`concurrent.futures.Future`."""
        future: cf.Future = cf.Future()
        future.set_running_or_notify_cancel()
        try:
            future.set_result(fn(**kwargs))
        except Exception as exc:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(exc)
        return future


class LocalExecutor(Executor):
    """Runs tasks in ``spawn``-ed worker processes of a :class:`~concurrent.futures.ProcessPoolExecutor`.

    Parameters
    ----------
    max_workers : int, optional
        Worker processes (default 1).
    """

    def __init__(self, max_workers: Optional[int] = None) -> None:
        self.max_workers = _positive_workers(max_workers, default=1)
        self._pool: Optional[cf.ProcessPoolExecutor] = None

    def _get_pool(self) -> cf.ProcessPoolExecutor:
        # Created on first use so that building an executor costs nothing; "spawn" because a
        # forked child would inherit the parent's TensorFlow / torch thread pools and locks.
        if self._pool is None:
            self._pool = cf.ProcessPoolExecutor(max_workers=self.max_workers,
                                                mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    def submit(self, fn: Callable[..., R], **kwargs: Any) -> cf.Future:
        """Start ``fn(**kwargs)`` in a worker process; return its :class:`concurrent.futures.Future`.

        A pool broken by a worker that died (killed, out of memory) is
        replaced, so later tasks still run; the tasks it held fail.
        """
        try:
            return self._get_pool().submit(fn, **kwargs)
        except BrokenProcessPool:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
            return self._get_pool().submit(fn, **kwargs)

    def close(self) -> None:
        """Cancel tasks not started, wait for running ones, stop the workers."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class RayFuture:
    """A Ray task's result, with the :class:`concurrent.futures.Future` methods the searchers use.

    ``result()`` raises the task's own exception (not Ray's wrapper) when Ray
    kept it.
    """

    def __init__(self, ref: Any) -> None:
        self.ref = ref
        # ObjectRef.future() completes a concurrent future when the object is ready, which lets
        # wait_any treat Ray and local futures alike.
        self._future: cf.Future = ref.future()

    def done(self) -> bool:
        """Whether the task finished (successfully or not)."""
        return self._future.done()

    def result(self, timeout: Optional[float] = None) -> Any:
        """The task's result; raises its exception, or TimeoutError after ``timeout`` seconds."""
        try:
            return self._future.result(timeout)
        except cf.TimeoutError:
            raise
        except Exception as exc:  # noqa: BLE001 - unwrapped and re-raised
            raise _unwrap_ray_error(exc) from None

    def cancel(self) -> bool:
        """Ask Ray to cancel the task (best effort); True when the request was made."""
        import ray

        if self._future.done():
            return False
        try:
            ray.cancel(self.ref)
        except Exception:  # noqa: BLE001 - cancelling a finished or lost task is harmless
            return False
        return True


class RayExecutor(Executor):
    """Runs tasks as Ray tasks on a local Ray cluster, or on an existing one.

    Parameters
    ----------
    max_workers : int, optional
        Tasks in flight at once (default: the cluster's CPUs // ``cpus_per_task``).
    address : str, optional
        Address of an existing cluster (``"auto"``, ``"ray://host:10001"`` or
        ``"host:6379"``); ``None`` starts a local one, unless Ray is already
        initialised in this process (then that one is used).
    num_cpus : int, optional
        CPUs of the local cluster started here (ignored with ``address``).
    cpus_per_task : float
        Ray CPU resource each task asks for (default 1).
    runtime_env : dict, optional
        Ray runtime environment (e.g. ``{"working_dir": ...}`` for a remote cluster).
        Unless it sets ``PYTHONPATH`` itself, this process's ``sys.path`` is
        passed to the workers as ``PYTHONPATH`` (Ray does not do it, and a task
        function from a folder this process added to ``sys.path`` would not
        unpickle there); on a remote cluster those folders must exist on every node.
    """

    def __init__(self, max_workers: Optional[int] = None, address: Optional[str] = None,
                 num_cpus: Optional[int] = None, cpus_per_task: float = 1.0,
                 runtime_env: Optional[dict] = None) -> None:
        try:
            import ray
        except ImportError as exc:
            raise AutoDLInputError("executor", "'ray' needs the ray package: pip install ray==2.60.0") from exc
        if cpus_per_task <= 0:
            raise AutoDLInputError("cpus_per_task", f"must be positive, got {cpus_per_task}")
        self._started_ray = False
        if not ray.is_initialized():
            if address:
                _check_reachable(address)
            init_kwargs: dict[str, Any] = dict(address=address or None, include_dashboard=False,
                                               ignore_reinit_error=True, log_to_driver=False)
            if address is None and num_cpus is not None:
                init_kwargs["num_cpus"] = num_cpus
            init_kwargs["runtime_env"] = _with_driver_path(runtime_env)
            try:
                ray.init(**init_kwargs)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                raise AutoDLInputError("address" if address else "executor",
                                       f"could not start or reach Ray ({exc})") from exc
            self._started_ray = True
        self.cpus_per_task = float(cpus_per_task)
        cluster_cpus = float(ray.cluster_resources().get("CPU", 1.0))
        default = max(1, int(cluster_cpus // self.cpus_per_task))
        self.max_workers = _positive_workers(max_workers, default=default)
        self._remotes: dict[Callable, Any] = {}

    def submit(self, fn: Callable[..., R], **kwargs: Any) -> RayFuture:
        """Start ``fn(**kwargs)`` as a Ray task; return a :class:`RayFuture`."""
        import ray

        remote = self._remotes.get(fn)
        if remote is None:
            # max_retries=0: a benchmark task is not idempotent in time (it would be run twice).
            remote = ray.remote(num_cpus=self.cpus_per_task, max_retries=0)(fn)
            self._remotes[fn] = remote
        return RayFuture(remote.remote(**kwargs))

    def close(self) -> None:
        """Shut Ray down if this executor started it (a cluster found already running is left alone)."""
        if self._started_ray:
            import ray

            ray.shutdown()
            self._started_ray = False


def wait_any(futures: Sequence[Any], timeout: Optional[float] = None) -> tuple[list, list]:
    """Wait until at least one of ``futures`` is done.

    Works for :class:`concurrent.futures.Future` (serial, local) and
    :class:`RayFuture`, mixed or not.

    Parameters
    ----------
    futures : sequence
        Futures returned by :meth:`Executor.submit`.
    timeout : float, optional
        Seconds to wait at most (``None``: no limit).

    Returns
    -------
    done, pending : list, list
        The finished futures and the others, each in the given order.
    """
    futures = list(futures)
    if not futures:
        return [], []
    inner = {_inner_future(f): f for f in futures}
    cf.wait(list(inner), timeout=timeout, return_when=cf.FIRST_COMPLETED)
    done = [f for f in futures if f.done()]
    pending = [f for f in futures if not f.done()]
    return done, pending


def make_executor(kind: str = "local", *, max_workers: Optional[int] = None,
                  address: Optional[str] = None, num_cpus: Optional[int] = None) -> Executor:
    """Build an executor by name.

    Parameters
    ----------
    kind : {"serial", "local", "ray"}
        Where tasks run.
    max_workers : int, optional
        Tasks at once (serial: always 1; local: default 1; ray: default the cluster's CPUs).
    address : str, optional
        Ray only: address of an existing cluster.
    num_cpus : int, optional
        Ray only: CPUs of the local cluster started.

    Raises
    ------
    AutoDLInputError
        On an unknown ``kind``, a non-positive ``max_workers``, or ``address``
        given to a non-Ray executor.
    """
    if kind not in EXECUTOR_KINDS:
        raise AutoDLInputError("executor", f"unknown kind {kind!r}; expected one of {', '.join(EXECUTOR_KINDS)}")
    if address and kind != "ray":
        raise AutoDLInputError("address", f"only the ray executor takes an address, not {kind!r}")
    if kind == "serial":
        _positive_workers(max_workers, default=1)
        return SerialExecutor()
    if kind == "local":
        return LocalExecutor(max_workers)
    return RayExecutor(max_workers=max_workers, address=address, num_cpus=num_cpus)


def _positive_workers(value: Optional[int], default: int) -> int:
    if value is None:
        return default
    if int(value) != value or value < 1:
        raise AutoDLInputError("workers", f"must be a positive integer, got {value!r}")
    return int(value)


def _inner_future(future: Any) -> cf.Future:
    if isinstance(future, RayFuture):
        return future._future
    if isinstance(future, cf.Future):
        return future
    raise TypeError(f"wait_any takes futures from Executor.submit, got {type(future).__name__}")


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast on a ``host:port`` nobody listens at (Ray itself retries for minutes)."""
    import socket

    target = address[len("ray://"):] if address.startswith("ray://") else address
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit() or not host:
        if address in ("auto", "local"):
            return
        raise AutoDLInputError("address", f"expected host:port, ray://host:port or auto, got {address!r}")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise AutoDLInputError("address", f"no Ray cluster answers at {address} ({exc})") from None


def _with_driver_path(runtime_env: Optional[dict]) -> dict:
    """``runtime_env`` with this process's ``sys.path`` as the workers' ``PYTHONPATH`` (unless set)."""
    env = dict(runtime_env or {})
    env_vars = dict(env.get("env_vars") or {})
    if "PYTHONPATH" not in env_vars:
        # The spawn start method of LocalExecutor hands sys.path to its children; do the same.
        entries = [p for p in sys.path if p and os.path.isdir(p)]
        inherited = os.environ.get("PYTHONPATH")
        env_vars["PYTHONPATH"] = os.pathsep.join(entries + ([inherited] if inherited else []))
    env["env_vars"] = env_vars
    return env


def _unwrap_ray_error(exc: BaseException) -> BaseException:
    """The task's own exception where Ray kept it (``RayTaskError.cause``), else ``exc``."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException) and type(exc).__module__.startswith("ray"):
        return cause
    return exc


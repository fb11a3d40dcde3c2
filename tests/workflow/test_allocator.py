"""keep_freed_memory: the mallopt settings of an evaluate job (fewer page faults, same numbers)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

_PROBE = textwrap.dedent("""
    import resource, sys
    import numpy as np
    from archsweep.workflow.allocator import keep_freed_memory
    if sys.argv[1] == "1":
        assert keep_freed_memory()
    sizes = np.random.default_rng(0).integers(2**18, 2**22, 300)  # 2-32 MiB arrays, as the mapping search's
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for n in sizes:
        a = np.ones(n)
        b = a * 2.0
        del a, b
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
""")


def _faults(keep: bool) -> int:
    out = subprocess.run([sys.executable, "-c", _PROBE, "1" if keep else "0"], capture_output=True, text=True,
                         check=True, env=os.environ.copy())
    return int(out.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None,
                    reason="mallopt settings are glibc's")
def test_freed_memory_is_reused_not_faulted_in_again():
    """Allocating and freeing arrays of a few MiB: fewer than 60 % of the default's minor page
    faults (measured 2,564 vs 7,277 on glibc 2.36)."""
    assert _faults(keep=True) < 0.6 * _faults(keep=False)


def test_keep_freed_memory_is_a_bool_and_idempotent():
    """In a child process: the settings would otherwise stay in this test process's malloc for the rest
    of the session."""
    probe = ("from archsweep.workflow.allocator import keep_freed_memory\n"
             "first = keep_freed_memory()\n"
             "print(type(first).__name__, keep_freed_memory() == first)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=os.environ.copy())
    assert out.stdout.split() == ["bool", "True"]


class _FakeMallopt:
    """``mallopt`` returning ``answer`` (glibc's 1 = set, 0 = refused); takes ctypes' argtypes / restype."""

    def __init__(self, answer: int) -> None:
        self.answer = answer

    def __call__(self, param: int, value: int) -> int:
        return self.answer


class _FakeLibc:
    """A C library: glibc's two entry points, or neither."""

    def __init__(self, answer: int, glibc: bool = True) -> None:
        if glibc:
            self.gnu_get_libc_version = lambda: b"2.36"
            self.mallopt = _FakeMallopt(answer)


@pytest.mark.parametrize(("libc", "status", "reason", "logged"), [
    (_FakeLibc(1), "APPLIED", "", "applied"),
    (_FakeLibc(0), "REFUSED", "mallopt refused M_MMAP_THRESHOLD = 33554432",
     "not applied (mallopt refused M_MMAP_THRESHOLD = 33554432)"),
    (_FakeLibc(1, glibc=False), "NOT_GLIBC", "not glibc", "not applied (not glibc)")])
def test_the_evaluate_log_says_why_the_settings_were_not_applied(monkeypatch, libc, status, reason, logged):
    """A glibc whose mallopt refuses is not reported as "not glibc": a status (enum) and a reason, which the
    evaluate log prints (a fake C library: the real settings would stay in this test process's malloc)."""
    from archsweep.workflow import allocator

    monkeypatch.setattr(allocator.ctypes, "CDLL", lambda name: libc)
    outcome = allocator.apply_freed_memory_settings()
    assert (outcome.status, outcome.reason, str(outcome)) == (allocator.MallocStatus[status], reason, logged)
    assert allocator.keep_freed_memory() == (status == "APPLIED")


def test_no_c_library_is_its_own_status(monkeypatch):
    from archsweep.workflow import allocator

    def refuse(name: None) -> None:
        raise OSError("cannot load")

    monkeypatch.setattr(allocator.ctypes, "CDLL", refuse)
    outcome = allocator.apply_freed_memory_settings()
    assert outcome.status is allocator.MallocStatus.NO_C_LIBRARY and str(outcome) == "not applied (no C library: cannot load)"
    assert not allocator.keep_freed_memory()

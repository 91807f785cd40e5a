"""The command line, thin: one module per command, each parses, calls the public API and reports.
Errors become one line and exit 1 (bad input) or 2 (bad usage); an interrupt exits 130."""

from __future__ import annotations

import _thread
import signal
import sys
import threading
from typing import NoReturn

from ..errors import ShapetreeError, UsageError


def _interrupted() -> NoReturn:
    sys.stderr.write("shapetree: interrupted\n")
    sys.exit(130)


def _end_on_ctrl_c(signum, frame) -> NoReturn:
    """SIGINT while the commands' modules import (click, numba, scipy, ...): one line, exit 130.
    The signal is recorded too, as a library's ``except BaseException`` around an optional
    import could swallow the SystemExit."""
    first = not _received
    _received.append(signum)
    if first:
        _interrupted()
    sys.exit(130)


def _from_interrupt(error: BaseException) -> bool:
    """True if a Ctrl-C is behind ``error``: a KeyboardInterrupt that lands as a compiled kernel
    returns comes back as ``SystemError: ... returned a result with an exception set``, its cause
    the interrupt; a library may wrap one the same way."""
    seen: set[int] = set()
    e: BaseException | None = error
    while e is not None and id(e) not in seen:
        if isinstance(e, KeyboardInterrupt):
            return True
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return False


def _finalizer_swallowed(unraisable) -> None:
    """A Ctrl-C that lands in a finalizer (``__del__``, e.g. llvmlite's while numba compiles) is
    "ignored" by Python with a traceback on stderr: print nothing and deliver it to the main
    thread again, where the command ends with one line and exit 130."""
    if unraisable.exc_type is not None and issubclass(unraisable.exc_type, (KeyboardInterrupt, SystemExit)):
        if issubclass(unraisable.exc_type, KeyboardInterrupt):  # from another thread: raised outside the hook
            again = threading.Timer(0.01, _thread.interrupt_main)
            again.daemon = True
            again.start()
        return
    _default_unraisable(unraisable)


_received: list[int] = []
_default_unraisable = sys.unraisablehook
sys.unraisablehook = _finalizer_swallowed
_previous = signal.signal(signal.SIGINT, _end_on_ctrl_c) if threading.current_thread() is threading.main_thread() else None

import click  # after the handler, like everything below


class _Group(click.Group):
    """Every failure becomes one line on stderr: usage mistakes exit 2, bad files and other
    shapetree errors exit 1, an interrupt exits 130. Never a traceback."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as e:
            click.echo(e.ctx.get_help())
            sys.exit(0)
        except click.UsageError as e:
            hint = f" (see '{e.ctx.command_path} --help')" if e.ctx is not None else ""
            click.echo(f"shapetree: error: {e.format_message()}{hint}", err=True)
            sys.exit(2)
        except click.ClickException as e:
            click.echo(f"shapetree: error: {e.format_message()}", err=True)
            sys.exit(e.exit_code or 1)
        except ShapetreeError as e:
            click.echo(f"shapetree: error: {e}", err=True)
            sys.exit(2 if isinstance(e, UsageError) else 1)
        except (KeyboardInterrupt, click.exceptions.Abort):
            _interrupted()
        except MemoryError:
            click.echo("shapetree: error: out of memory", err=True)
            sys.exit(1)
        except OSError as e:
            if _from_interrupt(e):
                _interrupted()
            click.echo(f"shapetree: error: {e.filename or ''}: {e.strerror or e}", err=True)
            sys.exit(1)
        except Exception as e:
            if _from_interrupt(e):
                _interrupted()
            raise
        if isinstance(rv, int) and not isinstance(rv, bool):
            sys.exit(rv)
        sys.exit(0)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="shapetree")
def main() -> None:
    """Turn triangle meshes into oblique decision trees, query and render them."""


from . import build, eval, import_treed, info, normals, refine, render, simplify, view  # noqa: F401 -- they register on ``main``

if _previous is not None:
    signal.signal(signal.SIGINT, _previous)
if _received:
    sys.exit(130)

__all__ = ["main"]

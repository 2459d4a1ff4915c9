"""The one Typer app every command file registers on, and the error edge of the CLI."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Annotated, Any, TypeVar

import typer

from clinnlp.about import __version__
from clinnlp.errors import ClinnlpError

app = typer.Typer(
    name="clinnlp",
    help="Offline adverse drug event extraction from clinical text.",
    no_args_is_help=True,
    # Locals may hold patient text: never print them in tracebacks.
    pretty_exceptions_show_locals=False,
)

F = TypeVar("F", bound=Callable[..., Any])


def _version(value: bool) -> None:
    if value:
        typer.echo(f"clinnlp {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Log only errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    # clinnlp's own progress at INFO; other libraries' INFO lines (nmslib lists every space it
    # registers) only with --verbose, their warnings always
    level = logging.DEBUG if verbose else logging.ERROR if quiet else logging.INFO
    others = logging.DEBUG if verbose else logging.ERROR if quiet else logging.WARNING
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(others)
    logging.getLogger("clinnlp").setLevel(level)


#: What to do about an operating-system error, by errno name.
_OS_HINTS = {
    "ENOSPC": "free some disk space, then run the same command again: it resumes",
    "EDQUOT": "free some of your disk quota, then run the same command again: it resumes",
    "EACCES": "check that you may write there (or choose another --out)",
    "EPERM": "check that you may write there (or choose another --out)",
    "EROFS": "the file system is read-only: choose another --out",
}


def os_message(err: OSError) -> str:
    """One line for an operating-system error: what failed, on which path, what to do."""
    import errno

    what = err.strerror or type(err).__name__
    where = f": {err.filename}" if err.filename else ""
    hint = _OS_HINTS.get(errno.errorcode.get(err.errno or 0, ""), "")
    return f"{what}{where}" + (f"; {hint}" if hint else "")


def cli_errors(func: F) -> F:
    """Turn a :class:`ClinnlpError` or an operating-system error (a full disk, a folder one
    may not write) into a one-line message on stderr and exit code 1; ``--verbose`` logs the
    traceback of the latter."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ClinnlpError as err:
            typer.secho(f"Error: {err}", fg=typer.colors.RED, err=True)
            raise typer.Exit(1) from None
        except OSError as err:
            logging.getLogger("clinnlp").debug("operating-system error", exc_info=True)
            typer.secho(f"Error: {os_message(err)}", fg=typer.colors.RED, err=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]

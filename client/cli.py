"""`dcgan-digits`: the service's HTTP API from the command line (generate, models, jobs)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from client import commands as do
from client.api import Client
from client.errors import ApiError
from client.schema import add_schema_flags, load_schema

PROG = "dcgan-digits"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; errors are one line on stderr and exit 1 (bad usage: 2)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        format=f"{PROG}: %(message)s",
    )
    if getattr(args, "output", "") is None and sys.stdout.isatty():
        parser.error("stdout is a terminal: give -o FILE (or -o - to write it anyway)")
    try:
        with Client(getattr(args, "url", None), getattr(args, "token", None)) as client:
            return args.run(client, args)
    except ApiError as exc:
        return _fail(str(exc))
    except BrokenPipeError:  # e.g. `| head`: stop quietly, and let Python not complain
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:
        return _fail(f"{exc.filename}: {exc.strerror}" if exc.filename else str(exc))
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except Exception as exc:  # a bug or a surprising answer: still one line (-v: traceback)
        logging.getLogger("client").info("unexpected error", exc_info=True)
        return _fail(f"unexpected {type(exc).__name__}: {exc}")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: global options, then one subcommand (and its own options)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--url",
        default=argparse.SUPPRESS,
        help="service base URL (default: $DCGAN_URL, else http://127.0.0.1:8000)",
    )
    common.add_argument(
        "--token", default=argparse.SUPPRESS, help="API token (default: $DCGAN_API_TOKEN)"
    )
    common.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log reconnections"
    )
    parser = argparse.ArgumentParser(
        prog=PROG, parents=[common], description="Generate MNIST digits and run training jobs."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(group, name: str, run, help: str) -> argparse.ArgumentParser:
        sub = group.add_parser(name, parents=[common], help=help, description=help)
        sub.set_defaults(run=run)
        return sub

    gen = command(commands, "generate", do.cmd_generate, "a PNG grid of digits (GET /generate)")
    _grid_inputs(gen)
    gen.add_argument("--cols", type=int, help="grid columns (default: ceil(sqrt(n)))")
    _scale(gen)
    _output(gen, "the image")
    noise = command(
        commands, "noise", do.cmd_noise, "the noise behind a grid, as JSON (GET /noise)"
    )
    _grid_inputs(noise)
    walk = command(commands, "interpolate", do.cmd_interpolate, "a latent walk (GET /interpolate)")
    walk.add_argument("--seed-a", type=int, required=True, help="seed of the first digit")
    walk.add_argument("--seed-b", type=int, required=True, help="seed of the last digit")
    walk.add_argument("--steps", type=int, help="images from A to B, ends included (8..64)")
    _model(walk)
    walk.add_argument("--digit", type=int, help="the digit drawn (conditional models)")
    walk.add_argument(
        "--format", choices=("png", "gif"), help="png: one strip; gif: an animation A to B and back"
    )
    _scale(walk)
    _output(walk, "the image")
    _models_commands(command, commands)
    _jobs_commands(command, commands)
    return parser


def _models_commands(command, commands) -> None:
    models = command(commands, "models", do.cmd_models, "the served models (GET /models)")
    models.add_argument("--json", action="store_true", help="the raw JSON answer")
    actions = models.add_subparsers(dest="action", metavar="ACTION")
    for name, run, help in (
        ("activate", do.cmd_activate, "serve this version for its name (POST .../activate)"),
        ("delete", do.cmd_delete_model, "unload a version, delete its folder (DELETE /models/...)"),
        ("download", do.cmd_download, "the version's folder as a .tar.gz (GET .../download)"),
    ):
        sub = command(actions, name, run, help)
        sub.add_argument("ref", type=version_ref, metavar="NAME@VERSION", help="e.g. dcgan@3")
    sub.add_argument(
        "-o",
        "--output",
        dest="file",
        metavar="FILE",
        help="where to write it (default: NAME-VERSION.tar.gz, as the server names it; "
        "'-': stdout)",
    )


def _jobs_commands(command, commands) -> None:
    jobs = command(commands, "jobs", None, "training jobs").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    create = command(jobs, "create", do.cmd_create, "queue a training job (POST /jobs)")
    create.set_defaults(job_fields=add_schema_flags(create, load_schema()))
    _follow(create)
    listing = command(jobs, "list", do.cmd_list, "jobs, newest first (GET /jobs)")
    listing.add_argument("--limit", type=int, help="jobs on the page (default: the server's)")
    listing.add_argument("--offset", type=int, help="newest jobs to skip (default 0)")
    listing.add_argument("--json", action="store_true", help="the raw JSON answer")
    for name, run, help in (
        ("get", do.cmd_get, "one job as JSON (GET /jobs/ID)"),
        ("cancel", do.cmd_cancel, "stop a job; it checkpoints first (POST /jobs/ID/cancel)"),
        ("resume", do.cmd_resume, "continue from the checkpoint (POST /jobs/ID/resume)"),
        ("delete", do.cmd_delete_job, "delete a finished job, not its model (DELETE /jobs/ID)"),
        ("follow", do.cmd_follow, "live events until the job ends (GET /jobs/ID/events)"),
        ("samples", do.cmd_samples, "the progress GIF (GET /jobs/ID/progress.gif)"),
    ):
        sub = command(jobs, name, run, help)
        sub.add_argument("id", type=int, metavar="ID", help="the job's id")
        if name == "resume":
            _follow(sub)
        if name == "samples":
            sub.add_argument("--epoch", type=int, help="that epoch's PNG grid instead")
            _output(sub, "the image")


def version_ref(text: str) -> tuple[str, int]:
    """NAME@VERSION -> (name, version): an argparse type."""
    name, _, version = text.partition("@")
    if not name or not version.isdigit() or not version.isascii():
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME@VERSION, e.g. dcgan@3")
    return name, int(version)


def _fail(message: str) -> int:
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)
    return 1


def _grid_inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, help="number of digits (1..256, default 16)")
    parser.add_argument("--seed", type=int, help="noise seed (default: random; -o FILE reports it)")
    _model(parser)
    parser.add_argument("--digit", type=int, help="draw this digit (conditional models)")
    parser.add_argument(
        "--digits", help="one digit per image, e.g. 3,1,4, repeated (conditional models)"
    )


def _model(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", help="NAME (its active version) or NAME@VERSION (default: the default model)"
    )


def _scale(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scale", type=int, help="integer upscaling, nearest neighbour (1..8)")


def _output(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "-o", "--output", metavar="FILE", help=f"where to write {what} ('-' or none: stdout)"
    )


def _follow(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--follow",
        action="store_true",
        help="show progress until the job ends; exit 0 only if it succeeded",
    )


if __name__ == "__main__":
    sys.exit(main())

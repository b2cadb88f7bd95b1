"""`dcgan-digits`: the service's HTTP API from the command line (generate, models, jobs)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence

from client.api import ApiError, Client, Image
from client.display import FollowView, jobs_table, models_table

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

    gen = command(commands, "generate", cmd_generate, "a PNG grid of digits (GET /generate)")
    _ints(gen, "--n", "--seed", "--digit")
    gen.add_argument("--model", help="NAME or NAME@VERSION")
    gen.add_argument("--digits", help="one digit per image, e.g. 3,1,4 (conditional models)")
    _ints(gen, "--cols", "--scale")
    _output(gen)
    walk = command(commands, "interpolate", cmd_interpolate, "a latent walk (GET /interpolate)")
    walk.add_argument("--seed-a", type=int, required=True)
    walk.add_argument("--seed-b", type=int, required=True)
    _ints(walk, "--steps")
    walk.add_argument("--model", help="NAME or NAME@VERSION")
    _ints(walk, "--digit")
    walk.add_argument("--format", choices=("png", "gif"))
    _ints(walk, "--scale")
    _output(walk)
    models = command(commands, "models", cmd_models, "the served models (GET /models)")
    models.add_argument("--json", action="store_true", help="the raw JSON answer")

    jobs = command(commands, "jobs", None, "training jobs").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    create = command(jobs, "create", cmd_create, "queue a training job (POST /jobs)")
    create.add_argument("--name", required=True, help="model name to export as")
    _ints(create, "--epochs", "--batch-size")
    for flag in ("--learning-rate", "--beta-1", "--label-smoothing"):
        create.add_argument(flag, type=float)
    create.add_argument("--conditional", action=argparse.BooleanOptionalAction)
    create.add_argument("--mixed-precision", choices=("float32", "bfloat16"))
    _ints(create, "--seed", "--limit", "--eval-every")
    create.add_argument("--activate", action=argparse.BooleanOptionalAction)
    _follow(create)
    listing = command(jobs, "list", cmd_list, "jobs, newest first (GET /jobs)")
    _ints(listing, "--limit", "--offset")
    listing.add_argument("--json", action="store_true", help="the raw JSON answer")
    for name, run, help in (
        ("get", cmd_get, "one job as JSON (GET /jobs/ID)"),
        ("cancel", cmd_cancel, "stop a job; it checkpoints first (POST /jobs/ID/cancel)"),
        ("resume", cmd_resume, "continue from the checkpoint (POST /jobs/ID/resume)"),
        ("follow", cmd_follow, "live events until the job ends (GET /jobs/ID/events)"),
        ("samples", cmd_samples, "the progress GIF (GET /jobs/ID/progress.gif)"),
    ):
        sub = command(jobs, name, run, help)
        sub.add_argument("id", type=int, metavar="ID")
        if name == "resume":
            _follow(sub)
        if name == "samples":
            sub.add_argument("--epoch", type=int, help="that epoch's PNG grid instead")
            _output(sub)
    return parser


def cmd_generate(client: Client, args: argparse.Namespace) -> int:
    """Write a /generate grid."""
    params = ("n", "seed", "model", "digit", "digits", "cols", "scale")
    return _write(args.output, client.generate(**{k: getattr(args, k) for k in params}))


def cmd_interpolate(client: Client, args: argparse.Namespace) -> int:
    """Write an /interpolate strip or GIF."""
    params = ("seed_a", "seed_b", "steps", "model", "digit", "format", "scale")
    return _write(args.output, client.interpolate(**{k: getattr(args, k) for k in params}))


def cmd_models(client: Client, args: argparse.Namespace) -> int:
    """Print the models table (or JSON)."""
    listing = client.models()
    print(json.dumps(listing, indent=2) if args.json else models_table(listing))
    return 0


def cmd_create(client: Client, args: argparse.Namespace) -> int:
    """Queue a job; print it, or follow it."""
    fields = ("epochs", "batch_size", "learning_rate", "beta_1", "label_smoothing")
    fields += ("conditional", "mixed_precision", "seed", "limit", "eval_every", "activate")
    job = client.create_job(args.name, **{k: getattr(args, k) for k in fields})
    return follow(client, job["id"]) if args.follow else _print_json(job)


def cmd_list(client: Client, args: argparse.Namespace) -> int:
    """Print a page of jobs."""
    page = client.list_jobs(args.limit, args.offset)
    print(json.dumps(page, indent=2) if args.json else jobs_table(page))
    return 0


def cmd_get(client: Client, args: argparse.Namespace) -> int:
    """Print one job."""
    return _print_json(client.get_job(args.id))


def cmd_cancel(client: Client, args: argparse.Namespace) -> int:
    """Cancel a job and print it."""
    return _print_json(client.cancel_job(args.id))


def cmd_resume(client: Client, args: argparse.Namespace) -> int:
    """Resume a job; print it, or follow only the resumed run's events."""
    after = 0
    if args.follow and client.get_job(args.id)["finished"]:
        history = list(client.events(args.id))  # a finished job's stream replays and ends
        after = history[-1].id if history else 0
    job = client.resume_job(args.id)
    return follow(client, args.id, after) if args.follow else _print_json(job)


def cmd_follow(client: Client, args: argparse.Namespace) -> int:
    """Follow a job until it ends."""
    return follow(client, args.id)


def cmd_samples(client: Client, args: argparse.Namespace) -> int:
    """Write the job's progress GIF, or one epoch's PNG."""
    if args.epoch is not None:
        return _write(
            args.output, Image(client.sample(args.id, args.epoch), "image/png", None, None)
        )
    return _write(args.output, Image(client.progress_gif(args.id), "image/gif", None, None))


def follow(client: Client, job_id: int, after: int = 0) -> int:
    """Print a job's events after id `after` until it ends: 0 if it succeeded, else 1."""
    view = FollowView(job_id, sys.stdout, sys.stderr if sys.stderr.isatty() else None)
    try:
        for event in client.events(job_id, after):
            view.show(event)
    finally:
        view.close()
    return 0 if client.get_job(job_id)["state"] == "succeeded" else 1


def _write(output: str | None, image: Image) -> int:
    if output in (None, "-"):
        sys.stdout.buffer.write(image.content)
        sys.stdout.buffer.flush()
        return 0
    with open(output, "wb") as file:
        file.write(image.content)
    about = [f"{len(image.content)} bytes"]
    about += [f"model {image.model}"] * bool(image.model)
    about += [f"seed {image.seed}"] * (image.seed is not None)
    print(f"{output}: {', '.join(about)}", file=sys.stderr)
    return 0


def _print_json(value: object) -> int:
    print(json.dumps(value, indent=2))
    return 0


def _fail(message: str) -> int:
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)
    return 1


def _ints(parser: argparse.ArgumentParser, *flags: str) -> None:
    for flag in flags:
        parser.add_argument(flag, type=int)


def _output(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="where to write the image ('-' or none: stdout)"
    )


def _follow(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--follow",
        action="store_true",
        help="show progress until the job ends; exit 0 only if it succeeded",
    )


if __name__ == "__main__":
    sys.exit(main())

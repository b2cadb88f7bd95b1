"""What each `dcgan-digits` subcommand does with its parsed arguments: call the client, print or
write the answer, return the exit status."""

from __future__ import annotations

import argparse
import json
import os
import sys

from client.api import Client, Image
from client.display import FollowView, jobs_table, models_table


def cmd_generate(client: Client, args: argparse.Namespace) -> int:
    """Write a /generate grid."""
    params = ("n", "seed", "model", "digit", "digits", "cols", "scale")
    return write_image(args.output, client.generate(**{k: getattr(args, k) for k in params}))


def cmd_interpolate(client: Client, args: argparse.Namespace) -> int:
    """Write an /interpolate strip or GIF."""
    params = ("seed_a", "seed_b", "steps", "model", "digit", "format", "scale")
    return write_image(args.output, client.interpolate(**{k: getattr(args, k) for k in params}))


def cmd_noise(client: Client, args: argparse.Namespace) -> int:
    """Print the noise (and labels) behind a /generate grid."""
    params = ("n", "seed", "model", "digit", "digits")
    return print_json(client.noise(**{k: getattr(args, k) for k in params}))


def cmd_models(client: Client, args: argparse.Namespace) -> int:
    """Print the models table (or JSON)."""
    listing = client.models()
    print(json.dumps(listing, indent=2) if args.json else models_table(listing))
    return 0


def cmd_activate(client: Client, args: argparse.Namespace) -> int:
    """Serve a version for its name."""
    name, version = args.ref
    client.activate_model(name, version)
    print(f"{name}@{version}: active")
    return 0


def cmd_delete_model(client: Client, args: argparse.Namespace) -> int:
    """Delete a version."""
    name, version = args.ref
    client.delete_model(name, version)
    print(f"{name}@{version}: deleted")
    return 0


def cmd_download(client: Client, args: argparse.Namespace) -> int:
    """Write a version's .tar.gz to FILE (or the server's file name), whole or not at all."""
    name, version = args.ref
    with client.download_model(name, version) as download:
        if args.file == "-":
            for chunk in download.chunks:
                sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
            return 0
        path = args.file or download.filename
        partial, size = f"{path}.part", 0
        try:
            with open(partial, "wb") as file:
                for chunk in download.chunks:
                    size += file.write(chunk)
            os.replace(partial, path)
        finally:
            if os.path.exists(partial):
                os.unlink(partial)
    print(f"{path}: {size} bytes, model {name}@{version}", file=sys.stderr)
    return 0


def cmd_create(client: Client, args: argparse.Namespace) -> int:
    """Queue a job with the fields given (the server fills in the rest); print or follow it."""
    fields = {k: getattr(args, k) for k in args.job_fields if hasattr(args, k)}
    job = client.create_job(**fields)
    return follow(client, job["id"]) if args.follow else print_json(job)


def cmd_list(client: Client, args: argparse.Namespace) -> int:
    """Print a page of jobs."""
    page = client.list_jobs(args.limit, args.offset)
    print(json.dumps(page, indent=2) if args.json else jobs_table(page))
    return 0


def cmd_get(client: Client, args: argparse.Namespace) -> int:
    """Print one job."""
    return print_json(client.get_job(args.id))


def cmd_cancel(client: Client, args: argparse.Namespace) -> int:
    """Cancel a job and print it."""
    return print_json(client.cancel_job(args.id))


def cmd_resume(client: Client, args: argparse.Namespace) -> int:
    """Resume a job; print it, or follow only the resumed run's events."""
    after = 0
    if args.follow and client.get_job(args.id)["finished"]:
        history = list(client.events(args.id))  # a finished job's stream replays and ends
        after = history[-1].id if history else 0
    job = client.resume_job(args.id)
    return follow(client, args.id, after) if args.follow else print_json(job)


def cmd_delete_job(client: Client, args: argparse.Namespace) -> int:
    """Delete a finished job."""
    client.delete_job(args.id)
    print(f"job {args.id}: deleted")
    return 0


def cmd_follow(client: Client, args: argparse.Namespace) -> int:
    """Follow a job until it ends."""
    return follow(client, args.id)


def cmd_samples(client: Client, args: argparse.Namespace) -> int:
    """Write the job's progress GIF, or one epoch's PNG."""
    if args.epoch is not None:
        png = client.sample(args.id, args.epoch)
        return write_image(args.output, Image(png, "image/png", None, None))
    return write_image(args.output, Image(client.progress_gif(args.id), "image/gif", None, None))


def follow(client: Client, job_id: int, after: int = 0) -> int:
    """Print a job's events after id `after` until it ends: 0 if it succeeded, else 1."""
    view = FollowView(job_id, sys.stdout, sys.stderr if sys.stderr.isatty() else None)
    try:
        for event in client.events(job_id, after):
            view.show(event)
    finally:
        view.close()
    return 0 if client.get_job(job_id)["state"] == "succeeded" else 1


def write_image(output: str | None, image: Image) -> int:
    """The image to `output` (None or '-': stdout), saying what it is on stderr."""
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


def print_json(value: object) -> int:
    print(json.dumps(value, indent=2))
    return 0

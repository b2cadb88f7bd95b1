import signal

from app.routes.jobs import JobCreate
from app.trainer import exit_reason, read_new_lines, trainer_command
from training.cli import build_parser


def test_a_jobs_parameters_reach_the_training_cli(tmp_path):
    params = JobCreate(
        name="mine",
        epochs=3,
        batch_size=64,
        learning_rate=2e-4,
        beta_1=0.5,
        label_smoothing=0.1,
        conditional=True,
        mixed_precision="bfloat16",
        seed=7,
        limit=512,
        eval_every=2,
    ).model_dump()
    command = trainer_command(params, tmp_path, tmp_path / "models")
    assert command[1:3] == ["-m", "training"]
    args = build_parser().parse_args(command[3:])
    for key in ("epochs", "batch_size", "learning_rate", "beta_1", "label_smoothing", "seed"):
        assert getattr(args, key) == params[key], key
    assert args.conditional and args.mixed_precision == "bfloat16" and args.limit == 512
    assert args.eval_every == 2 and not args.resume
    assert str(args.export) == str((tmp_path / "models" / "mine").resolve())
    assert str(args.out) == str(tmp_path / "run")

    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    (tmp_path / "run" / "checkpoints" / "checkpoint").write_text("")
    assert build_parser().parse_args(trainer_command(params, tmp_path, tmp_path)[3:]).resume


def test_only_complete_event_lines_are_read(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text('{"event": "start"}\n{"event": "epo')
    offset, events = read_new_lines(path, 0)
    assert events == [{"event": "start"}] and offset == len('{"event": "start"}\n')
    with open(path, "a") as f:
        f.write('ch", "epoch": 1}\n')
    offset, events = read_new_lines(path, offset)
    assert events == [{"event": "epoch", "epoch": 1}]


def test_exit_reason_names_the_signal_and_ends_with_the_last_stderr_lines(tmp_path):
    log = tmp_path / "stderr.log"
    log.write_text("".join(f"line {i}\n\n" for i in range(20)))
    reason = exit_reason(-signal.SIGKILL, log)
    assert reason.startswith("killed by SIGKILL: line 8 | line 9")
    assert reason.endswith("line 19")
    log.write_text("")
    assert exit_reason(2, log) == "exited with status 2: no output"

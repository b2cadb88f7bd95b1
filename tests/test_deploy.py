"""The scale-out files, checked without deploying them: the Kubernetes manifests against the
schemas of current Kubernetes releases (kubernetes-validate, strict; file by file, and as
`kubectl kustomize` builds deploy/k8s and its GPU overlay deploy/k8s-gpu), docker-compose.scale.yml
(docker-compose config), the nginx template (nginx -t), and the commands of the README's
"Scale out" section. tests/test_scale.py runs the same topology for real, on loopback."""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

K8S = ROOT / "deploy" / "k8s"
K8S_GPU = ROOT / "deploy" / "k8s-gpu"
NGINX_KUSTOMIZATION = ROOT / "deploy" / "nginx" / "kustomization.yaml"
COMPOSE = ROOT / "docker-compose.scale.yml"
TEMPLATE = ROOT / "deploy" / "nginx" / "templates" / "default.conf.template"
KUBERNETES_VERSIONS = ["1.35.0", "1.36.0", "1.37.0"]  # the three minor releases supported upstream
COMPOSE_ENV = {"DCGAN_API_TOKEN": "a-token", "POSTGRES_PASSWORD": "a0password"}
NGINX = shutil.which("nginx") or (
    "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None
)
KUBECTL = shutil.which("kubectl")  # its `kubectl kustomize` renders what `apply -k` applies


# -- the README section -----------------------------------------------------------------------


def scale_section() -> str:
    """The README's "Scale out" section."""
    readme = (ROOT / "README.md").read_text()
    found = re.search(r"^## Scale out\n.*?(?=^## |\Z)", readme, re.M | re.S)
    assert found, "README.md has no '## Scale out' section"
    return found.group(0)


def section_commands() -> list[str]:
    """Commands of the section's ```sh blocks, as tests/test_readme.py reads them."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", scale_section(), re.S):
        joined = re.sub(r"\\\n\s*", "", block)
        commands += [
            line.strip()
            for line in joined.splitlines()
            if line.strip() and not line.strip().startswith("#")
        ]
    return commands


def section_command(pattern: str) -> str:
    found = [c for c in section_commands() if re.match(pattern, c)]
    assert len(found) == 1, f"one command matching {pattern!r} expected, got {found}"
    return found[0]


def compose_cli() -> list[str] | None:
    """`docker compose` (v2) when there is one, else `docker-compose` (Debian's 1.29 reads the
    same file and has the same `config -q`), else None."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return ["docker-compose"] if shutil.which("docker-compose") else None


def test_the_section_is_short_and_each_of_its_commands_is_checked():
    lines = scale_section().rstrip("\n").splitlines()
    assert lines[0] == "## Scale out" and len(lines) <= 25
    # Each command is run here, by tests/test_scale.py (curl, through nginx) and by
    # tests/test_readme.py (curl, against one server), or is a deployment whose files are checked
    # here. A new kind of command needs a check first.
    kinds = {
        r"export \w+=": "run below",
        r"docker compose -f \S+ up ": "its file: test_compose_*",
        r"docker compose -f \S+ config -q$": "test_compose_config_is_valid",
        r"\.venv/bin/kubernetes-validate ": "test_kubernetes_manifests_validate",
        r"kubectl apply -k \S+$": "its files: test_kubernetes_*",
        r"curl ": "tests/test_scale.py and tests/test_readme.py",
    }
    for command in section_commands():
        assert any(re.match(k, command) for k in kinds), f"nothing checks: {command}"

    exports = [c for c in section_commands() if c.startswith("export ")]
    names = [name for c in exports for name in re.findall(r"(\w+)=", c)]
    assert set(names) >= set(COMPOSE_ENV)  # what docker-compose.scale.yml requires
    shown = subprocess.run(
        ["bash", "-ec", "; ".join(exports) + "; " + " ".join(f'test -n "${n}";' for n in names)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert shown.returncode == 0, shown.stderr

    up = section_command(r"docker compose -f \S+ up ")
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert f"-f {COMPOSE.name} " in up
    assert set(re.findall(r"--scale (\w[\w-]*)=\d+", up)) <= set(services)
    applied = section_command(r"kubectl apply -k ").split()[-1]
    assert (ROOT / applied / "kustomization.yaml").is_file()


# -- docker-compose.scale.yml -----------------------------------------------------------------


def test_compose_config_is_valid():
    cli = compose_cli()
    if cli is None:
        pytest.skip("neither `docker compose` nor docker-compose is installed")
    command = section_command(r"docker compose -f \S+ config -q$")
    command = " ".join(cli) + command.removeprefix("docker compose")
    env = {**os.environ, **COMPOSE_ENV}
    done = subprocess.run(
        ["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    env.pop("POSTGRES_PASSWORD")
    refused = subprocess.run(
        ["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert refused.returncode != 0 and "POSTGRES_PASSWORD" in refused.stderr


def test_compose_runs_replicas_that_serve_workers_that_train_and_shares_the_folders():
    compose = yaml.safe_load(COMPOSE.read_text())  # `<<:` merges are resolved
    services = compose["services"]
    assert set(services) == {"postgres", "models-init", "api", "worker", "nginx"}
    assert services["postgres"]["image"].startswith("postgres:")
    nginx_version = tuple(int(n) for n in services["nginx"]["image"].split(":")[1].split("."))
    assert nginx_version >= (1, 27, 3)  # `server ... resolve` in an upstream, open source since
    api, worker = services["api"], services["worker"]
    assert api["image"] == worker["image"] == services["models-init"]["image"]
    assert worker["command"] == ["dcgan-worker"]
    assert "ports" not in api and api["deploy"]["replicas"] >= 2  # only nginx is published
    assert "DCGAN_API_TOKEN:?" in api["environment"]["DCGAN_API_TOKEN"]  # from the environment
    for service in (api, worker):
        env = service["environment"]
        assert env["DCGAN_RUN_JOBS"] == "off" and env["DCGAN_SEED_MODELS"] == "0"
        assert re.fullmatch(
            r"postgresql://dcgan:\$\{POSTGRES_PASSWORD.*\}@postgres:5432/dcgan",
            env["DCGAN_DATABASE_URL"],
        )
        assert {"models:/app/models", "data:/app/data"} <= set(service["volumes"])
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["depends_on"]["models-init"]["condition"] == "service_completed_successfully"
    assert services["models-init"]["volumes"] == ["models:/app/models"]
    assert {"models", "data", "pgdata"} <= set(compose["volumes"])

    nginx = services["nginx"]
    source, target, _ = nginx["volumes"][0].split(":")
    assert (ROOT / source / TEMPLATE.name).is_file() and target == "/etc/nginx/templates"
    used = set(re.findall(r"\$\{(\w+)\}", TEMPLATE.read_text()))
    assert used <= set(nginx["environment"])
    assert all(re.match(nginx["environment"]["NGINX_ENVSUBST_FILTER"], name) for name in used)


# -- the nginx template -------------------------------------------------------------------------

# The official nginx image's /etc/nginx/nginx.conf with this run's paths: it includes the rendered
# template inside http {}, after the same http-level directives the image sets.
MAIN_CONF = """\
{user}
worker_processes 1;
error_log {work}/error.log notice;
pid {work}/nginx.pid;
daemon off;

events {{
    worker_connections 1024;
}}

http {{
    default_type application/octet-stream;
    log_format main '$remote_addr - $remote_user [$time_local] "$request" '
                    '$status $body_bytes_sent "$http_referer" '
                    '"$http_user_agent" "$http_x_forwarded_for" '
                    'upstream=$upstream_addr cache=$upstream_cache_status';
    access_log {work}/access.log main;
    sendfile on;
    keepalive_timeout 65;
    client_body_temp_path {work}/client_body_temp;
    proxy_temp_path {work}/proxy_temp;
    fastcgi_temp_path {work}/fastcgi_temp;
    uwsgi_temp_path {work}/uwsgi_temp;
    scgi_temp_path {work}/scgi_temp;
    include {work}/conf.d/*.conf;
}}
"""


def render(template: str, values: dict[str, str]) -> str:
    """What the image's entrypoint does with envsubst: ${NAME} of the given variables only
    (nginx's own $variables stay)."""
    for name, value in values.items():
        template = template.replace("${" + name + "}", value)
    left = re.findall(r"\$\{\w+\}", template)
    assert not left, f"the template uses variables nobody sets: {left}"
    return template


def nginx_command(work: Path, listen: str, upstreams: list[str]) -> list[str]:
    """Writes work/nginx.conf and work/conf.d/default.conf (the template, rendered) and returns
    the command that runs nginx (in the foreground) with them. `work` must be readable by
    nginx's worker user: when started as root, nginx runs its workers as `nobody`."""
    user = ""
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        user = f"user {nobody.pw_name} {grp.getgrgid(nobody.pw_gid).gr_name};"
    (work / "conf.d").mkdir(exist_ok=True)
    values = {
        "NGINX_PORT": listen,
        "NGINX_UPSTREAM_SERVERS": " ".join(f"server {u};" for u in upstreams),
        "NGINX_CACHE_DIR": str(work / "cache"),
    }
    (work / "conf.d" / "default.conf").write_text(render(TEMPLATE.read_text(), values))
    (work / "nginx.conf").write_text(MAIN_CONF.format(user=user, work=work))
    return [NGINX, "-p", str(work), "-c", str(work / "nginx.conf"), "-e", str(work / "error.log")]


@pytest.mark.skipif(NGINX is None, reason="needs nginx (Debian: apt-get install nginx)")
def test_the_nginx_template_is_valid_nginx(tmp_path):
    tmp_path.chmod(0o755)
    command = nginx_command(tmp_path, "127.0.0.1:8080", ["127.0.0.1:8001", "127.0.0.1:8002"])
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0 and "test is successful" in checked.stderr, checked.stderr


# -- Kubernetes -----------------------------------------------------------------------------------


def manifests() -> dict[tuple[str, str], dict]:
    """(kind, name) -> resource, of every file the kustomization applies."""
    found = {}
    for path in sorted(K8S.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            for doc in yaml.safe_load_all(path.read_text()):
                found[doc["kind"], doc["metadata"]["name"]] = doc
    return found


def test_kubernetes_manifests_validate():
    command = section_command(r"\.venv/bin/kubernetes-validate ")
    executable = Path(sys.executable).parent / "kubernetes-validate"
    assert executable.exists(), "kubernetes-validate is missing: pip install -e '.[dev]'"
    shown = re.search(r"-k (\S+)", command).group(1)
    assert shown == KUBERNETES_VERSIONS[-1]
    for version in KUBERNETES_VERSIONS:
        run = command.replace(".venv/bin/kubernetes-validate", str(executable))
        run = run.replace(f"-k {shown}", f"-k {version}")
        done = subprocess.run(["bash", "-c", run], cwd=ROOT, capture_output=True, text=True)
        output = done.stdout + done.stderr
        assert done.returncode == 0, output
        # A kind without a schema (an API version Kubernetes removed, say) is only a warning.
        passed = re.findall(r"passed for resource (\S+)", output)
        assert len(passed) == len(manifests()), output
        warnings = [line for line in output.splitlines() if line.startswith("WARN")]
        assert all("kind Kustomization" in w for w in warnings), warnings


def test_kubernetes_api_and_workers_are_what_the_issue_asks():
    found = manifests()
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    resources = kustomization["resources"]
    assert sorted(r for r in resources if r.endswith(".yaml")) == sorted(
        p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml"
    )
    assert [r for r in resources if not r.endswith(".yaml")] == ["../nginx"]
    secret = found["Secret", "dcgan-digits"]
    assert all("REPLACE-ME" in value for value in secret["stringData"].values())
    claims = {n for k, n in found if k == "PersistentVolumeClaim"}
    assert claims == {"dcgan-models", "dcgan-data"}
    assert all(
        found["PersistentVolumeClaim", n]["spec"]["accessModes"] == ["ReadWriteMany"]
        for n in claims
    )
    images = [
        c["image"]
        for r in found.values()
        if r["kind"] in ("Deployment", "Job")
        for c in r["spec"]["template"]["spec"]["containers"]
    ]
    assert not any("postgres" in image for image in images)  # PostgreSQL is external

    for name in ("dcgan-api", "dcgan-worker"):
        spec = found["Deployment", name]["spec"]
        pod = spec["template"]["spec"]
        assert (
            spec["selector"]["matchLabels"].items()
            <= spec["template"]["metadata"]["labels"].items()
        )
        security = pod["securityContext"]
        assert security["runAsNonRoot"] is True and security["runAsUser"] == 10001
        for container in pod.get("initContainers", []) + pod["containers"]:
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
            assert {"cpu", "memory"} <= container["resources"]["limits"].keys()
        main = pod["containers"][0]
        env = {e["name"]: e for e in main["env"]}
        assert env["DCGAN_RUN_JOBS"]["value"] == "off"
        for variable, key in (
            ("DCGAN_DATABASE_URL", "database-url"),
            ("DCGAN_API_TOKEN", "api-token"),
        ):
            if name == "dcgan-worker" and variable == "DCGAN_API_TOKEN":
                continue  # a worker answers no requests
            ref = env[variable]["valueFrom"]["secretKeyRef"]
            assert ref == {"name": "dcgan-digits", "key": key} and key in secret["stringData"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        mounts = {m["mountPath"]: volumes[m["name"]] for m in main["volumeMounts"]}
        assert mounts["/tmp"]["emptyDir"] is not None
        assert mounts["/app/models"]["persistentVolumeClaim"]["claimName"] == "dcgan-models"
        assert mounts["/app/data"]["persistentVolumeClaim"]["claimName"] == "dcgan-data"

    api = found["Deployment", "dcgan-api"]["spec"]["template"]
    container = api["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["ports"] == [{"name": "http", "containerPort": 8000}]
    service = found["Service", "dcgan-api"]["spec"]
    assert service["selector"].items() <= api["metadata"]["labels"].items()
    assert service["ports"][0]["targetPort"] == "http"
    hpa = found["HorizontalPodAutoscaler", "dcgan-api"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "dcgan-api",
    }
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
    worker = found["Deployment", "dcgan-worker"]["spec"]["template"]["spec"]["containers"][0]
    assert worker["args"] == ["dcgan-worker"]


def test_kubernetes_storage_names_where_to_set_a_read_write_many_class():
    text = (K8S / "storage.yaml").read_text()
    claims = text.split("\n---\n")
    assert len(claims) == 2
    for claim in claims:  # a placeholder to uncomment: most default classes are ReadWriteOnce
        assert "  # storageClassName: REPLACE-ME" in claim


def test_kubernetes_pods_stop_within_their_grace_periods_and_seed_on_each_rollout():
    from app.config import Settings
    from app.jobs.runner import LOCK_WAIT_SECONDS

    found = manifests()
    assert not any(kind == "Job" for kind, _ in found)  # a Job's template cannot be re-applied
    api = found["Deployment", "dcgan-api"]["spec"]["template"]["spec"]
    main = api["containers"][0]
    pre_stop = main["lifecycle"]["preStop"]["sleep"]["seconds"]
    env = {e["name"]: e.get("value") for e in main["env"]}
    assert "DCGAN_GRACEFUL_TIMEOUT" not in env
    # preStop, uvicorn's graceful shutdown, then the app's own, with room for the last
    assert api["terminationGracePeriodSeconds"] >= pre_stop + Settings().graceful_timeout + 10
    seed = {c["name"]: c for c in api["initContainers"]}["seed-models"]
    assert seed["image"] == main["image"] and seed["args"] == ["true"]
    assert "DCGAN_SEED_MODELS" not in {e["name"] for e in seed["env"]}  # the entrypoint seeds
    assert [m["mountPath"] for m in seed["volumeMounts"]] == ["/app/models"]
    assert env["DCGAN_SEED_MODELS"] == "0"  # the server itself does not

    worker = found["Deployment", "dcgan-worker"]["spec"]["template"]["spec"]
    assert worker["terminationGracePeriodSeconds"] > LOCK_WAIT_SECONDS  # the trainer checkpoints
    container = worker["containers"][0]
    alive = {e["name"]: e.get("value") for e in container["env"]}["DCGAN_ALIVE_FILE"]
    probe = " ".join(container["livenessProbe"]["exec"]["command"])
    assert alive in probe and alive in " ".join(container["startupProbe"]["exec"]["command"])
    assert all(c["securityContext"]["readOnlyRootFilesystem"] for c in worker["containers"])
    assert alive.startswith("/tmp/")  # the worker's writable emptyDir


def test_compose_services_stop_within_their_grace_periods():
    from app.config import Settings
    from app.jobs.runner import LOCK_WAIT_SECONDS

    def seconds(service: dict) -> int:
        return int(service["stop_grace_period"].removesuffix("s"))

    scale = yaml.safe_load(COMPOSE.read_text())["services"]
    assert seconds(scale["api"]) > Settings().graceful_timeout
    assert seconds(scale["worker"]) > LOCK_WAIT_SECONDS
    single = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert all(seconds(service) > LOCK_WAIT_SECONDS for service in single.values())  # it trains


def test_kubernetes_nginx_runs_the_repositorys_template_with_its_cache():
    generated = yaml.safe_load(NGINX_KUSTOMIZATION.read_text())["configMapGenerator"]
    assert len(generated) == 1 and generated[0]["name"] == "dcgan-nginx-template"
    assert [(NGINX_KUSTOMIZATION.parent / f).resolve() for f in generated[0]["files"]] == [TEMPLATE]
    found = manifests()
    spec = found["Deployment", "dcgan-nginx"]["spec"]["template"]["spec"]
    nginx = spec["containers"][0]
    assert tuple(int(n) for n in nginx["image"].split(":")[1].split(".")) >= (1, 27, 3)
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: volumes[m["name"]] for m in nginx["volumeMounts"]}
    assert mounts["/etc/nginx/templates"]["configMap"]["name"] == "dcgan-nginx-template"
    env = {e["name"]: e["value"] for e in nginx["env"]}
    used = set(re.findall(r"\$\{(\w+)\}", TEMPLATE.read_text()))
    assert used <= set(env) and all(re.match(env["NGINX_ENVSUBST_FILTER"], n) for n in used)
    cache = env["NGINX_CACHE_DIR"]  # on a writable volume, as everything nginx writes
    assert any(cache.startswith(path + "/") for path, v in mounts.items() if "emptyDir" in v)
    assert {"/etc/nginx/conf.d", "/run"} <= {p for p, v in mounts.items() if "emptyDir" in v}
    assert nginx["securityContext"]["readOnlyRootFilesystem"] is True
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert nginx["ports"][0]["containerPort"] == int(env["NGINX_PORT"]) > 1024  # not root
    api_service = found["Service", "dcgan-api"]["spec"]
    assert env["NGINX_UPSTREAM_SERVERS"] == f"server dcgan-api:{api_service['ports'][0]['port']};"
    service = found["Service", "dcgan-nginx"]["spec"]
    assert (
        service["selector"].items()
        <= found["Deployment", "dcgan-nginx"]["spec"]["template"]["metadata"]["labels"].items()
    )


def kustomize(folder: Path) -> list[dict]:
    done = subprocess.run(
        [KUBECTL, "kustomize", str(folder)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return list(yaml.safe_load_all(done.stdout))


@pytest.mark.skipif(KUBECTL is None, reason="needs kubectl (for `kubectl kustomize`)")
def test_kustomize_builds_of_base_and_gpu_overlay_validate(tmp_path):
    executable = Path(sys.executable).parent / "kubernetes-validate"
    built = {folder.name: kustomize(folder) for folder in (K8S, K8S_GPU)}
    for name, resources in built.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump_all(resources))
        for version in KUBERNETES_VERSIONS:
            done = subprocess.run(
                [str(executable), "--strict", "-k", version, str(path)],
                capture_output=True,
                text=True,
            )
            output = done.stdout + done.stderr
            assert done.returncode == 0, output
            assert len(re.findall(r"passed for resource", output)) == len(resources), output

    base = {(r["kind"], r["metadata"]["name"]): r for r in built["k8s"]}
    maps = [r for r in built["k8s"] if r["kind"] == "ConfigMap"]
    assert [m["data"] for m in maps] == [{TEMPLATE.name: TEMPLATE.read_text()}]
    nginx = base["Deployment", "dcgan-nginx"]["spec"]["template"]["spec"]
    assert nginx["volumes"][0]["configMap"]["name"] == maps[0]["metadata"]["name"]  # hashed

    gpu = {(r["kind"], r["metadata"]["name"]): r for r in built["k8s-gpu"]}
    assert gpu.keys() == base.keys()

    def container(resources: dict, name: str) -> dict:
        return resources["Deployment", name]["spec"]["template"]["spec"]["containers"][0]

    worker = container(gpu, "dcgan-worker")
    assert worker["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert worker["image"].endswith("-gpu") and worker["args"] == ["dcgan-worker"]
    assert worker["env"] == container(base, "dcgan-worker")["env"]  # only image and resources
    assert container(gpu, "dcgan-api") == container(base, "dcgan-api")  # serving stays on CPU

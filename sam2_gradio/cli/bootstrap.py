"""Create and update the repository's ``.venv`` so that `python3 app.py` and `python3 tests/run.py` just work.

Standard library only: this module runs under the system Python before the virtual environment exists.
Keep ``sam2_gradio/__init__.py`` and ``sam2_gradio/cli/__init__.py`` free of imports for the same reason.

What it installs, in order:

1. torch: ``torch==2.13.0`` (a CPU build) on a machine without ``nvidia-smi``, else the ``torch`` line of
   requirements.txt;
2. the rest of requirements.txt except sam2, with a pip constraint pinning the torch just installed;
3. sam2 with ``--no-deps --no-build-isolation`` (its declared deps would pull torchvision and a CUDA torch)
   plus its real runtime dependencies, with ``SAM2_BUILD_CUDA=0`` when there is no GPU;
4. this project, editable and without deps, so the console scripts exist;
5. with the ``test`` extra: pytest, playwright, ruff and pycocotools, Hugging Face's ``spaces`` in a folder
   of its own (``.venv/real-spaces``), and Debian's ``chromium`` when it is missing.

A stamp file in ``.venv`` holds a hash of everything above; a second run with nothing changed skips
every install. Environment variables: ``SAM2_GRADIO_SKIP_BOOTSTRAP=1`` makes `app.py` use the current
interpreter as it is (also the case on Hugging Face Spaces, which installs requirements.txt itself).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_DIR = REPO_ROOT / ".venv"
REQUIREMENTS_FILE = REPO_ROOT / "requirements.txt"
PYPROJECT_FILE = REPO_ROOT / "pyproject.toml"
STAMP_FILE = VENV_DIR / "sam2-gradio-bootstrap.json"
TORCH_CONSTRAINT_FILE = VENV_DIR / "sam2-gradio-torch-constraint.txt"
REQUIREMENTS_WITHOUT_SAM2_FILE = VENV_DIR / "sam2-gradio-requirements-without-sam2.txt"

CPU_TORCH_SPEC = "torch==2.13.0"
SAM2_SPEC = "sam2==1.1.0"
SAM2_RUNTIME_DEPS = ("hydra-core>=1.3.2", "iopath>=0.1.10", "pillow", "tqdm", "numpy")
BUILD_TOOLS = ("setuptools>=68", "wheel")
# pycocotools: the RLE reference; hypothesis: the fuzz tests (tests/test_fuzz.py); ray: the batch
# runner's cluster extra (pyproject's [cluster])
TEST_PACKAGES = ("pytest", "playwright", "ruff", "pycocotools", "hypothesis", "ray==2.60.*")
SPACES_SPEC = "spaces==0.51.3"  # the version tests/zerogpu's double follows
REAL_SPACES_DIR = VENV_DIR / "real-spaces"
CHROMIUM_PATH = Path("/usr/bin/chromium")
EXTRAS = ("test",)
SKIP_BOOTSTRAP_ENV = "SAM2_GRADIO_SKIP_BOOTSTRAP"


def log(message: str) -> None:
    """Print one progress line, flushed so it interleaves correctly with pip's output."""
    print(f"[bootstrap] {message}", flush=True)


def venv_python() -> Path:
    """Path of the interpreter inside ``.venv``."""
    if os.name == "nt":
        return VENV_DIR / "Scripts" / "python.exe"
    return VENV_DIR / "bin" / "python"


def running_in_venv() -> bool:
    """Whether the current interpreter is the one of the repository's ``.venv``."""
    return VENV_DIR.exists() and Path(sys.prefix).resolve() == VENV_DIR.resolve()


def has_cuda_gpu() -> bool:
    """Whether this machine has an NVIDIA driver (``nvidia-smi`` on PATH)."""
    return shutil.which("nvidia-smi") is not None


def on_hugging_face_spaces() -> bool:
    """Whether we run inside a Hugging Face Space, whose builder installs requirements.txt itself."""
    return os.environ.get("SYSTEM") == "spaces" or "SPACE_ID" in os.environ


def requirement_lines() -> list[str]:
    """Non-empty, non-comment lines of requirements.txt."""
    lines = (line.split("#", 1)[0].strip() for line in REQUIREMENTS_FILE.read_text().splitlines())
    return [line for line in lines if line]


def requirement_name(line: str) -> str:
    """Normalised project name of a requirement line, e.g. ``'torch>=2.5.1'`` -> ``'torch'``."""
    for index, char in enumerate(line):
        if not (char.isalnum() or char in "-_."):
            return line[:index].lower().replace("_", "-")
    return line.lower().replace("_", "-")


def torch_spec(cuda: bool) -> str:
    """The torch requirement to install: the CPU pin without a GPU, the requirements.txt bound with one."""
    if not cuda:
        return CPU_TORCH_SPEC
    torch_lines = [line for line in requirement_lines() if requirement_name(line) == "torch"]
    if not torch_lines:
        raise RuntimeError(f"{REQUIREMENTS_FILE} has no torch line; add one such as 'torch>=2.5.1'.")
    return torch_lines[0]


def install_spec(cuda: bool) -> dict[str, object]:
    """Everything that decides what the base install contains; its hash goes into the stamp."""
    return {
        "python": sys.version_info[:2],
        "requirements.txt": REQUIREMENTS_FILE.read_text(),
        "pyproject.toml": PYPROJECT_FILE.read_text(),
        "torch": torch_spec(cuda),
        "sam2": [SAM2_SPEC, *SAM2_RUNTIME_DEPS],
        "build_tools": BUILD_TOOLS,
    }


def stamp_hashes(cuda: bool) -> dict[str, str]:
    """Hash of the base install and of each extra (an extra's hash covers the base too)."""
    base = hashlib.sha256(json.dumps(install_spec(cuda), sort_keys=True).encode()).hexdigest()
    return {
        "base": base,
        "test": hashlib.sha256(json.dumps([base, TEST_PACKAGES, SPACES_SPEC]).encode()).hexdigest(),
    }


def read_stamp() -> dict[str, str]:
    """Hashes recorded by the last successful bootstrap, or an empty dict."""
    try:
        return json.loads(STAMP_FILE.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def write_stamp(done: dict[str, str]) -> None:
    """Record the hashes of the parts that are now installed."""
    STAMP_FILE.write_text(json.dumps(done, indent=2, sort_keys=True) + "\n")


def run(command: Sequence[str | Path], env: dict[str, str] | None = None, *, capture: bool = False) -> None:
    """Run a command, raising ``RuntimeError`` with the command line when it fails.

    With `capture`, its output is shown only on failure (the last lines, in the error message).
    """
    printable = " ".join(str(part) for part in command)
    completed = subprocess.run(
        [str(part) for part in command], env=env, check=False, capture_output=capture, text=True
    )
    if completed.returncode != 0:
        output_tail = "\n".join((completed.stdout or "").splitlines()[-20:] + [completed.stderr or ""])
        raise RuntimeError(f"Setup failed (exit {completed.returncode}): {printable}\n{output_tail}".rstrip())


def pip_install(*args: str | Path, env: dict[str, str] | None = None) -> None:
    """``pip install`` into ``.venv``, printing errors only."""
    run([venv_python(), "-m", "pip", "install", "-qq", "--disable-pip-version-check", *args], env=env)


def create_venv() -> None:
    """Create ``.venv`` with the current interpreter when it does not exist yet."""
    if venv_python().exists():
        return
    log(f"creating {VENV_DIR}")
    run([sys.executable, "-m", "venv", VENV_DIR])


def installed_torch_version() -> str:
    """Version string of the torch inside ``.venv``, e.g. ``'2.13.0+cpu'``."""
    completed = subprocess.run(
        [str(venv_python()), "-c", "import torch; print(torch.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"torch does not import in {VENV_DIR}: {completed.stderr.strip()}")
    return completed.stdout.strip()


def install_torch(cuda: bool) -> Path:
    """Install torch and write a constraint file pinning the installed version; returns that file."""
    spec = torch_spec(cuda)
    log(f"installing {spec} ({'CUDA' if cuda else 'CPU'}); the first time this takes a few minutes")
    pip_install(spec)
    version = installed_torch_version()
    TORCH_CONSTRAINT_FILE.write_text(f"torch=={version}\n")
    log(f"torch {version} installed")
    return TORCH_CONSTRAINT_FILE


def install_requirements(torch_constraint: Path) -> None:
    """Install requirements.txt except sam2, never replacing the installed torch."""
    lines = [line for line in requirement_lines() if requirement_name(line) != "sam2"]
    REQUIREMENTS_WITHOUT_SAM2_FILE.write_text("\n".join(lines) + "\n")
    log("installing requirements.txt (without sam2)")
    pip_install("-r", REQUIREMENTS_WITHOUT_SAM2_FILE, "-c", torch_constraint)


def install_sam2(torch_constraint: Path, cuda: bool) -> None:
    """Install sam2 without its declared deps (torchvision, another torch), then its runtime deps."""
    log(f"installing {SAM2_SPEC} (no deps, no build isolation) and its runtime deps")
    pip_install(*BUILD_TOOLS, *SAM2_RUNTIME_DEPS, "-c", torch_constraint)
    env = dict(os.environ)
    if not cuda:
        env["SAM2_BUILD_CUDA"] = "0"
    pip_install("--no-deps", "--no-build-isolation", SAM2_SPEC, env=env)


def install_project() -> None:
    """Install this repository editable and without deps, which creates the console scripts."""
    log("installing sam2-gradio (editable)")
    pip_install("--no-deps", "--no-build-isolation", "-e", REPO_ROOT)


def install_base(cuda: bool) -> None:
    """Install everything the app needs into ``.venv``."""
    torch_constraint = install_torch(cuda)
    install_requirements(torch_constraint)
    install_sam2(torch_constraint, cuda)
    install_project()


def install_test_packages() -> None:
    """Install the test runner, Playwright and ruff into ``.venv``, and Hugging Face's ``spaces`` package
    beside it (``REAL_SPACES_DIR``, off the path: the app must start with it, but the other tests run
    without it)."""
    log(f"installing test tools: {', '.join(TEST_PACKAGES)}")
    pip_install(*TEST_PACKAGES, "-c", TORCH_CONSTRAINT_FILE)
    pip_install("--no-deps", "--upgrade", "--target", REAL_SPACES_DIR, SPACES_SPEC)


def ensure_chromium() -> None:
    """Install Debian's chromium for the browser tests when it is missing; warn instead when we cannot."""
    if CHROMIUM_PATH.exists():
        return
    apt_get = shutil.which("apt-get")
    if apt_get is None or not hasattr(os, "geteuid") or os.geteuid() != 0:
        log(
            f"skipping chromium: {CHROMIUM_PATH} is missing and installing it needs root and apt-get; "
            "run `sudo apt-get install -y chromium` for the browser tests"
        )
        return
    log("installing chromium with apt-get (a couple of minutes)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        run([apt_get, "update"], env=env, capture=True)
        run([apt_get, "install", "-y", "--no-install-recommends", "chromium"], env=env, capture=True)
    except RuntimeError as error:
        log(f"chromium was not installed, browser tests will not run: {error}")


def ensure_environment(extras: Sequence[str] = ()) -> Path:
    """Create or update ``.venv`` for the app (and the given extras); returns its Python interpreter.

    Fast when nothing changed: the stamp file in ``.venv`` records what is already installed.
    """
    unknown = sorted(set(extras) - set(EXTRAS))
    if unknown:
        raise ValueError(f"unknown extras {unknown}; choose from {list(EXTRAS)}")
    cuda = has_cuda_gpu()
    wanted = stamp_hashes(cuda)
    create_venv()
    done = read_stamp()
    if done.get("base") != wanted["base"]:
        done = {}
        install_base(cuda)
        done["base"] = wanted["base"]
        write_stamp(done)
    if "test" in extras:
        if done.get("test") != wanted["test"]:
            install_test_packages()
            done["test"] = wanted["test"]
            write_stamp(done)
        ensure_chromium()
    return venv_python()


def reexec_in_venv(extras: Sequence[str] = ()) -> None:
    """Bootstrap ``.venv`` and replace this process with the same command run by its interpreter.

    Returns without doing anything when already inside ``.venv``, on Hugging Face Spaces, or when
    ``SAM2_GRADIO_SKIP_BOOTSTRAP=1``.
    """
    if running_in_venv() or on_hugging_face_spaces() or os.environ.get(SKIP_BOOTSTRAP_ENV) == "1":
        return
    python = ensure_environment(extras)
    os.execv(python, [str(python), *sys.argv])


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: `python3 -m sam2_gradio.cli.bootstrap [--test]`."""
    parser = argparse.ArgumentParser(description="Create or update the repository's .venv.")
    parser.add_argument("--test", action="store_true", help="also install the test tools and chromium")
    args = parser.parse_args(argv)
    python = ensure_environment(("test",) if args.test else ())
    log(f"ready: {python}")


if __name__ == "__main__":
    main()

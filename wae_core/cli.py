"""Command-line flags derived from the config dataclasses, so that a default is written once (in
``config.py`` or a recipe), never again in argparse.

Every flag defaults to None, "not given": the caller starts from a recipe or the dataclass defaults
and applies only the flags given (:func:`fields_of`). The help text shows the dataclass default.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from wae_core.models.config import ARCHS, KERNELS, LR_SCHEDULES, MODEL_KINDS, UPSAMPLINGS

# Fields whose values come from a fixed list.
CHOICES = {"kind": MODEL_KINDS, "arch": ARCHS, "kernel": KERNELS,
           "vae_likelihood": ("bernoulli", "gaussian"), "lr_schedule": LR_SCHEDULES,
           "upsample": UPSAMPLINGS}


def flag_name(field: str, flags: Mapping[str, str]) -> str:
    return flags.get(field, "--" + field.replace("_", "-"))


def add_config_arguments(parser: argparse.ArgumentParser, cls: type, helps: Mapping[str, str],
                         flags: Mapping[str, str], skip: Sequence[str] = (),
                         hide_default: Sequence[str] = ()) -> None:
    """One flag per field of the dataclass ``cls`` (``--z-dim`` for ``z_dim``, or the name in
    ``flags``), typed after the field's default; bools become ``--field`` / ``--no-field`` switches (a
    recipe's True must be overridable too)."""
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        default = f.default if f.default is not dataclasses.MISSING else None
        help_ = helps.get(f.name, "")
        if default is not None and f.name not in hide_default:
            shown = " ".join(map(str, default)) if isinstance(default, tuple) else default
            help_ = f"{help_} (default: {shown})".strip()
        flag = flag_name(f.name, flags)
        kw: dict[str, Any] = {"dest": f.name, "default": None, "help": help_}
        if isinstance(default, bool):
            kw["action"] = argparse.BooleanOptionalAction
        elif isinstance(default, tuple) or default is None and "tuple" in str(f.type):
            item = float if "float" in str(f.type) else int
            kw.update(type=item, nargs="*", metavar="N")
        else:
            kw["type"] = type(default) if default is not None else str
            if f.name in CHOICES:
                kw["choices"] = CHOICES[f.name]
            else:
                kw["metavar"] = flag[2:].replace("-", "_").upper()
        parser.add_argument(flag, **kw)


def fields_of(cls: type, given: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``given`` (parsed flags that are not None) that are fields of ``cls``."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: tuple(v) if isinstance(v, list) else v for k, v in given.items() if k in names}

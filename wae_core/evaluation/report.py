"""The results as markdown tables (results/results.md, the README's and docs' tables)."""

from __future__ import annotations

from typing import Any

from wae_core.evaluation.expost import GMM_COMPONENTS
from wae_core.evaluation.stacked import markdown as stacked_markdown


def _fmt(v: Any, spec: str) -> str:
    return "—" if v is None else format(v, spec)


def _toy_cell(t: dict[str, Any], prefix: str) -> str:
    """"modes ± std / n | hq ± std %" of a toy row (its ex-post columns with prefix "gmm_")."""
    if f"{prefix}hq_share_mean" not in t:
        return "— | —"
    return (f"{t[prefix + 'modes_covered_mean']:.1f} ± {t[prefix + 'modes_covered_std']:.1f} / "
            f"{t['n_modes']} | {100 * t[prefix + 'hq_share_mean']:.1f} ± "
            f"{100 * t[prefix + 'hq_share_std']:.1f} %")


IMAGE_TABLE_HEAD = ["| Model | FID (LeNet) ↓ | Sharpness ↑ | Classes covered | KL to uniform ↓ "
                    "| MMD(Q_Z, P_Z) | Recon. MSE | Recon. sharpness | Epochs |",
                    "|---|---|---|---|---|---|---|---|---|"]


CLASS_KEPT_HEAD = (" Class kept (MNIST test) ↑ | Class kept (non-MNIST uploads) ↑ |", "---|---|")
CLASS_KEPT_2_HEAD = (" Class kept (held-out set 2, reporting only) ↑ |", "---|")


def _kept(r: dict[str, Any], v: float | None) -> str:
    """A class-kept share in per cent; on the real-data row it is the inputs' own recognition."""
    if v is None:
        return "—"
    return f"{100 * v:.1f} %" + (" (inputs read)" if r.get("kind") == "data" else "")


def image_table(rows: list[dict[str, Any]]) -> list[str]:
    """The lines of an image data set's main table (MNIST, Fashion-MNIST); the class-kept
    columns when the rows have them (MNIST), the second held-out set's when it was measured."""
    kept = any("class_kept_test" in r for r in rows)
    kept2 = any(r.get("class_kept_heldout2") is not None for r in rows)
    head = [h + c for h, c in zip(IMAGE_TABLE_HEAD, CLASS_KEPT_HEAD)] if kept else IMAGE_TABLE_HEAD
    head = [h + c for h, c in zip(head, CLASS_KEPT_2_HEAD)] if kept2 else head
    return head + [
        f"| {r['model']} | {_fmt(r['fid_lenet'], '.2f')} | {_fmt(r['sharpness'], '.4f')} "
        f"| {r['classes_covered']}/10 | {_fmt(r['kl_uniform'], '.4f')} "
        f"| {_fmt(r['mmd_qz_pz'], '.4f')} | {_fmt(r['recon_mse'], '.4f')} "
        f"| {_fmt(r.get('recon_sharpness'), '.4f')} | {_fmt(r.get('epochs'), 'd')} |"
        + (f" {_kept(r, r.get('class_kept_test'))} | {_kept(r, r.get('class_kept_heldout'))} |"
           if kept else "")
        + (f" {_kept(r, r.get('class_kept_heldout2'))} |" if kept2 else "") for r in rows]


# What each held-out set's family table says before it (its file comes from results.json).
CLASS_KEPT_INTRO = {
    "heldout": ("Class kept: the share of reconstructions G(E(x)) that the LeNet reads as the "
                "input's digit; on the real-data row, the share of the inputs themselves it reads "
                "(the ceiling). Non-MNIST uploads: `{file}`, printed, drawn, scanned and "
                "photographed digits through the app's upload preprocessing; by family:"),
    "heldout2": ("Held-out set 2, for reporting only (never used to choose a model, recipe or "
                 "setting): `{file}`, real handwritten 8×8 digits (UCI optdigits) upscaled as a "
                 "low-resolution scan, marker, ballpoint and pencil on lined or squared paper "
                 "photographed at an angle and in poor light, and light-on-dark screenshots, "
                 "through the same upload preprocessing; by family:"),
}
DEFAULT_FILES = {"heldout": "data/heldout-digits.npz", "heldout2": "data/heldout-digits-2.npz"}


def class_kept_table(rows: list[dict[str, Any]], uploads: dict[str, Any],
                     key: str = "heldout") -> list[str]:
    """The explanation of the class-kept columns and one held-out set's share per family
    (``key``: "heldout", or "heldout2" with ``uploads`` its ``uploads2`` description)."""
    rows = [r for r in rows if r.get(f"class_kept_{key}_by_source")]
    if not rows:
        return []
    families = list(rows[0][f"class_kept_{key}_by_source"])
    sizes = uploads.get("per_source") or {}
    intro = CLASS_KEPT_INTRO[key].format(file=uploads.get("file", DEFAULT_FILES[key]))
    lines = ["", intro, "", "| Model | " + " | ".join(f"{f} ({sizes.get(f, '?')})" for f in families)
             + " | all |", "|---|" + "---|" * (len(families) + 1)]
    for r in rows:
        by = r[f"class_kept_{key}_by_source"]
        lines.append(f"| {r['model']} | " + " | ".join(_kept(r, by.get(f)) for f in families)
                     + f" | {_kept(r, r[f'class_kept_{key}'])} |")
    refused = uploads.get("refused_by_source")
    if refused and any(refused.values()):
        lines += ["", "Files the app refused as blank while the set was made (drawn again): "
                  + ", ".join(f"{f} {n}" for f, n in refused.items()) + "."]
    return lines


def expost_table(rows: list[dict[str, Any]], expost: dict[str, Any]) -> list[str]:
    """FID and sharpness from P_Z beside those from the ex-post mixture ([] without them)."""
    rows = [r for r in rows if r.get("fid_lenet_gmm") is not None]
    if not rows:
        return []
    k = expost.get("components", GMM_COMPONENTS)
    lines = ["", f"Ex-post GMM ({k} components): the same decoders, codes drawn from a "
             f"{expost.get('covariance', 'full')}-covariance Gaussian mixture fitted to Q_Z (the "
             f"codes of {_fmt(expost.get('fit_images'), ',')} training images) instead of from "
             "P_Z (RAE, Ghosh et al. 2020).", "",
             "| Model | FID (LeNet) ↓ from P_Z | FID (LeNet) ↓ from the GMM | Sharpness ↑ from P_Z "
             "| Sharpness ↑ from the GMM |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['fid_lenet']:.2f} | {r['fid_lenet_gmm']:.2f} "
                     f"| {r['sharpness']:.4f} | {r['sharpness_gmm']:.4f} |")
    return lines


def fidelity_table(rows: list[dict[str, Any]], fid: dict[str, Any], n: int) -> list[str]:
    """The lines of the precision / recall / density / coverage / KID table ([] without them)."""
    if not fid or not any("precision" in r for r in rows):
        return []
    lines = ["", f"On LeNet features (the FID's), against the {n} test images: "
             f"precision / recall (k = {fid['k_pr']}, Kynkäänniemi et al. 2019), density / "
             f"coverage (k = {fid['k_dc']}, Naeem et al. 2020) and KID (unbiased MMD², "
             f"cubic kernel; mean ± std over {fid['kid_subsets']} subsets of "
             f"{fid['kid_subset_size']}; Bińkowski et al. 2018).", "",
             "| Model | Precision ↑ (LeNet) | Recall ↑ (LeNet) | Density (LeNet) "
             "| Coverage ↑ (LeNet) | KID ↓ (LeNet) |", "|---|---|---|---|---|---|"]
    for r in rows:
        kid = "—" if r.get("kid_mean") is None else f"{r['kid_mean']:.3f} ± {r['kid_std']:.3f}"
        lines.append(f"| {r['model']} | {_fmt(r.get('precision'), '.3f')} "
                     f"| {_fmt(r.get('recall'), '.3f')} | {_fmt(r.get('density'), '.3f')} "
                     f"| {_fmt(r.get('coverage'), '.3f')} | {kid} |")
    return lines


def fashion_markdown(fashion: dict[str, Any], fid: dict[str, Any] | None = None) -> str:
    """The Fashion-MNIST tables: the main table's columns (and the fidelity columns), on the
    Fashion LeNet's features."""
    lines = [f"Fashion-MNIST ({fashion['n_samples']} samples; Fashion LeNet test accuracy "
             f"{_fmt(fashion['classifier'].get('test_accuracy'), '.4f')}): FID on the 128-d features of "
             "the Fashion-MNIST LeNet, not comparable with the MNIST numbers above.", "",
             *image_table(fashion["rows"]),
             *fidelity_table(fashion["rows"], fid or {}, fashion["n_samples"])]
    return "\n".join(lines) + "\n"


def to_markdown(res: dict[str, Any]) -> str:
    lines = [f"Measured by `{res['command']}` on {res['generated']} ({res['n_samples']} samples; "
             f"classifier test accuracy {_fmt(res['classifier'].get('test_accuracy'), '.4f')}).",
             "FID is computed on the 128-d features of our MNIST LeNet, **not** Inception features.",
             "", *image_table(res["rows"]),
             *class_kept_table(res["rows"], res.get("uploads") or {}),
             *class_kept_table(res["rows"], res.get("uploads2") or {}, "heldout2"),
             *expost_table(res["rows"], res.get("expost") or {}),
             *fidelity_table(res["rows"], res.get("fidelity") or {}, res["n_samples"])]
    if res.get("toys"):
        lines += ["", "2-D toys (z = 2): modes covered and share of samples within 3σ of a mode, "
                  f"{res['toys'][0]['n']} samples, mean ± std over {res['toys'][0]['seeds']} seeds.",
                  "Ex-post: the same decoder, codes drawn from a Gaussian mixture (one component "
                  "per mode) fitted to Q_Z instead of from P_Z (RAE, Ghosh et al. 2020).", "",
                  "| Toy | Model | Modes covered | High-quality share | Ex-post: modes | Ex-post: high "
                  "quality | Steps | Seconds |", "|---|---|---|---|---|---|---|---|"]
        for t in res["toys"]:
            lines.append(f"| {t['toy']} | {t['model']} | {_toy_cell(t, '')} | "
                         f"{_toy_cell(t, 'gmm_')} | {_fmt(t.get('steps'), ',')} | "
                         f"{_fmt(t.get('train_seconds'), '.0f')} |")
    if res.get("fashion"):
        lines += ["", fashion_markdown(res["fashion"], res.get("fidelity")).rstrip("\n")]
    if res.get("stacked"):
        lines += ["", stacked_markdown(res["stacked"]).rstrip("\n")]
    return "\n".join(lines) + "\n"

"""Start here: what WAE Lab shows, the seminar's route through the pages, and how to join the
room's live run.

The app's first page, and the only one that needs neither torch nor the models: while a fresh
server still loads them, the entry script runs this page alone (``app.streamlit_app``), so a room
that opens the link at once reads it at once.
"""

from __future__ import annotations

import streamlit as st

from app import PAGE_SPECS, PAGES_DIR
from app.i18n import N_, _

# The seminar's route: each page (by its url path) and the question it answers, in the deck's order.
ROUTE = (
    ("idea", N_("The deck's story: why VAE samples blur, why a GAN forgets modes, and how a WAE "
                "avoids both, each formula next to a number from the shipped models.")),
    ("samples", N_("Samples of the four models side by side: blur against sharpness.")),
    ("reconstructions", N_("A test digit, your own upload or a digit you draw, and what each model "
                           "gives back.")),
    ("latent", N_("The codes of the test images (Q_Z) against the prior (P_Z).")),
    ("interpolation", N_("Straight walks between two codes, decoded step by step.")),
    ("explore", N_("Move a code with sliders and watch every model decode it.")),
    ("mode-collapse", N_("How many digit classes (or Stacked-MNIST modes) each model's samples "
                         "cover.")),
    ("toy-lab", N_("A GAN and a WAE trained live on 2-D toys: the collapse as it happens.")),
    ("train", N_("Train a model of your own, on MNIST or on your images.")),
    ("results", N_("The measured tables: FID, sharpness, modes, and how to reproduce them.")),
)


def route() -> None:
    st.subheader(_("Follow the seminar"))
    st.markdown(_("The pages follow the deck; the sidebar lists them in the same order."))
    specs = {url: (file, title, icon) for file, title, icon, url in PAGE_SPECS}
    for url, what in ROUTE:
        if url not in specs or not (PAGES_DIR / specs[url][0]).is_file():
            continue
        file, title, icon = specs[url]
        left, right = st.columns([1, 3], vertical_alignment="center")
        left.page_link(PAGES_DIR / file, label=_(title), icon=icon)
        right.caption(_(what))


def room() -> None:
    st.subheader(_("Join the room's live run"))
    st.markdown(_("When the lecturer shares a run on *Live toy training*, open the link on the "
                  "screen, or type its room code here:"))
    code = st.text_input(_("Room code"), key="welcome_room_code", max_chars=12,
                         placeholder="K7QX2M").strip()
    if code:
        st.page_link(PAGES_DIR / "toy_lab.py", label=_("Watch run {code}").format(code=code),
                     icon=":material/visibility:", query_params={"room": code})


def main() -> None:
    st.title(_("Welcome to WAE Lab"))
    st.markdown(_("A seminar in the browser on *Wasserstein Auto-Encoders* (Tolstikhin, Bousquet, "
                  "Gelly, Schölkopf, ICLR 2018): why a VAE's samples are blurry, why a GAN forgets "
                  "modes, and how a WAE avoids both. Every number on these pages is computed now, "
                  "from small models trained for this app and shipped with it."))
    room()
    route()


main()

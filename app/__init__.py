"""WAE Lab's Streamlit app: ``python -m app.serve`` (or ``streamlit run app/streamlit_app.py``)."""

import threading
from pathlib import Path

# Set while no warm-up is importing the app's heavy modules. ``app.serve`` clears it while its
# thread imports torch, pandas, scipy and plotly, and the entry script waits for it: two threads
# importing the same package at once can see it half initialised.
IMPORTS_READY = threading.Event()
IMPORTS_READY.set()

# Page scripts live in app/views. NB: never name that folder "pages": a "pages" folder next to the
# entry switches Streamlit into its v1 "pages directory" mode until the entry's first st.navigation
# call, so a server whose very first request is a deep link (/samples) would run that page without
# this entry (no sys.path, no sidebar: ModuleNotFoundError: app).
PAGES_DIR = Path(__file__).resolve().parent / "views"
# (file, title, icon, url path); pages whose file does not exist (yet) are skipped.
PAGE_SPECS = (
    ("idea.py", "The idea", ":material/lightbulb:", "idea"),
    ("samples.py", "Samples", ":material/grid_view:", "samples"),
    ("reconstruct.py", "Reconstructions", ":material/compare:", "reconstructions"),
    ("latent.py", "Latent space", ":material/scatter_plot:", "latent"),
    ("interpolate.py", "Interpolation", ":material/linear_scale:", "interpolation"),
    ("explore.py", "Latent explorer", ":material/tune:", "explore"),
    ("mode_collapse.py", "Mode collapse", ":material/bar_chart:", "mode-collapse"),
    ("toy_lab.py", "Live toy training", ":material/model_training:", "toy-lab"),
    ("train.py", "Train your own", ":material/fitness_center:", "train"),
    ("results.py", "Results", ":material/table_chart:", "results"),
)

"""WAE Lab's Streamlit app: ``python -m app.serve`` (or ``streamlit run app/streamlit_app.py``)."""

import threading

# Set while no warm-up is importing the app's heavy modules. ``app.serve`` clears it while its
# thread imports torch, pandas, scipy and plotly, and the entry script waits for it: two threads
# importing the same package at once can see it half initialised.
IMPORTS_READY = threading.Event()
IMPORTS_READY.set()

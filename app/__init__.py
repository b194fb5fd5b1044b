"""WAE Lab's Streamlit app: ``streamlit run app/streamlit_app.py``."""

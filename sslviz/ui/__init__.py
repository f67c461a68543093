"""The only Streamlit code inside sslviz: the page template, global settings and live views."""

"""Voluntary blood donation (无偿献血): donors, donations against GB 18467-2011, honours and recalls."""
